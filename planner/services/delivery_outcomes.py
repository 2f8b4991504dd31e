"""What the dispatcher records about its sends: outcomes, retries, the circuit breaker, settled posts.

An outcome is stored only while the dispatcher still holds the delivery's lease, so two dispatchers can
never both record one send; every attempt is kept with the platform's message. A dispatcher records
the outcomes of several sends in one transaction, a few statements whatever their number.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session, lazyload

from planner.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus, Post, PostStatus
from planner.models.delivery import SETTLED
from planner.services import alerts, audit

NEEDS_A_PERSON = (DeliveryStatus.failed, DeliveryStatus.unconfirmed)
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
# The circuit breaker: after this many failures in a row a target rests, longer each time.
BREAKER_THRESHOLD = 5
BREAKER_BASE = timedelta(minutes=1)
BREAKER_CAP = timedelta(minutes=30)
DELIVERIES, CHANNELS, POSTS = Delivery.__table__, Channel.__table__, Post.__table__
ATTEMPTS = DeliveryAttempt.__table__


@dataclass(frozen=True)
class Outcome:
    status: DeliveryStatus
    message: str | None = None
    remote_id: str | None = None
    remote_url: str | None = None
    retry_after: float | None = None  # seconds, from the platform
    cool_down: float | None = None  # seconds the whole target must stay quiet
    target_trouble: bool = False  # the target itself failed (unreachable, 5xx, lost answers)


@dataclass(frozen=True)
class Finished:
    """A send that ended at ``at`` with ``outcome``."""

    delivery_id: int
    outcome: Outcome
    at: datetime
    attempt_id: int | None = None  # the attempt row the claim opened, when known


def next_retry(attempt_count: int, now: datetime, retry_after: float | None,
               rng: random.Random | None = None) -> datetime:
    """Capped exponential backoff with full jitter, never sooner than the platform asked."""
    rng = rng or random.Random()
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(attempt_count - 1, 0)))
    delay = ceiling * (0.5 + rng.random() / 2)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return now + delay


def record_outcomes(session: Session, worker_id: str, finished: list[Finished], *,
                    max_attempts: int, busy_posts: Collection[int] = ()) -> set[int]:
    """Store the outcomes of sends whose lease ``worker_id`` still holds; the ids it stored.

    A post one of whose deliveries settled is then locked, in id order, and settled if nothing of it
    is left to send: recorders of one post's last deliveries queue up on its row, so the last of
    them sees every other outcome. ``busy_posts`` are posts the caller still has deliveries of in
    flight: they cannot be settled yet, and the caller looks again when it records the last one.
    """
    if not finished:
        return set()
    conn = session.connection()
    held = {row.id: row for row in conn.execute(
        HELD, {"ids": [item.delivery_id for item in finished], "owner": worker_id})}
    finished = [item for item in finished if item.delivery_id in held]
    if not finished:
        return set()
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    attempts, people, settling = [], [], set()
    for item in finished:
        row = held[item.delivery_id]
        status, values = _stored(item, row.attempt_count, row.expires_at, max_attempts)
        values |= {"status": status, "updated_at": item.at}
        by_shape.setdefault(tuple(sorted(values)), []).append(
            {f"v_{name}": value for name, value in values.items()}
            | {"b_id": item.delivery_id, "b_owner": worker_id})
        attempts.append({"delivery_id": item.delivery_id, "attempt_id": item.attempt_id,
                         "finished_at": item.at, "outcome": str(status),
                         "message": item.outcome.message})
        if status in NEEDS_A_PERSON:
            people.append((item.delivery_id, item.at))
        if status in SETTLED:
            settling.add(row.post_id)
    for shape, rows in by_shape.items():
        conn.execute(_store_statement(shape), rows)
    _finish_attempts(conn, worker_id, attempts)
    _update_targets(session, [(held[item.delivery_id].channel_id, item) for item in finished])
    for delivery_id, at in people:
        delivery = session.get(Delivery, delivery_id, populate_existing=True)
        assert delivery is not None
        alerts.raise_for(session, delivery, now=at)
    to_settle = sorted(settling.difference(busy_posts))
    if to_settle:
        last = max(item.at for item in finished)
        if conn.dialect.name == "postgresql":  # SQLite's write transaction is exclusive already
            conn.execute(LOCK_POSTS, {"ids": to_settle})
        for post_id in conn.scalars(FULLY_SETTLED, {"ids": to_settle}).all():
            settle_post(session, post_id, now=last)
    return {item.delivery_id for item in finished}


def _stored(item: Finished, attempt_count: int, expires_at: datetime | None,
            max_attempts: int) -> tuple[DeliveryStatus, dict[str, Any]]:
    """The delivery's new status and the columns that change with it."""
    outcome, status = item.outcome, item.outcome.status
    values: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}
    if status == DeliveryStatus.sent:
        return status, values | {"last_error": None, "remote_id": outcome.remote_id,
                                 "remote_url": outcome.remote_url, "sent_at": item.at}
    message = outcome.message
    if status == DeliveryStatus.retrying:
        retry_at = next_retry(attempt_count, item.at, outcome.retry_after)
        if attempt_count >= max_attempts:
            status = DeliveryStatus.failed
            message = f"gave up after {attempt_count} attempts: {outcome.message}"
        elif expires_at is not None and retry_at >= expires_at:
            status = DeliveryStatus.expired
            message = f"expired before it could be retried: {outcome.message}"
        values["next_attempt_at"] = retry_at
    return status, values | {"last_error": message}


