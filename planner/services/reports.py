"""The figures operators report, each computed by the database with grouped queries.

Deliveries count in the period their due time falls in; posts in the period they were published;
reviews in the period they were decided. Percentiles are nearest-rank (report_periods).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from planner.models import Channel, Delivery, DeliveryStatus, Post, PostStatus, Review
from planner.services import report_activity, report_punctuality, report_rhythm
from planner.services.report_periods import Period, dialect, seconds_between, spread
from planner.services.report_scope import Scope


def _due_in(period: Period) -> ColumnElement[bool]:
    return and_(Delivery.due_at >= period.start, Delivery.due_at < period.end)


def deliveries_by_channel(session: Session, period: Period, scope: Scope) -> list[dict[str, Any]]:
    """Per channel: how many deliveries were due, and how each ended (or stands)."""
    # Counted first, named after: joined to the channels, SQLite would walk the period's deliveries
    # once per channel in scope.
    counted = scope.deliveries(
        select(Delivery.channel_id, Delivery.status, func.count(Delivery.id).label("count"))
        .where(_due_in(period))
        .group_by(Delivery.channel_id, Delivery.status)
    ).subquery()
    query = (select(Channel.id, Channel.name, counted.c.status, counted.c.count)
             .join(counted, counted.c.channel_id == Channel.id))
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


def approval_turnaround(session: Session, period: Period, scope: Scope) -> dict[str, Any]:
    """Time from submitting a post to an operator's decision, for decisions made in the period."""
    waited = seconds_between(dialect(session), Review.submitted_at, Review.created_at)
    base = (select(Review.id)
            .where(Review.created_at >= period.start, Review.created_at < period.end,
                   Review.submitted_at.is_not(None)))
    base = scope.reviews(base)
    decisions = dict(session.execute(
        base.with_only_columns(Review.decision, func.count(Review.id)).group_by(Review.decision)).all())
    found = spread(session, waited, base)
    return {
        "decisions": sum(decisions.values()),
        "approved": decisions.get("approved", 0),
        "rejected": decisions.get("rejected", 0),
        "median_seconds": found.percentiles[0.5],
        "p90_seconds": found.percentiles[0.9],
    }


def collect(session: Session, period: Period, scope: Scope, *, tolerance_seconds: int,
            daily_limit: int, now: datetime, min_gap_seconds: int = 0) -> dict[str, Any]:
    """Every figure for one period and scope, as the dashboard, the CSV files and the API give them."""
    scope = scope.resolved(session)
    by_channel = deliveries_by_channel(session, period, scope)
    punctuality, lateness = report_punctuality.punctuality(session, period, scope, tolerance_seconds, now)
    return {
        "period": {"first_day": period.first.isoformat(), "last_day": period.last.isoformat(),
                   "timezone": period.zone.key, "start": period.start, "end": period.end},
        "scope": {"channel_id": scope.channel_id, "tag": scope.tag, "kind": scope.kind},
        "posts_published": posts_published(session, period, scope),
        "deliveries": delivery_totals(by_channel),
        "deliveries_by_channel": by_channel,
        "punctuality": punctuality,
        "lateness": lateness,
        "rhythm": report_rhythm.rhythm(session, period, scope, daily_limit, min_gap_seconds),
        "approval_turnaround": approval_turnaround(session, period, scope),
        "guest_sessions": report_activity.guest_sessions(session, period, scope, now=now),
        "feed_items": report_activity.feed_curation(session, period, scope),
    }
