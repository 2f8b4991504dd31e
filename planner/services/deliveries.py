"""Deliveries: written when a post is approved, held or moved with their post, fixed by operators.

What the dispatcher records about a send lives beside this, in ``delivery_outcomes``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from planner.errors import Conflict, NotFound, PermissionDenied
from planner.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Post,
    PostKind,
    PostStatus,
    Role,
    User,
)
from planner.models.delivery import WAITING
from planner.services import audit
from planner.services.delivery_outcomes import NEEDS_A_PERSON, settle_post

# How long after its publish time a post is still worth sending, when the post does not say.
KIND_EXPIRY: dict[str, timedelta | None] = {
    PostKind.greeting: timedelta(hours=4),
    PostKind.announcement: timedelta(hours=24),
    PostKind.guest_session: timedelta(hours=2),
    PostKind.tutorial: None,
    PostKind.share: None,
}


def expiry_for(post: Post) -> datetime | None:
    if post.expires_at is not None:
        return post.expires_at
    default = KIND_EXPIRY.get(post.kind)
    return None if default is None or post.scheduled_at is None else post.scheduled_at + default


def create_for(session: Session, post: Post, targets: list[Channel], *, now: datetime) -> None:
    """Write one delivery per target in the approving transaction (the table is the outbox)."""
    assert post.scheduled_at is not None
    existing = {
        d.channel_id: d
        for d in session.scalars(select(Delivery).where(Delivery.post_id == post.id))
    }
    expires = expiry_for(post)
    for channel in targets:
        key = f"planner-{post.id}-{channel.id}-r{post.revision}"
        row = existing.get(channel.id)
        if row is None:
            session.add(Delivery(
                post_id=post.id, channel_id=channel.id, status=DeliveryStatus.pending,
                due_at=post.scheduled_at, next_attempt_at=post.scheduled_at, expires_at=expires,
                idempotency_key=key, created_at=now, updated_at=now,
            ))
        elif row.status == DeliveryStatus.canceled:
            row.status = DeliveryStatus.pending
            row.due_at = row.next_attempt_at = post.scheduled_at
            row.expires_at = expires
            row.idempotency_key = key
            row.last_error = None
            row.updated_at = now
        else:
            raise Conflict(_("post %(id)s already has a live delivery to channel %(channel)s",
                             id=post.id, channel=channel.name))


def hold(session: Session, post: Post, *, now: datetime) -> None:
    """The post went back to review: deliveries that have not started are canceled."""
    started = session.scalar(
        select(func.count()).select_from(Delivery).where(
            Delivery.post_id == post.id, Delivery.status.not_in([*WAITING, DeliveryStatus.canceled])
        )
    )
    if started:
        raise Conflict(_("post %(id)s is already being published; it can no longer be changed",
                         id=post.id))
    cancel_waiting(session, post, now=now)


def cancel_waiting(session: Session, post: Post, *, now: datetime) -> int:
    result = session.execute(
        update(Delivery)
        .where(Delivery.post_id == post.id, Delivery.status.in_(WAITING))
        .values(status=DeliveryStatus.canceled, updated_at=now)
    )
    return result.rowcount


def reschedule(session: Session, post: Post, *, now: datetime) -> None:
    assert post.scheduled_at is not None
    session.execute(
        update(Delivery)
        .where(Delivery.post_id == post.id, Delivery.status == DeliveryStatus.pending)
        .values(due_at=post.scheduled_at, next_attempt_at=post.scheduled_at,
                expires_at=expiry_for(post), updated_at=now)
    )


def deliveries_of(session: Session, post_id: int) -> list[Delivery]:
    return list(
        session.scalars(select(Delivery).where(Delivery.post_id == post_id).order_by(Delivery.id))
    )


def list_deliveries(session: Session, *, status: str | None = None, limit: int = 300) -> list[Delivery]:
    query = select(Delivery).order_by(Delivery.next_attempt_at.desc(), Delivery.id.desc())
    if status:
        query = query.where(Delivery.status == status)
    return list(session.scalars(query.limit(limit)))


def count_needing_attention(session: Session) -> int:
    return session.scalar(
        select(func.count()).select_from(Delivery).where(
            Delivery.status.in_([DeliveryStatus.failed, DeliveryStatus.unconfirmed])
        )
    ) or 0


# ---- operator side -----------------------------------------------------------------------------

def get_delivery(session: Session, delivery_id: int) -> Delivery:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(_("delivery %(id)s does not exist", id=delivery_id))
    return delivery


def retry(session: Session, user: User, delivery: Delivery, *, now: datetime) -> Delivery:
    if not user.has_role(Role.operator):
        raise PermissionDenied(_("only operators may retry deliveries"))
    if delivery.status not in (DeliveryStatus.failed, DeliveryStatus.unconfirmed,
                               DeliveryStatus.expired, DeliveryStatus.retrying):
        raise Conflict(_("delivery %(id)s is %(status)s; only failed, unconfirmed, expired or "
                         "retrying deliveries can be retried", id=delivery.id, status=delivery.status))
    before = delivery.status
    delivery.status = DeliveryStatus.retrying
    delivery.next_attempt_at = now
    delivery.expires_at = None  # an operator asked for it now, whatever its expiry said
    delivery.updated_at = now
    post = session.get(Post, delivery.post_id)
    if post is not None and post.status == PostStatus.failed:
        post.status = PostStatus.approved
    audit.record(session, at=now, actor=user, action="delivery.retry", subject_type="delivery",
                 subject_id=delivery.id, status_before=before)
    return delivery


def resolve(session: Session, user: User, delivery: Delivery, outcome: str, *,
            now: datetime) -> Delivery:
    if not user.has_role(Role.operator):
        raise PermissionDenied(_("only operators may resolve deliveries"))
    if delivery.status not in (DeliveryStatus.unconfirmed, DeliveryStatus.failed,
                               DeliveryStatus.retrying, DeliveryStatus.expired):
        raise Conflict(_("delivery %(id)s is %(status)s; nothing to resolve", id=delivery.id,
                         status=delivery.status))
    before = delivery.status
    delivery.status = DeliveryStatus.sent if outcome == "sent" else DeliveryStatus.failed
    if outcome == "sent":
        delivery.sent_at = now
    delivery.updated_at = now
    audit.record(session, at=now, actor=user, action="delivery.resolve", subject_type="delivery",
                 subject_id=delivery.id, status_before=before, outcome=outcome)
    post = session.get(Post, delivery.post_id)
    if post is not None and post.status == PostStatus.failed:
        post.status = PostStatus.approved
    settle_post(session, delivery.post_id, now=now)
    return delivery


def cancel_delivery(session: Session, user: User, delivery: Delivery, *, now: datetime) -> Delivery:
    """An operator gives up on a delivery that has not gone out (or whose fate they decided)."""
    if not user.has_role(Role.operator):
        raise PermissionDenied(_("only operators may cancel deliveries"))
    if delivery.status not in (*WAITING, *NEEDS_A_PERSON, DeliveryStatus.expired):
        raise Conflict(_("delivery %(id)s is %(status)s; it cannot be canceled", id=delivery.id,
                         status=delivery.status))
    before = delivery.status
    delivery.status = DeliveryStatus.canceled
    delivery.updated_at = now
    audit.record(session, at=now, actor=user, action="delivery.cancel", subject_type="delivery",
                 subject_id=delivery.id, status_before=before)
    post = session.get(Post, delivery.post_id)
    if post is not None and post.status == PostStatus.failed:
        post.status = PostStatus.approved
    settle_post(session, delivery.post_id, now=now)
    return delivery