@lru_cache(maxsize=16)
def _store_statement(columns: tuple[str, ...]) -> Any:
    """Write ``columns`` of a delivery this dispatcher still holds (one statement for each set of
    columns: a success, a retry, a failure)."""
    return update(DELIVERIES).where(
        DELIVERIES.c.id == bindparam("b_id"), DELIVERIES.c.lease_owner == bindparam("b_owner"),
        DELIVERIES.c.status == DeliveryStatus.sending,
    ).values({name: bindparam(f"v_{name}") for name in columns})


def _finish_attempts(conn: Any, worker_id: str, attempts: list[dict[str, Any]]) -> None:
    """Close each send's attempt row, opened by the claim; write one where it is missing."""
    unknown = [a["delivery_id"] for a in attempts if a["attempt_id"] is None]
    open_rows = dict(conn.execute(OPEN_ATTEMPTS, {"ids": unknown, "worker": worker_id}).all()) \
        if unknown else {}
    for attempt in attempts:
        if attempt["attempt_id"] is None:
            attempt["attempt_id"] = open_rows.get(attempt["delivery_id"])
    found = [{"b_id": a["attempt_id"], "v_at": a["finished_at"], "v_outcome": a["outcome"],
              "v_message": a["message"]} for a in attempts if a["attempt_id"] is not None]
    if found:
        conn.execute(CLOSE_ATTEMPT, found)
    missing = [{"delivery_id": a["delivery_id"], "worker": worker_id, "started_at": a["finished_at"],
                "finished_at": a["finished_at"], "outcome": a["outcome"], "message": a["message"]}
               for a in attempts if a["attempt_id"] is None]
    if missing:
        conn.execute(insert(ATTEMPTS), missing)


def _update_targets(session: Session, outcomes: list[tuple[int, Finished]]) -> None:
    """Cool-downs, and the circuit breaker: a success closes it; failures in a row after a target's
    last success count towards opening it. Rows are locked in id order."""
    conn = session.connection()
    last_success: dict[int, int] = {}
    for n, (channel_id, item) in enumerate(outcomes):
        if item.outcome.status == DeliveryStatus.sent:
            last_success[channel_id] = n
    cool = {channel_id: item.at + timedelta(seconds=item.outcome.cool_down)
            for channel_id, item in outcomes if item.outcome.cool_down}
    failures = sorted((channel_id, item.at) for n, (channel_id, item) in enumerate(outcomes)
                      if item.outcome.target_trouble and n > last_success.get(channel_id, -1))
    if cool or failures:  # rare: take every row this will touch, in id order, first
        conn.execute(LOCK_TARGETS, {"ids": sorted({*cool, *(c for c, _at in failures),
                                                   *last_success})})
    if last_success:
        conn.execute(CLOSE_BREAKERS, {"ids": sorted(last_success)})
    if cool:
        conn.execute(COOL_DOWN, [{"b_id": channel_id, "v_until": until}
                                 for channel_id, until in sorted(cool.items())])
    for channel_id, at in failures:
        _count_failure(session, channel_id, at)


