"""What the dispatcher records about its sends: outcomes, retries, the circuit breaker, lost leases.

An outcome is stored only while the dispatcher still holds the delivery's lease, so two dispatchers can
never both record one send; every attempt is kept with the platform's message.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from planner.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus, Post, PostStatus
from planner.models.delivery import SETTLED, WAITING
from planner.services import alerts, audit

NEEDS_A_PERSON = (DeliveryStatus.failed, DeliveryStatus.unconfirmed)
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
# The circuit breaker: after this many failures in a row a target rests, longer each time.
BREAKER_THRESHOLD = 5
BREAKER_BASE = timedelta(minutes=1)
BREAKER_CAP = timedelta(minutes=30)


# ---- dispatcher side ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    status: DeliveryStatus
    message: str | None = None
    remote_id: str | None = None
    remote_url: str | None = None
    retry_after: float | None = None  # seconds, from the platform
    cool_down: float | None = None  # seconds the whole target must stay quiet
    target_trouble: bool = False  # the target itself failed (unreachable, 5xx, lost answers)


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
    post_id = session.scalar(select(Delivery.post_id).where(Delivery.id == delivery_id))
    if post_id is not None:
        _lock_post(session, post_id)  # first, so concurrent recorders of one post queue up here
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
    _update_breaker(session, delivery.channel_id, outcome, now)
    delivery.status = status
    delivery.lease_owner = None
    delivery.lease_expires_at = None
    delivery.updated_at = now
    _finish_attempt(session, delivery, worker_id, str(status), outcome.message, now)
    if status in NEEDS_A_PERSON:
        alerts.raise_for(session, delivery, now=now)
    settle_post(session, delivery.post_id, now=now)
    return True


def _update_breaker(session: Session, channel_id: int, outcome: Outcome, now: datetime) -> None:
    """Count a target's failures in a row; enough of them open its breaker for a while."""
    if outcome.status == DeliveryStatus.sent:
        session.execute(update(Channel).where(Channel.id == channel_id)
                        .values(consecutive_failures=0, breaker_open_until=None))
        return
    if not outcome.target_trouble:
        return
    session.execute(update(Channel).where(Channel.id == channel_id)
                    .values(consecutive_failures=Channel.consecutive_failures + 1))
    failures = session.scalar(select(Channel.consecutive_failures).where(Channel.id == channel_id))
    if failures is not None and failures >= BREAKER_THRESHOLD:
        rest = min(BREAKER_CAP, BREAKER_BASE * 2 ** (failures - BREAKER_THRESHOLD))
        session.execute(update(Channel).where(Channel.id == channel_id)
                        .values(breaker_open_until=now + rest))
        audit.record(session, at=now, actor="dispatcher", action="channel.breaker_open",
                     subject_type="channel", subject_id=channel_id, failures=failures,
                     rest_seconds=int(rest.total_seconds()))


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


def recover_expired_leases(session: Session, safe_to_resend: Callable[[Channel], bool], *,
                           now: datetime) -> int:
    """A dispatcher died mid-send: resend where that cannot publish twice, else ask an operator."""
    stale = session.scalars(
        select(Delivery).where(
            Delivery.status == DeliveryStatus.sending, Delivery.lease_expires_at < now
        )
    ).all()
    for delivery in stale:
        owner = delivery.lease_owner or "unknown"
        if safe_to_resend(delivery.channel):
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
        if delivery.status in NEEDS_A_PERSON:
            alerts.raise_for(session, delivery, now=now)
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
    post = _lock_post(session, post_id)
    if post is None or post.status != PostStatus.approved:
        return
    # One row per status, not per delivery: a post to 1,000 groups is settled after each send.
    statuses = set(session.scalars(select(Delivery.status).where(Delivery.post_id == post_id)
                                   .group_by(Delivery.status)))
    if not statuses or any(s not in SETTLED for s in statuses):
        return
    live = statuses - {DeliveryStatus.canceled}
    before = post.status
    if not live:  # an operator canceled every delivery: the post is canceled
        post.status = PostStatus.canceled
        post.updated_at = now
        audit.record(session, at=now, actor="dispatcher", action="post.cancel",
                     subject_type="post", subject_id=post.id, status_before=before,
                     status_after=post.status)
        return
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


def _lock_post(session: Session, post_id: int) -> Post | None:
    return session.scalars(
        select(Post).where(Post.id == post_id).with_for_update(of=Post)
        .execution_options(populate_existing=True)
    ).first()


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
