"""The figures operators report, each computed by the database with grouped queries.

Deliveries count in the period their due time falls in; posts in the period they were published;
reviews in the period they were decided. Percentiles are nearest-rank: the p-th percentile of n
values is the ceil(p·n)-th smallest, so every figure is a value that was actually measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, and_, case, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from planner.models import Channel, ChannelTag, Delivery, DeliveryStatus, Post, PostStatus, Review
from planner.services import report_activity
from planner.services.report_periods import Period, local_day, seconds_between

PERCENTILES = (0.5, 0.9, 0.99)


@dataclass(frozen=True)
class Scope:
    """Narrows every figure to one channel, the channels carrying a tag, and/or one post kind."""

    channel_id: int | None = None
    tag: str | None = None
    kind: str | None = None

    def deliveries(self, query: Select[Any]) -> Select[Any]:
        if self.channel_id is not None:
            query = query.where(Delivery.channel_id == self.channel_id)
        if self.tag:
            tagged = select(ChannelTag.channel_id).where(ChannelTag.tag == self.tag)
            query = query.where(Delivery.channel_id.in_(tagged))
        if self.kind:
            query = query.where(Delivery.post_id.in_(select(Post.id).where(Post.kind == self.kind)))
        return query

    def posts(self, query: Select[Any]) -> Select[Any]:
        if self.kind:
            query = query.where(Post.kind == self.kind)
        if self.channel_id is not None or self.tag:
            query = query.where(Post.id.in_(self.deliveries(select(Delivery.post_id))))
        return query


def percentiles(session: Session, value: ColumnElement[float], base: Select[Any], *,
                within: float = 0) -> tuple[int, int, dict[float, float | None]]:
    """How many rows ``base`` has, how many of them have ``value`` ≤ ``within``, and the value's
    nearest-rank percentiles (the smallest value whose cumulative share reaches p): one sort."""
    ranked = base.with_only_columns(
        value.label("value"), func.cume_dist().over(order_by=value).label("share")).subquery()
    count, inside, *found = session.execute(select(
        func.count(), func.coalesce(func.sum(case((ranked.c.value <= within, 1), else_=0)), 0),
        *(func.min(case((ranked.c.share >= p, ranked.c.value))) for p in PERCENTILES),
    )).one()
    return count, inside, dict(zip(PERCENTILES, found, strict=True))


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _due_in(period: Period) -> ColumnElement[bool]:
    return and_(Delivery.due_at >= period.start, Delivery.due_at < period.end)


def deliveries_by_channel(session: Session, period: Period, scope: Scope) -> list[dict[str, Any]]:
    """Per channel: how many deliveries were due, and how each ended (or stands)."""
    query = scope.deliveries(
        select(Channel.id, Channel.name, Delivery.status, func.count(Delivery.id))
        .join(Channel, Channel.id == Delivery.channel_id)
        .where(_due_in(period))
        .group_by(Channel.id, Channel.name, Delivery.status)
    )
    rows: dict[int, dict[str, Any]] = {}
    for channel_id, name, status, count in session.execute(query):
        row = rows.setdefault(channel_id, {"channel_id": channel_id, "channel": name, "total": 0,
                                           **{s.value: 0 for s in DeliveryStatus}})
        row[status] += count
        row["total"] += count
    return sorted(rows.values(), key=lambda r: r["channel"])


def delivery_totals(by_channel: list[dict[str, Any]]) -> dict[str, int]:
    totals = {s.value: 0 for s in DeliveryStatus}
    for row in by_channel:
        for status in totals:
            totals[status] += row[status]
    totals["total"] = sum(row["total"] for row in by_channel)
    return totals


def posts_published(session: Session, period: Period, scope: Scope) -> dict[str, int]:
    """Posts that reached ``published`` in the period, per kind."""
    query = scope.posts(
        select(Post.kind, func.count(Post.id))
        .where(Post.status == PostStatus.published,
               Post.published_at >= period.start, Post.published_at < period.end)
        .group_by(Post.kind)
    )
    return {kind: count for kind, count in session.execute(query)}


def punctuality(session: Session, period: Period, scope: Scope, tolerance_seconds: int) -> dict[str, Any]:
    """Sent deliveries: how many went out within the tolerance of their due time, and how late."""
    lateness = seconds_between(_dialect(session), Delivery.due_at, Delivery.sent_at)
    base = scope.deliveries(
        select(Delivery.id).where(_due_in(period), Delivery.status == DeliveryStatus.sent,
                                  Delivery.sent_at.is_not(None)))
    sent, on_time, spread = percentiles(session, lateness, base, within=tolerance_seconds)
    return {
        "sent": sent,
        "on_time": on_time,
        "on_time_rate": None if not sent else on_time / sent,
        "tolerance_seconds": tolerance_seconds,
        "lateness_seconds": {f"p{round(p * 100)}": v for p, v in spread.items()},
    }


def rhythm(session: Session, period: Period, scope: Scope, daily_limit: int) -> list[dict[str, Any]]:
    """Per channel: sent deliveries per local day, against the workspace's daily limit (0: none)."""
    day = local_day(_dialect(session), Delivery.sent_at, period)
    per_day = scope.deliveries(
        select(Delivery.channel_id, day.label("day"), func.count(Delivery.id).label("sent"))
        .where(Delivery.status == DeliveryStatus.sent,
               Delivery.sent_at >= period.start, Delivery.sent_at < period.end)
        .group_by(Delivery.channel_id, day)
    ).subquery()
    query = (
        select(Channel.id, Channel.name, func.count(per_day.c.day), func.sum(per_day.c.sent),
               func.max(per_day.c.sent),
               func.sum(case((per_day.c.sent > daily_limit, 1), else_=0) if daily_limit
                        else literal(0, Integer)))
        .join(per_day, per_day.c.channel_id == Channel.id)
        .group_by(Channel.id, Channel.name)
        .order_by(Channel.name)
    )
    return [
        {"channel_id": channel_id, "channel": name, "active_days": active, "sent": sent,
         "per_day": round(sent / period.days, 2), "busiest_day": busiest,
         "days_over_limit": int(over_days or 0), "daily_limit": daily_limit}
        for channel_id, name, active, sent, busiest, over_days in session.execute(query)
    ]