def _count_failure(session: Session, channel_id: int, now: datetime) -> None:
    failures = session.scalar(
        update(Channel).where(Channel.id == channel_id)
        .values(consecutive_failures=Channel.consecutive_failures + 1)
        .returning(Channel.consecutive_failures).execution_options(synchronize_session=False))
    if failures is not None and failures >= BREAKER_THRESHOLD:
        rest = min(BREAKER_CAP, BREAKER_BASE * 2 ** (failures - BREAKER_THRESHOLD))
        session.execute(update(Channel).where(Channel.id == channel_id)
                        .values(breaker_open_until=now + rest)
                        .execution_options(synchronize_session=False))
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


def settle_post(session: Session, post_id: int, *, now: datetime) -> None:
    """Once every delivery of an approved post has settled, the post is published or failed.

    The post row is locked first: two dispatchers recording a post's last two deliveries at once
    would otherwise each see the other's still sending, and neither would settle the post.
    """
    session.flush()
    post = _lock_post(session, post_id)
    if post is None or post.status != PostStatus.approved:
        return
    # One row per status, not per delivery.
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
    return session.scalars(  # its own columns only: its tags, channels and author are not needed
        select(Post).where(Post.id == post_id).with_for_update(of=Post).options(lazyload("*"))
        .execution_options(populate_existing=True)
    ).first()


# ---- the statements, built once ----------------------------------------------------------------

IDS = bindparam("ids", expanding=True)
HELD = (select(DELIVERIES.c.id, DELIVERIES.c.post_id, DELIVERIES.c.channel_id,
               DELIVERIES.c.attempt_count, DELIVERIES.c.expires_at)
        .where(DELIVERIES.c.id.in_(IDS), DELIVERIES.c.lease_owner == bindparam("owner"),
               DELIVERIES.c.status == DeliveryStatus.sending)
        .with_for_update())
OPEN_ATTEMPTS = (select(ATTEMPTS.c.delivery_id, func.max(ATTEMPTS.c.id))
                 .where(ATTEMPTS.c.delivery_id.in_(IDS), ATTEMPTS.c.worker == bindparam("worker"),
                        ATTEMPTS.c.finished_at.is_(None))
                 .group_by(ATTEMPTS.c.delivery_id))
CLOSE_ATTEMPT = (update(ATTEMPTS).where(ATTEMPTS.c.id == bindparam("b_id"),
                                        ATTEMPTS.c.finished_at.is_(None))
                 .values(finished_at=bindparam("v_at"), outcome=bindparam("v_outcome"),
                         message=bindparam("v_message")))
LOCK_TARGETS = (select(CHANNELS.c.id).where(CHANNELS.c.id.in_(IDS)).order_by(CHANNELS.c.id)
                .with_for_update())
CLOSE_BREAKERS = (update(CHANNELS).where(
    CHANNELS.c.id.in_(IDS),
    or_(CHANNELS.c.consecutive_failures != 0, CHANNELS.c.breaker_open_until.is_not(None)),
).values(consecutive_failures=0, breaker_open_until=None))
COOL_DOWN = (update(CHANNELS).where(CHANNELS.c.id == bindparam("b_id"))
             .values(next_send_at=bindparam("v_until")))
LOCK_POSTS = select(POSTS.c.id).where(POSTS.c.id.in_(IDS)).order_by(POSTS.c.id).with_for_update()
# Which of these approved posts have no delivery left that is not settled.
FULLY_SETTLED = (select(POSTS.c.id).where(
    POSTS.c.id.in_(IDS), POSTS.c.status == PostStatus.approved,
    ~exists().where(DELIVERIES.c.post_id == POSTS.c.id, DELIVERIES.c.status.not_in(SETTLED)),
).order_by(POSTS.c.id))
