"""Claiming due deliveries in one short transaction, fairly across targets and within their rates.

Each claim takes at most one delivery per channel and books that channel's next free send time on the
channel row with a conditional update, so every dispatcher shares the same per-target rate limit and a
busy or throttled target never holds up the others. PostgreSQL skips rows another dispatcher has locked;
SQLite's ``BEGIN IMMEDIATE`` (see ``planner.db``) makes the whole claim exclusive.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from planner.db import reading
from planner.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus, Post, PostStatus
from planner.models.delivery import WAITING
from planner.services.channels import rate_per_minute
from planner.state import PlannerState


def claim_due(state: PlannerState, worker_id: str, now: datetime, limit: int) -> list[int]:
    lease_until = now + timedelta(seconds=state.config["LEASE_SECONDS"])
    postgres = state.engine.dialect.name == "postgresql"
    claimed: list[int] = []
    with state.sessions() as session, session.begin():
        due = (
            Delivery.status.in_(WAITING),
            Delivery.next_attempt_at <= now,
            or_(Delivery.expires_at.is_(None), Delivery.expires_at > now),
        )
        ready_channels = session.execute(
            select(Channel.id)
            .join(Delivery, Delivery.channel_id == Channel.id)
            .join(Post, Post.id == Delivery.post_id)
            .where(*due, Post.status == PostStatus.approved, Channel.enabled.is_(True),
                   or_(Channel.next_send_at.is_(None), Channel.next_send_at <= now),
                   or_(Channel.breaker_open_until.is_(None), Channel.breaker_open_until <= now))
            .group_by(Channel.id)
            .order_by(func.min(Delivery.next_attempt_at), Channel.id)
            .limit(limit)
        ).scalars().all()
        # Lock channels in id order so two dispatchers never wait on each other in a cycle.
        for channel_id in sorted(ready_channels):
            query = (
                select(Delivery.id).where(Delivery.channel_id == channel_id, *due)
                .order_by(Delivery.next_attempt_at, Delivery.id).limit(1)
            )
            if postgres:
                query = query.with_for_update(skip_locked=True)
            delivery_id = session.scalars(query).first()
            if delivery_id is None:
                continue
            channel = session.get(Channel, channel_id)
            assert channel is not None
            gap = timedelta(seconds=60 / rate_per_minute(channel, state.registry))
            booked = session.execute(
                update(Channel)
                .where(Channel.id == channel_id,
                       or_(Channel.next_send_at.is_(None), Channel.next_send_at <= now))
                .values(next_send_at=now + gap)
                .execution_options(synchronize_session=False)
            ).rowcount
            if not booked:
                continue  # another dispatcher took this target's turn
            taken = session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id, Delivery.status.in_(WAITING))
                .values(status=DeliveryStatus.sending, lease_owner=worker_id,
                        lease_expires_at=lease_until, attempt_count=Delivery.attempt_count + 1,
                        updated_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            if taken:
                session.add(DeliveryAttempt(delivery_id=delivery_id, worker=worker_id,
                                            started_at=now))
                claimed.append(delivery_id)
    return claimed


def next_ready_at(state: PlannerState, now: datetime) -> datetime | None:
    """When the next waiting delivery becomes due, or a busy target with due work is free again."""
    waiting = (Delivery.status.in_(WAITING), Post.status == PostStatus.approved,
               or_(Delivery.expires_at.is_(None), Delivery.expires_at > now))
    with state.sessions(bind=reading(state.engine)) as session:
        upcoming = session.scalar(
            select(func.min(Delivery.next_attempt_at)).join(Post, Post.id == Delivery.post_id)
            .where(*waiting, Delivery.next_attempt_at > now))
        target_free = session.scalar(
            select(func.min(Channel.next_send_at))
            .join(Delivery, Delivery.channel_id == Channel.id)
            .join(Post, Post.id == Delivery.post_id)
            .where(*waiting, Delivery.next_attempt_at <= now, Channel.enabled.is_(True),
                   Channel.next_send_at > now,
                   or_(Channel.breaker_open_until.is_(None), Channel.breaker_open_until <= now)))
    found = [moment for moment in (upcoming, target_free) if moment is not None]
    return min(found) if found else None
