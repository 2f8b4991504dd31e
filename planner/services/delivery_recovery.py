"""What a dispatcher tidies up before it claims: leases of dead dispatchers, deliveries past their
expiry, and claims it gives back when it stops before sending them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus
from planner.models.delivery import WAITING
from planner.services import alerts, audit
from planner.services.delivery_outcomes import NEEDS_A_PERSON, settle_post


def recover_expired_leases(session: Session, safe_to_resend: Callable[[Channel], bool], *,
                           now: datetime) -> int:
    """A dispatcher died mid-send: resend where that cannot publish twice, else ask an operator.

    The rows are locked (PostgreSQL) and their lease checked again once locked, so a dispatcher that
    was only slow and records its outcome at this very moment is either seen as done, or waits.
    """
    stale = session.scalars(
        select(Delivery).where(
            Delivery.status == DeliveryStatus.sending, Delivery.lease_expires_at < now
        ).with_for_update(of=Delivery, skip_locked=True)
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
        finish_attempt(session, delivery, owner, "lease_expired", message, now)
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
        ).with_for_update(of=Delivery, skip_locked=True)
    ).all()
    for delivery in late:
        delivery.status = DeliveryStatus.expired
        delivery.last_error = "not sent before its expiry"
        delivery.updated_at = now
        audit.record(session, at=now, actor="dispatcher", action="delivery.expire",
                     subject_type="delivery", subject_id=delivery.id)
    for post_id in sorted({delivery.post_id for delivery in late}):
        settle_post(session, post_id, now=now)
    return len(late)


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
    finish_attempt(session, delivery, worker_id, "released", "dispatcher stopped before sending", now)
    return True


def finish_attempt(session: Session, delivery: Delivery, worker_id: str, outcome: str,
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
