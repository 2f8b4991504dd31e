"""The post status machine: each transition sits beside its permission check and writes an audit row.

draft → in_review → approved → published | failed; also canceled and expired. Rejecting returns a post
to draft with the reviewer's comment; editing an approved post's content returns it to review; a post
not approved by its publish time becomes expired instead of going out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from planner.models import (
    Channel,
    ChannelTag,
    Post,
    PostKind,
    PostStatus,
    PostTag,
    Review,
    Role,
    User,
)
from planner.services import audit, deliveries
from planner.services.channels import check_targets

if TYPE_CHECKING:
    from planner.services.checks import Checker

TITLE_MAX = 200
BODY_MAX = 20_000

EDITABLE = (PostStatus.draft, PostStatus.in_review, PostStatus.approved, PostStatus.expired)
CANCELABLE = (PostStatus.draft, PostStatus.in_review, PostStatus.approved, PostStatus.expired)


@dataclass
class PostInput:
    kind: str
    title: str
    body: str
    scheduled_at: datetime | None = None
    expires_at: datetime | None = None
    channel_ids: list[int] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


# ---- permissions -------------------------------------------------------------------------------

def can_edit(user: User, post: Post) -> bool:
    return post.status in EDITABLE and (post.author_id == user.id or user.has_role(Role.operator))


def can_submit(user: User, post: Post) -> bool:
    return post.status == PostStatus.draft and (
        post.author_id == user.id or user.has_role(Role.operator)
    )


def can_review(user: User, post: Post, allow_self_approval: bool) -> bool:
    if post.status != PostStatus.in_review or not user.has_role(Role.operator):
        return False
    return post.author_id != user.id or allow_self_approval


def can_cancel(user: User, post: Post) -> bool:
    if post.status not in CANCELABLE:
        return False
    if post.status == PostStatus.approved:
        return user.has_role(Role.operator)
    return post.author_id == user.id or user.has_role(Role.operator)


def can_delete(user: User, post: Post) -> bool:
    return post.status == PostStatus.draft and (
        post.author_id == user.id or user.has_role(Role.operator)
    )


# ---- queries -----------------------------------------------------------------------------------

def get_post(session: Session, post_id: int, *, for_change: bool = False) -> Post:
    """The post; ``for_change`` locks its row, so two simultaneous changes run one after the other
    and the second sees what the first did (approving twice gives one approval and one conflict)."""
    if for_change:
        post = session.scalars(select(Post).where(Post.id == post_id).with_for_update(of=Post)
                               .execution_options(populate_existing=True)).first()
    else:
        post = session.get(Post, post_id)
    if post is None:
        raise NotFound(_("post %(id)s does not exist", id=post_id))
    return post


def list_posts(
    session: Session,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    kind: str | None = None,
    status: str | None = None,
    channel_id: int | None = None,
    limit: int = 500,
) -> list[Post]:
    query = select(Post).order_by(Post.scheduled_at.is_(None), Post.scheduled_at, Post.id)
    if start is not None:
        query = query.where(Post.scheduled_at >= start)
    if end is not None:
        query = query.where(Post.scheduled_at < end)
    if kind:
        query = query.where(Post.kind == kind)
    if status:
        query = query.where(Post.status == status)
    if channel_id is not None:
        query = query.where(Post.channels.any(Channel.id == channel_id))
    return list(session.scalars(query.limit(limit)))


def review_queue(session: Session) -> list[Post]:
    return list(
        session.scalars(
            select(Post)
            .where(Post.status == PostStatus.in_review)
            .order_by(Post.scheduled_at, Post.id)
        )
    )


# ---- validation --------------------------------------------------------------------------------

def _validate(session: Session, data: PostInput, now: datetime) -> list[Channel]:
    errors: dict[str, str] = {}
    if data.kind not in PostKind.__members__:
        errors["kind"] = _("kind must be one of %(kinds)s", kinds=", ".join(PostKind))
    title = data.title.strip()
    if not title:
        errors["title"] = _("a title is required")
    elif len(title) > TITLE_MAX:
        errors["title"] = _("the title is %(count)s characters; at most %(limit)s",
                            count=len(title), limit=TITLE_MAX)
    if not data.body.strip():
        errors["body"] = _("the body is empty")
    elif len(data.body) > BODY_MAX:
        errors["body"] = _("the body is %(count)s characters; at most %(limit)s",
                           count=len(data.body), limit=BODY_MAX)
    for name in ("scheduled_at", "expires_at"):
        value = getattr(data, name)
        if value is not None and value.tzinfo is None:
            errors[name] = _("give a timezone offset, e.g. 2026-11-23T08:00:00+08:00")
    if "scheduled_at" not in errors and data.scheduled_at is not None and data.scheduled_at <= now:
        errors["scheduled_at"] = _("the publish time is in the past")
    if data.expires_at is not None and "expires_at" not in errors:
        if data.scheduled_at is None:
            errors["expires_at"] = _("an expiry needs a publish time")
        elif "scheduled_at" not in errors and data.expires_at <= data.scheduled_at:
            errors["expires_at"] = _("the expiry must be after the publish time")
    channels = check_targets(session, data.channel_ids, data.tags, errors)
    if errors:
        raise ValidationFailed(_("the post was not saved"), errors)
    return channels


def resolve_targets(session: Session, post: Post) -> list[Channel]:
    """The enabled channels a post goes to: its own channels plus every channel carrying its tags."""
    found = {c.id: c for c in post.channels if c.enabled}
    if post.tags:
        tagged = session.scalars(
            select(Channel)
            .join(ChannelTag)
            .where(ChannelTag.tag.in_(post.tags), Channel.enabled.is_(True))
        )
        for channel in tagged:
            found.setdefault(channel.id, channel)
    return sorted(found.values(), key=lambda c: c.id)


def _require_ready(session: Session, post: Post, now: datetime) -> list[Channel]:
    errors = {}
    if post.scheduled_at is None:
        errors["scheduled_at"] = _("set a publish time first")
    elif post.scheduled_at <= now:
        errors["scheduled_at"] = _("the publish time has passed; move the post first")
    targets = resolve_targets(session, post)
    if not targets:
        errors["channel_ids"] = _(
            "choose at least one enabled channel, or a tag that enabled channels carry")
    if errors:
        raise ValidationFailed(_("the post is not ready"), errors)
    return targets


def _apply(session: Session, post: Post, data: PostInput, channels: list[Channel]) -> None:
    post.kind = data.kind
    post.title = data.title.strip()
    post.body = data.body
    post.scheduled_at = data.scheduled_at
    post.expires_at = data.expires_at
    post.channels = channels
    wanted = list(dict.fromkeys(data.tags))
    post.tag_rows = [row for row in post.tag_rows if row.tag in wanted]
    have = {row.tag for row in post.tag_rows}
    post.tag_rows.extend(PostTag(tag=tag) for tag in wanted if tag not in have)


# ---- transitions -------------------------------------------------------------------------------

def create_post(session: Session, author: User, data: PostInput, *, now: datetime) -> Post:
    channels = _validate(session, data, now)
    post = Post(author_id=author.id, status=PostStatus.draft, created_at=now, updated_at=now)
    post.author = author
    _apply(session, post, data, channels)
    session.add(post)
    session.flush()
    audit.record(session, at=now, actor=author, action="post.create", subject_type="post",
                 subject_id=post.id, title=post.title)
    return post


def update_post(session: Session, user: User, post: Post, data: PostInput, *, now: datetime,
                detach: bool = True, checker: Checker | None = None) -> Post:
    """Change a post. An occurrence of a series changed here becomes detached: later edits of the
    whole series leave it alone (the series passes ``detach=False`` when it rewrites its own).
    With ``checker`` (people editing: web, API), an approved post whose time alone moves is
    checked against the posting rules at its new time, as a move on the calendar is."""
    if not can_edit(user, post):
        _deny(user, post, "edit")
    channels = _validate(session, data, now)
    content_changed = (post.kind, post.title, post.body) != (data.kind, data.title.strip(), data.body)
    targets_changed = sorted(c.id for c in post.channels) != sorted(c.id for c in channels) or sorted(
        post.tags
    ) != sorted(set(data.tags))
    if (checker is not None and post.status == PostStatus.approved and data.scheduled_at is not None
            and data.scheduled_at != post.scheduled_at and not (content_changed or targets_changed)):
        checker.require_schedule_clear(session, post, resolve_targets(session, post),
                                       data.scheduled_at)
    _apply(session, post, data, channels)
    post.updated_at = now
    if post.series_id is not None and detach:
        post.detached = True
    previous = post.status
    if content_changed:
        post.revision += 1
    if post.status == PostStatus.approved:
        if content_changed or targets_changed:
            _withdraw_approval(session, post, now=now)
        else:
            # Only the time moved: the approval stands and the deliveries follow the post.
            deliveries.reschedule(session, post, now=now)
    elif post.status == PostStatus.expired:
        post.status = PostStatus.draft
    audit.record(session, at=now, actor=user, action="post.update", subject_type="post",
                 subject_id=post.id, status_before=previous, status_after=post.status,
                 content_changed=content_changed)
    return post


def return_to_review(session: Session, actor: User, post: Post, *, now: datetime, reason: str) -> Post:
    """An approved post whose approval no longer holds (its series moved it to a time that breaks
    the posting rules): its deliveries held, the post back in review, the reason in the audit row.
    The review queue shows the findings beside it."""
    previous = post.status
    _withdraw_approval(session, post, now=now)
    post.updated_at = now
    audit.record(session, at=now, actor=actor, action="post.return_to_review", subject_type="post",
                 subject_id=post.id, status_before=previous, status_after=str(post.status),
                 comment=reason)
    return post


def _withdraw_approval(session: Session, post: Post, *, now: datetime) -> None:
    """An approved post back in review: its deliveries that have not started are held."""
    deliveries.hold(session, post, now=now)
    post.status = PostStatus.in_review
    post.submitted_at = now


def submit(session: Session, user: User, post: Post, *, now: datetime, comment: str = "") -> Post:
    if not can_submit(user, post):
        _deny(user, post, "submit")
    _require_ready(session, post, now)
    return _transition(session, user, post, PostStatus.in_review, "post.submit", now,
                       comment=comment, submitted=True)


def approve(
    session: Session, user: User, post: Post, *, now: datetime, allow_self_approval: bool,
    comment: str = "", checker: Checker | None = None,
) -> Post:
    """``checker`` runs the pre-publish checks: people approving (web, API) always pass one."""
    if not can_review(user, post, allow_self_approval):
        _deny(user, post, "approve", allow_self_approval)
    targets = _require_ready(session, post, now)
    if checker is not None:
        checker.require_clear(session, post, targets)
    deliveries.create_for(session, post, targets, now=now)
    session.add(Review(post_id=post.id, reviewer_id=user.id, decision="approved",
                       comment=comment.strip(), submitted_at=post.submitted_at, created_at=now))
    post.decided_at = now
    return _transition(session, user, post, PostStatus.approved, "post.approve", now,
                       comment=comment, targets=[c.id for c in targets])


def reject(
    session: Session, user: User, post: Post, *, now: datetime, allow_self_approval: bool,
    comment: str,
) -> Post:
    if not can_review(user, post, allow_self_approval):
        _deny(user, post, "reject", allow_self_approval)
    if not comment.strip():
        raise ValidationFailed(_("say why the post is rejected"),
                               {"comment": _("a comment is required when rejecting")})
    session.add(Review(post_id=post.id, reviewer_id=user.id, decision="rejected",
                       comment=comment.strip(), submitted_at=post.submitted_at, created_at=now))
    post.decided_at = now
    return _transition(session, user, post, PostStatus.draft, "post.reject", now, comment=comment)


def cancel(session: Session, user: User, post: Post, *, now: datetime, comment: str = "") -> Post:
    if not can_cancel(user, post):
        _deny(user, post, "cancel")
    deliveries.cancel_waiting(session, post, now=now)
    return _transition(session, user, post, PostStatus.canceled, "post.cancel", now, comment=comment)


def delete(session: Session, user: User, post: Post, *, now: datetime) -> None:
    if not can_delete(user, post):
        _deny(user, post, "delete")
    audit.record(session, at=now, actor=user, action="post.delete", subject_type="post",
                 subject_id=post.id, title=post.title)
    session.delete(post)


def expire_overdue(session: Session, *, now: datetime) -> list[int]:
    """Posts not approved by their publish time become expired, for an operator to see."""
    overdue = session.scalars(
        select(Post).where(
            Post.status.in_([PostStatus.draft, PostStatus.in_review]),
            Post.scheduled_at.is_not(None),
            Post.scheduled_at <= now,
        )
    ).all()
    for post in overdue:
        _transition(session, "dispatcher", post, PostStatus.expired, "post.expire", now)
    return [post.id for post in overdue]


def _transition(
    session: Session, actor: User | str, post: Post, to: PostStatus, action: str, now: datetime,
    *, comment: str = "", submitted: bool = False, **data: object,
) -> Post:
    before = post.status
    post.status = to
    post.updated_at = now
    if submitted:
        post.submitted_at = now
    audit.record(session, at=now, actor=actor, action=action, subject_type="post",
                 subject_id=post.id, status_before=before, status_after=str(to),
                 comment=comment.strip(), **data)
    return post


def _deny(user: User, post: Post, verb: str, allow_self_approval: bool = False) -> None:
    """Raise the error that says why ``user`` may not ``verb`` ``post``."""
    if verb in ("approve", "reject"):
        if not user.has_role(Role.operator):
            raise PermissionDenied(_("only operators may approve or reject posts"))
        if post.status != PostStatus.in_review:
            raise Conflict(_("post %(id)s is %(status)s, not in review", id=post.id,
                             status=post.status))
        raise PermissionDenied(_(
            "you wrote post %(id)s; another operator must review it "
            "(or an admin allows self-approval in the settings)", id=post.id))
    allowed = {"edit": EDITABLE, "submit": (PostStatus.draft,), "cancel": CANCELABLE,
               "delete": (PostStatus.draft,)}[verb]
    if post.status not in allowed:
        too_late = {
            "edit": _("post %(id)s is %(status)s; it cannot be edited now", id=post.id,
                      status=post.status),
            "submit": _("post %(id)s is %(status)s; only drafts can be submitted", id=post.id,
                        status=post.status),
            "cancel": _("post %(id)s is %(status)s; it cannot be canceled now", id=post.id,
                        status=post.status),
            "delete": _("post %(id)s is %(status)s; only drafts can be deleted (cancel it instead)",
                        id=post.id, status=post.status),
        }
        raise Conflict(too_late[verb])
    if verb == "cancel" and post.status == PostStatus.approved:
        raise PermissionDenied(_("post %(id)s is approved; only an operator may cancel it",
                                 id=post.id))
    raise PermissionDenied(_("you may not change post %(id)s", id=post.id))
