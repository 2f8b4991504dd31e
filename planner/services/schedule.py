"""Moving a post to another time, as a drag on the calendar does.

Only the time changes, so an approved post stays approved and its waiting deliveries follow it. An
expiry moves by the same amount, so a post keeps the window in which it is worth sending.

An approved post is checked again at its new time against the community's posting rules (posts a
day per channel, minutes between posts). A move that breaks them is refused with the findings, and
the post stays where it was, approved: the operator who dragged it sees why and picks another time,
rather than the approval being withdrawn behind their back. Drafts and posts in review move freely;
their checks run when they are approved.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.errors import Conflict, PermissionDenied, ValidationFailed
from planner.models import Delivery, DeliveryStatus, Post, PostStatus, Role, User
from planner.services import audit, deliveries, posts
from planner.services.checks import Checker

MOVABLE = (PostStatus.draft, PostStatus.in_review, PostStatus.approved)


def can_move(user: User, status: str, author_id: int) -> bool:
    """Editors move their own drafts and posts in review; operators move any post not yet out."""
    if status not in MOVABLE:
        return False
    if user.has_role(Role.operator):
        return True
    return author_id == user.id and status != PostStatus.approved


def reschedule_post(session: Session, user: User, post: Post, scheduled_at: datetime, *,
                    now: datetime, checker: Checker) -> Post:
    """Give ``post`` a new publish time; lock the post first (``get_post(for_change=True)``)."""
    if scheduled_at.tzinfo is None:
        raise ValidationFailed(_("the post was not moved"), {
            "scheduled_at": _("give a timezone offset, e.g. 2026-11-23T08:00:00+08:00")})
    if not can_move(user, post.status, post.author_id):
        _deny(user, post)
    if scheduled_at <= now:
        raise ValidationFailed(_("the post was not moved"),
                               {"scheduled_at": _("the publish time is in the past")})
    if post.status == PostStatus.approved and _started(session, post):
        raise Conflict(_("post %(id)s is already being published; it can no longer be moved",
                         id=post.id))
    if post.status == PostStatus.approved:
        checker.require_schedule_clear(session, post, posts.resolve_targets(session, post),
                                       scheduled_at)
    before = post.scheduled_at
    if post.expires_at is not None and before is not None:
        post.expires_at = post.expires_at + (scheduled_at - before)
    post.scheduled_at = scheduled_at
    post.updated_at = now
    if post.status == PostStatus.approved:
        deliveries.reschedule(session, post, now=now)
    audit.record(session, at=now, actor=user, action="post.move", subject_type="post",
                 subject_id=post.id, status=post.status,
                 scheduled_before=before.isoformat() if before else None,
                 scheduled_after=scheduled_at.astimezone(UTC).isoformat())
    return post


def _started(session: Session, post: Post) -> bool:
    return session.scalar(select(Delivery.id).where(
        Delivery.post_id == post.id,
        Delivery.status.not_in([DeliveryStatus.pending, DeliveryStatus.canceled])).limit(1)
    ) is not None


def _deny(user: User, post: Post) -> None:
    if post.status not in MOVABLE:
        raise Conflict(_("post %(id)s is %(status)s; it can no longer be moved", id=post.id,
                         status=post.status))
    if post.status == PostStatus.approved:
        raise PermissionDenied(_("post %(id)s is approved; only an operator may move it",
                                 id=post.id))
    raise PermissionDenied(_("you may only move your own posts"))