def approval_turnaround(session: Session, period: Period, scope: Scope) -> dict[str, Any]:
    """Time from submitting a post to an operator's decision, for decisions made in the period."""
    waited = seconds_between(_dialect(session), Review.submitted_at, Review.created_at)
    base = (select(Review.id)
            .where(Review.created_at >= period.start, Review.created_at < period.end,
                   Review.submitted_at.is_not(None)))
    if scope.kind or scope.channel_id is not None or scope.tag:
        base = base.where(Review.post_id.in_(scope.posts(select(Post.id))))
    decisions = dict(session.execute(
        base.with_only_columns(Review.decision, func.count(Review.id)).group_by(Review.decision)).all())
    count, _, spread = percentiles(session, waited, base)
    return {
        "decisions": count,
        "approved": decisions.get("approved", 0),
        "rejected": decisions.get("rejected", 0),
        "median_seconds": spread[0.5],
        "p90_seconds": spread[0.9],
    }


def collect(session: Session, period: Period, scope: Scope, *, tolerance_seconds: int,
            daily_limit: int, now: datetime) -> dict[str, Any]:
    """Every figure for one period and scope, as the dashboard, the CSV files and the API give them."""
    by_channel = deliveries_by_channel(session, period, scope)
    return {
        "period": {"first_day": period.first.isoformat(), "last_day": period.last.isoformat(),
                   "timezone": period.zone.key, "start": period.start, "end": period.end},
        "scope": {"channel_id": scope.channel_id, "tag": scope.tag, "kind": scope.kind},
        "posts_published": posts_published(session, period, scope),
        "deliveries": delivery_totals(by_channel),
        "deliveries_by_channel": by_channel,
        "punctuality": punctuality(session, period, scope, tolerance_seconds),
        "rhythm": rhythm(session, period, scope, daily_limit),
        "approval_turnaround": approval_turnaround(session, period, scope),
        "guest_sessions": report_activity.guest_sessions(session, period, now=now),
        "feed_items": report_activity.feed_curation(session, period),
    }
