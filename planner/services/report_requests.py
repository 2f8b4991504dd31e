"""Turning a report request (days and filters) into figures, the same for the pages, the API and the
weekly summary: the period in the workspace's timezone and the workspace's own limits."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from planner.services import reports, workspace
from planner.services.report_periods import Period, month_of


def figures_for(
    session: Session, config: dict[str, Any], *, now: datetime, start: date | None, end: date | None,
    channel_id: int | None = None, tag: str | None = None, kind: str | None = None,
) -> dict[str, Any]:
    zone = workspace.timezone(session, config)
    period = Period(start, end, zone) if start and end else month_of(now, zone)
    tolerance = workspace.get(session, "on_time_tolerance_minutes", config["ON_TIME_TOLERANCE_MINUTES"])
    daily_limit = workspace.get(session, "max_posts_per_channel_per_day", 0) or 0
    min_gap = workspace.get(session, "min_minutes_between_posts", 0) or 0
    return reports.collect(session, period, reports.Scope(channel_id, tag or None, kind or None),
                           tolerance_seconds=int(tolerance) * 60, daily_limit=int(daily_limit),
                           min_gap_seconds=int(min_gap) * 60, now=now)
