"""Comments on a post, and the thread people read: comments and review decisions in time order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.errors import NotFound, PermissionDenied, ValidationFailed
from planner.models import Comment, Post, Review, Role, User
from planner.services import audit

BODY_MAX = 2000


@dataclass(frozen=True)
class ThreadEntry:
    """One line of a post's conversation: a comment, or a reviewer's decision with its comment."""

    type: str  # comment | review
    id: int
    author: User
    body: str
    created_at: datetime
    decision: str | None = None


def can_delete(user: User, comment: Comment) -> bool:
    return comment.author_id == user.id or user.has_role(Role.operator)


def get_comment(session: Session, comment_id: int) -> Comment:
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise NotFound(_("comment %(id)s does not exist", id=comment_id))
    return comment


def thread(session: Session, post_id: int) -> list[ThreadEntry]:
    return threads(session, [post_id])[post_id]


def threads(session: Session, post_ids: list[int]) -> dict[int, list[ThreadEntry]]:
    """Each post's thread, read in two queries however many posts there are."""
    found: dict[int, list[ThreadEntry]] = {post_id: [] for post_id in post_ids}
    for c in session.scalars(select(Comment).where(Comment.post_id.in_(post_ids))):
        found[c.post_id].append(ThreadEntry("comment", c.id, c.author, c.body, c.created_at))
    for r in session.scalars(select(Review).where(Review.post_id.in_(post_ids))):
        found[r.post_id].append(ThreadEntry("review", r.id, r.reviewer, r.comment, r.created_at,
                                            r.decision))
    for entries in found.values():
        entries.sort(key=lambda e: (e.created_at, e.type == "comment", e.id))
    return found


def add_comment(session: Session, user: User, post: Post, body: str, *, now: datetime) -> Comment:
    """Any signed-in user may comment on any post they can see."""
    text = body.strip()
    if not text:
        raise ValidationFailed(_("the comment was not saved"), {"body": _("write a comment first")})
    if len(text) > BODY_MAX:
        raise ValidationFailed(_("the comment was not saved"), {"body": _(
            "the comment is %(count)d characters; at most %(limit)d", count=len(text),
            limit=BODY_MAX)})
    comment = Comment(post_id=post.id, author_id=user.id, body=text, created_at=now)
    comment.author = user
    session.add(comment)
    session.flush()
    audit.record(session, at=now, actor=user, action="comment.add", subject_type="post",
                 subject_id=post.id, comment_id=comment.id)
    return comment


def delete_comment(session: Session, user: User, comment: Comment, *, now: datetime) -> None:
    """Its author or an operator may delete a comment."""
    if not can_delete(user, comment):
        raise PermissionDenied(_("only the comment's author or an operator may delete it"))
    audit.record(session, at=now, actor=user, action="comment.delete", subject_type="post",
                 subject_id=comment.post_id, comment_id=comment.id, body=comment.body)
    session.delete(comment)
