"""Delivery state: created when a post is approved, moved by the dispatcher and by operators.

Every change to a delivery's status happens here, so the rules of "never twice, never lost" live in one
place: the dispatcher records an outcome only while it still holds the delivery's lease.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from planner.errors import Conflict, NotFound, PermissionDenied
from planner.models import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Post,
    PostKind,
    PostStatus,
    Role,
    User,
)
from planner.models.delivery import SETTLED, WAITING
from planner.services import audit

# How long after its publish time a post is still worth sending, when the post does not say.
KIND_EXPIRY: dict[str, timedelta | None] = {
    PostKind.greeting: timedelta(hours=4),
    PostKind.announcement: timedelta(hours=24),
    PostKind.guest_session: timedelta(hours=2),
    PostKind.tutorial: None,
    PostKind.share: None,
}
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)


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


# ---- dispatcher side ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    status: DeliveryStatus
    message: str | None = None
    remote_id: str | None = None
    remote_url: str | None = None
    retry_after: float | None = None  # seconds, from the platform
    cool_down: float | None = None  # seconds the whole target must stay quiet


def next_retry(attempt_count: int, now: datetime, retry_after: float | None,
               rng: random.Random | None = None) -> datetime:
    """Capped exponential backoff with full jitter, never sooner than the platform asked."""
    rng = rng or random.Random()
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(attempt_count - 1, 0)))
    delay = ceiling * (0.5 + rng.random() / 2)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return now + delay


def record_outcome(
    session: Session, delivery_id: int, worker_id: str, outcome: Outcome, *, now: datetime,
    max_attempts: int,
) -> bool:
    """Store what a send came to, if ``worker_id`` still holds the lease. Returns False otherwise."""
    delivery = session.get(Delivery, delivery_id)
    if (
        delivery is None
        or delivery.status != DeliveryStatus.sending
        or delivery.lease_owner != worker_id
    ):
        return False
    status = outcome.status
    delivery.last_error = outcome.message if status != DeliveryStatus.sent else None
    if status == DeliveryStatus.sent:
        delivery.remote_id = outcome.remote_id
        delivery.remote_url = outcome.remote_url
        delivery.sent_at = now
    elif status == DeliveryStatus.retrying:
        retry_at = next_retry(delivery.attempt_count, now, outcome.retry_after)
        if delivery.attempt_count >= max_attempts:
            status = DeliveryStatus.failed
            delivery.last_error = f"gave up after {delivery.attempt_count} attempts: {outcome.message}"
        elif delivery.expires_at is not None and retry_at >= delivery.expires_at:
            status = DeliveryStatus.expired
            delivery.last_error = f"expired before it could be retried: {outcome.message}"
        delivery.next_attempt_at = retry_at
    if outcome.cool_down:
        session.execute(
            update(Channel).where(Channel.id == delivery.channel_id).values(
                next_send_at=now + timedelta(seconds=outcome.cool_down))
        )
    delivery.status = status
    delivery.lease_owner = None
    delivery.lease_expires_at = None
    delivery.updated_at = now
    _finish_attempt(session, delivery, worker_id, str(status), outcome.message, now)
    settle_post(session, delivery.post_id, now=now)
    return True


def record_part_sent(session: Session, delivery_id: int, worker_id: str, part: int) -> bool:
    result = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.lease_owner == worker_id,
               Delivery.status == DeliveryStatus.sending)
        .values(parts_sent=part)
    )
    return result.rowcount == 1


def _finish_attempt(session: Session, delivery: Delivery, worker_id: str, outcome: str,
                    message: str | None, now: datetime) -> None:
    attempt = session.scalar(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id == delivery.id, DeliveryAttempt.worker == worker_id,
               DeliveryAttempt.finished_at.is_(None))
        .order_by(DeliveryAttempt.id.desc())
    )
    if attempt is None:
        attempt = DeliveryAttempt(delivery_id=delivery.id, worker=worker_id, started_at=now)
        session.add(attempt)
    attempt.finished_at = now
    attempt.outcome = outcome
    attempt.message = message


def recover_expired_leases(session: Session, idempotent_kinds: set[str], *, now: datetime) -> int:
    """A dispatcher died mid-send: resend where that cannot publish twice, else ask an operator."""
    stale = session.scalars(
        select(Delivery).where(
            Delivery.status == DeliveryStatus.sending, Delivery.lease_expires_at < now
        )
    ).all()
    for delivery in stale:
        owner = delivery.lease_owner or "unknown"
        if delivery.channel.kind in idempotent_kinds:
            delivery.status = DeliveryStatus.retrying
            delivery.next_attempt_at = now
            message = ("the dispatcher's lease expired; resending safely "
                       "(the platform deduplicates or is asked first)")
        else:
            delivery.status = DeliveryStatus.unconfirmed
            message = "the dispatcher's lease expired mid-send; check the channel and resolve"
        delivery.last_error = message
        delivery.lease_owner = None
        delivery.lease_expires_at = None
        delivery.updated_at = now
        _finish_attempt(session, delivery, owner, "lease_expired", message, now)
        audit.record(session, at=now, actor="dispatcher", action="delivery.lease_expired",
                     subject_type="delivery", subject_id=delivery.id, status_after=delivery.status)
    return len(stale)


def expire_late(session: Session, *, now: datetime) -> int:
    """Waiting deliveries past their expiry will not go out: say so instead of skipping silently."""
    late = session.scalars(
        select(Delivery).where(
            Delivery.status.in_(WAITING),
            Delivery.expires_at.is_not(None),
            Delivery.expires_at <= now,
        )
    ).all()
    for delivery in late:
        delivery.status = DeliveryStatus.expired
        delivery.last_error = "not sent before its expiry"
        delivery.updated_at = now
        audit.record(session, at=now, actor="dispatcher", action="delivery.expire",
                     subject_type="delivery", subject_id=delivery.id)
        settle_post(session, delivery.post_id, now=now)
    return len(late)


def settle_post(session: Session, post_id: int, *, now: datetime) -> None:
    """Once every delivery of an approved post has settled, the post is published or failed.

    The post row is locked first: two dispatchers recording a post's last two deliveries at once
    would otherwise each see the other's still sending, and neither would settle the post.
    """
    session.flush()
    post = session.scalars(
        select(Post).where(Post.id == post_id).with_for_update(of=Post)
        .execution_options(populate_existing=True)
    ).first()
    if post is None or post.status != PostStatus.approved:
        return
    statuses = list(session.scalars(select(Delivery.status).where(Delivery.post_id == post_id)))
    if not statuses or any(s not in SETTLED for s in statuses):
        return
    live = [s for s in statuses if s != DeliveryStatus.canceled]
    if not live:
        return
    before = post.status
    if all(s == DeliveryStatus.sent for s in live):
        post.status = PostStatus.published
        post.published_at = session.scalar(
            select(func.max(Delivery.sent_at)).where(Delivery.post_id == post_id)
        )
    else:
        post.status = PostStatus.failed
    post.updated_at = now
    audit.record(session, at=now, actor="dispatcher", action=f"post.{post.status}",
                 subject_type="post", subject_id=post.id, status_before=before,
                 status_after=post.status)


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


def release(session: Session, delivery_id: int, worker_id: str, *, now: datetime) -> bool:
    """Give back a claimed delivery that was never sent (the dispatcher is shutting down)."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.lease_owner != worker_id:
        return False
    delivery.attempt_count -= 1
    delivery.status = DeliveryStatus.pending if delivery.attempt_count == 0 else DeliveryStatus.retrying
    delivery.lease_owner = None
    delivery.lease_expires_at = None
    delivery.updated_at = now
    _finish_attempt(session, delivery, worker_id, "released", "dispatcher stopped before sending", now)
    return True
