"""The weekly summary: last week's figures as an announcement that goes through review like any post."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from babel import Locale
from babel.dates import format_interval
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from planner.models import Post, User
from planner.services import posts as post_service
from planner.services import workspace
from planner.services.posts import PostInput
from planner.services.report_periods import week_of
from planner.services.report_requests import figures_for


def day_range(first: str, last: str) -> str:
    """Two ISO days as the drafter's language writes a span ("Nov 9 – 15, 2026", "2026年11月9日至15日")."""
    locale = get_locale() or Locale.parse("en")
    return format_interval(date.fromisoformat(first), date.fromisoformat(last), "yMMMd", locale=locale)


def last_week_text(figures: dict[str, Any]) -> tuple[str, str]:
    """Title and Markdown body for the figures of one period."""
    period, totals = figures["period"], figures["deliveries"]
    punctual, turnaround = figures["punctuality"], figures["approval_turnaround"]
    title = _("Weekly summary %(days)s", days=day_range(period["first_day"], period["last_day"]))
    rate = "–" if punctual["on_time_rate"] is None else f"{punctual['on_time_rate']:.0%}"
    median = turnaround["median_seconds"]
    lines = [
        _("- Posts published: %(count)s", count=sum(figures["posts_published"].values())),
        _("- Deliveries sent: %(sent)s of %(total)s (failed %(failed)s, unconfirmed %(unconfirmed)s, "
          "expired %(expired)s)", **totals),
        _("- On time: %(rate)s", rate=rate),
        _("- Reviews decided: %(count)s, median wait %(wait)s", count=turnaround["decisions"],
          wait="–" if median is None else _("%(minutes)s min", minutes=round(median / 60))),
        _("- Guest sessions: %(booked)s booked, %(held)s held, %(canceled)s canceled",
          **figures["guest_sessions"]),
        _("- Feed items: %(arrived)s arrived, %(shared)s shared", **figures["feed_items"]),
    ]
    return title, "\n".join(lines)


def draft(session: Session, config: dict[str, Any], user: User, channel_id: int, *,
          now: datetime) -> Post:
    """An announcement with last week's figures, submitted for review, due in an hour."""
    period = week_of(now, workspace.timezone(session, config)).previous()
    figures = figures_for(session, config, now=now, start=period.first, end=period.last)
    title, body = last_week_text(figures)
    post = post_service.create_post(
        session, user,
        PostInput(kind="announcement", title=title, body=body,
                  scheduled_at=now + timedelta(hours=1), channel_ids=[channel_id]),
        now=now)
    return post_service.submit(session, user, post, now=now)
