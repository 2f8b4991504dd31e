"""Claiming due deliveries in one short transaction, fairly across targets and within their rates.

A claim takes at most one delivery per target, the targets whose oldest due delivery has waited
longest first, and books each target's next free send time on its channel row, so every dispatcher
shares the same per-target rate limit and a busy or throttled target never holds up the others. It is a
handful of set-based statements whatever the batch size, and it returns everything the sends need
(the channels' settings, the posts' content), so nothing is loaded again per delivery.

PostgreSQL locks the chosen deliveries and channels with ``FOR UPDATE SKIP LOCKED``: two dispatchers
never wait on each other, and a row another one is claiming is simply left to it. SQLite's
``BEGIN IMMEDIATE`` (see ``planner.db``) makes the whole claim exclusive, and the lease is taken with
a conditional update either way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, or_, select, update

from planner.db import reading
from planner.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus, Post, PostStatus
from planner.models.delivery import WAITING
from planner.registry import Registry
from planner.state import PlannerState

DELIVERIES, CHANNELS, POSTS = Delivery.__table__, Channel.__table__, Post.__table__
ATTEMPTS = DeliveryAttempt.__table__
DEFAULT_RATE = 20  # messages a minute for a channel whose kind is not installed


@dataclass(frozen=True)
class ClaimedChannel:
    id: int
    kind: str
    name: str
    settings: dict[str, Any]
    secrets_encrypted: str | None
    gap: float  # seconds between two messages to this target


@dataclass(frozen=True)
class ClaimedPost:
    id: int
    kind: str
    title: str
    body: str


@dataclass(frozen=True)
class Claimed:
    """A delivery this dispatcher now holds the lease on, with what sending it needs."""

    id: int
    idempotency_key: str
    parts_sent: int
    attempt: int  # 1 for the first try
    attempt_id: int  # the row recording this try
    channel: ClaimedChannel
    post: ClaimedPost


class Candidates:
    """The oldest due delivery of each ready target, longest-waiting first, read in one scan and
    handed out over the next claims, which check each again as they lease it. Finding them reads every
    due delivery, so a dispatcher with a long queue scans once for many claims, not once for each;
    it scans again when they run out or are a second old, so a target that becomes free again
    waits no longer than that for its place in the order.

    With ``spread`` (several dispatchers may share the database) each scan is handed out from a
    random place in the list onwards, wrapping round, so dispatchers do not all reach for the same
    targets and find them taken; the order then holds within what each one takes, and across scans.
    """

    MAX_AGE = timedelta(seconds=1)
    SCAN = 256  # targets read at a time

    def __init__(self, *, spread: bool = False) -> None:
        self.spread = spread
        self._rows: list[Any] = []
        self._read_at: datetime | None = None
        self.fresh = False  # the last ``take`` read them afresh

    def forget(self) -> None:
        self._rows, self._read_at = [], None

    def take(self, conn: Connection, now: datetime, limit: int) -> list[Any]:
        self.fresh = (len(self._rows) < limit or self._read_at is None or now < self._read_at
                      or now - self._read_at > self.MAX_AGE)
        if self.fresh:
            rows = conn.execute(CANDIDATES, {"now": now, "limit": max(limit, self.SCAN)}).all()
            start = random.randrange(len(rows)) if self.spread and rows else 0
            self._rows, self._read_at = rows[start:] + rows[:start], now
        taken, self._rows = self._rows[:limit], self._rows[limit:]
        return taken


def claim_due(state: PlannerState, worker_id: str, now: datetime, limit: int) -> list[int]:
    """Claim up to ``limit`` due deliveries (one per target); their ids."""
    return [claimed.id for claimed in claim_batch(state, worker_id, now, limit)]


def claim_batch(state: PlannerState, worker_id: str, now: datetime, limit: int,
                candidates: Candidates | None = None) -> list[Claimed]:
    lease_until = now + timedelta(seconds=state.config["LEASE_SECONDS"])
    postgres = state.engine.dialect.name == "postgresql"
    candidates = candidates or Candidates(spread=postgres)
    with state.engine.begin() as conn:
        while True:
            chosen = candidates.take(conn, now, limit)
            if not chosen:
                return []
            claimed = _lease(conn, state.registry, worker_id, chosen, now, lease_until,
                             lock=postgres)
            if claimed or candidates.fresh:
                return claimed
            candidates.forget()  # read a while ago and all taken since: read afresh


def _lease(conn: Connection, registry: Registry, worker_id: str, chosen: list[Any], now: datetime,
           lease_until: datetime, *, lock: bool) -> list[Claimed]:
    """Lease the chosen deliveries whose target is still free, and book each target's next turn:
    its next free send time moves one gap ahead. On PostgreSQL a delivery or target another
    dispatcher is claiming right now is left to it."""
    channels, posts, taken = {}, {}, []
    for row in conn.execute(LOCK_CHOSEN if lock else CHOSEN,
                            {"ids": [row.id for row in chosen], "now": now}):
        rate = row.rate_per_minute or (registry.get(row.kind).limits.per_minute
                                       if row.kind in registry else DEFAULT_RATE)
        channels[row.channel_id] = ClaimedChannel(row.channel_id, row.kind, row.name,
                                                  row.settings or {}, row.secrets_encrypted, 60 / rate)
        if row.post_id not in posts:
            posts[row.post_id] = ClaimedPost(row.post_id, row.post_kind, row.title, row.body)
        taken.append(row.id)
    if not taken:
        return []
    conn.execute(BOOK, [{"channel": c.id, "until": now + timedelta(seconds=c.gap), "now": now}
                        for c in channels.values()])
    leased = conn.execute(LEASE, {"ids": taken, "owner": worker_id, "until": lease_until,
                                  "now": now}).all()
    if not leased:
        return []
    attempts = dict(conn.execute(OPEN_ATTEMPT, [
        {"delivery_id": row.id, "worker": worker_id, "started_at": now} for row in leased]).all())
    order = {row.id: n for n, row in enumerate(chosen)}
    return [Claimed(row.id, row.idempotency_key, row.parts_sent, row.attempt_count,
                    attempts[row.id], channels[row.channel_id], posts[row.post_id])
            for row in sorted(leased, key=lambda row: order[row.id])]


def next_ready_at(state: PlannerState, now: datetime) -> datetime | None:
    """When the next waiting delivery becomes due, or a busy target with due work is free again."""
    with reading(state.engine).begin() as conn:
        upcoming = conn.scalar(NEXT_DUE, {"now": now})
        target_free = conn.scalar(NEXT_FREE_TARGET, {"now": now})
    found = [moment for moment in (upcoming, target_free) if moment is not None]
    return min(found) if found else None


# ---- the statements, built once ----------------------------------------------------------------

NOW, IDS = bindparam("now"), bindparam("ids", expanding=True)
DUE = (DELIVERIES.c.status.in_(WAITING), DELIVERIES.c.next_attempt_at <= NOW,
       or_(DELIVERIES.c.expires_at.is_(None), DELIVERIES.c.expires_at > NOW))
BREAKER_CLOSED = or_(CHANNELS.c.breaker_open_until.is_(None), CHANNELS.c.breaker_open_until <= NOW)
TARGET_READY = (CHANNELS.c.enabled.is_(True),
                or_(CHANNELS.c.next_send_at.is_(None), CHANNELS.c.next_send_at <= NOW),
                BREAKER_CLOSED)

_ranked = (
    select(DELIVERIES.c.id, DELIVERIES.c.channel_id, DELIVERIES.c.next_attempt_at,
           func.row_number().over(partition_by=DELIVERIES.c.channel_id,
                                  order_by=(DELIVERIES.c.next_attempt_at, DELIVERIES.c.id))
           .label("turn"))
    .join(POSTS, POSTS.c.id == DELIVERIES.c.post_id)
    .join(CHANNELS, CHANNELS.c.id == DELIVERIES.c.channel_id)
    .where(*DUE, POSTS.c.status == PostStatus.approved, *TARGET_READY)
    .subquery()
)
# The oldest due delivery of each ready target, the longest-waiting targets first.
CANDIDATES = (select(_ranked.c.id, _ranked.c.channel_id).where(_ranked.c.turn == 1)
              .order_by(_ranked.c.next_attempt_at, _ranked.c.channel_id).limit(bindparam("limit")))
# The chosen deliveries still due, with their posts, and their targets if these are still free (one
# row each: a claim takes one delivery per target).
CHOSEN = (select(DELIVERIES.c.id, DELIVERIES.c.channel_id, CHANNELS.c.kind, CHANNELS.c.name,
                 CHANNELS.c.settings, CHANNELS.c.secrets_encrypted, CHANNELS.c.rate_per_minute,
                 DELIVERIES.c.post_id, POSTS.c.kind.label("post_kind"), POSTS.c.title, POSTS.c.body)
          .join(CHANNELS, CHANNELS.c.id == DELIVERIES.c.channel_id)
          .join(POSTS, POSTS.c.id == DELIVERIES.c.post_id)
          .where(DELIVERIES.c.id.in_(IDS), *DUE, POSTS.c.status == PostStatus.approved,
                 *TARGET_READY)
          .order_by(CHANNELS.c.id))
LOCK_CHOSEN = CHOSEN.with_for_update(of=(DELIVERIES, CHANNELS), skip_locked=True)
BOOK = (update(CHANNELS).where(CHANNELS.c.id == bindparam("channel"), *TARGET_READY)
        .values(next_send_at=bindparam("until")))
LEASE = (
    update(DELIVERIES).where(DELIVERIES.c.id.in_(IDS), *DUE)
    .values(status=DeliveryStatus.sending, lease_owner=bindparam("owner"),
            lease_expires_at=bindparam("until"), attempt_count=DELIVERIES.c.attempt_count + 1,
            updated_at=NOW)
    .returning(DELIVERIES.c.id, DELIVERIES.c.post_id, DELIVERIES.c.channel_id,
               DELIVERIES.c.idempotency_key, DELIVERIES.c.parts_sent, DELIVERIES.c.attempt_count)
)
OPEN_ATTEMPT = insert(ATTEMPTS).returning(ATTEMPTS.c.delivery_id, ATTEMPTS.c.id)

_waiting = (DELIVERIES.c.status.in_(WAITING), POSTS.c.status == PostStatus.approved,
            or_(DELIVERIES.c.expires_at.is_(None), DELIVERIES.c.expires_at > NOW))
NEXT_DUE = (select(func.min(DELIVERIES.c.next_attempt_at))
            .join(POSTS, POSTS.c.id == DELIVERIES.c.post_id)
            .where(*_waiting, DELIVERIES.c.next_attempt_at > NOW))
NEXT_FREE_TARGET = (
    select(func.min(CHANNELS.c.next_send_at))
    .join(DELIVERIES, DELIVERIES.c.channel_id == CHANNELS.c.id)
    .join(POSTS, POSTS.c.id == DELIVERIES.c.post_id)
    .where(*_waiting, DELIVERIES.c.next_attempt_at <= NOW, CHANNELS.c.enabled.is_(True),
           CHANNELS.c.next_send_at > NOW, BREAKER_CLOSED)
)
