"""The calendar: posts in a range, the tray of drafts without a time, and moving a post."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import jsonify

from planner.api.bp import bp
from planner.api.calendar_schemas import (
    CalendarItem,
    CalendarOut,
    CalendarQuery,
    MoveIn,
    TrayFilters,
    UnscheduledOut,
)
from planner.api.spec import endpoint
from planner.models import Post, User
from planner.services import account, schedule
from planner.services import calendar as calendar_service
from planner.services import posts as post_service
from planner.services.calendar import CalendarFilter, Entry
from planner.state import state
from planner.web.context import checker, db


@endpoint(bp, "/calendar", "GET", summary="Posts scheduled in a range, in the caller's timezone",
          query=CalendarQuery, response=CalendarOut)
def calendar(user: User, query: CalendarQuery):  # type: ignore[no-untyped-def]
    filters = CalendarFilter(**query.model_dump(exclude={"start", "end"}))
    found, truncated = calendar_service.in_range(db(), query.start, query.end, filters)
    tz = _timezone(user)
    ahead = calendar_service.series_ahead(db(), query.start, query.end, filters)
    return jsonify({"timezone": tz.key, "truncated": truncated,
                    "items": [item_out(entry, user, tz) for entry in found],
                    "occurrences": [occurrence_out(item, tz) for item in ahead]})


@endpoint(bp, "/calendar/unscheduled", "GET", summary="Drafts without a publish time",
          query=TrayFilters, response=UnscheduledOut)
def unscheduled(user: User, query: TrayFilters):  # type: ignore[no-untyped-def]
    tz = _timezone(user)
    found = calendar_service.unscheduled(db(), CalendarFilter(**query.model_dump()))
    return jsonify({"timezone": tz.key, "items": [item_out(entry, user, tz) for entry in found]})


@endpoint(bp, "/posts/<int:post_id>/move", "POST", summary="Give a post another publish time "
          "(an approved post stays approved; a time that breaks the posting rules is a 422)",
          body=MoveIn, response=CalendarItem)
def move_post(user: User, post_id: int, body: MoveIn):  # type: ignore[no-untyped-def]
    post = post_service.get_post(db(), post_id, for_change=True)
    schedule.reschedule_post(db(), user, post, body.scheduled_at, now=state().clock.now(),
                             checker=checker())
    db().commit()
    return jsonify(item_out(_entry_of(post), user, _timezone(user)))


def item_out(entry: Entry, user: User, tz: ZoneInfo) -> dict:
    """One CalendarItem, built as a plain dict: validating a month of them through pydantic would
    cost more than the query that found them (the schema still documents the shape)."""
    return {
        "id": entry.id, "kind": entry.kind, "title": entry.title, "status": entry.status,
        "scheduled_at": _iso(entry.scheduled_at, tz), "expires_at": _iso(entry.expires_at, tz),
        "author": {"id": entry.author_id, "name": entry.author_name},
        "channel_ids": entry.channel_ids, "tags": entry.tags,
        "can_move": schedule.can_move(user, entry.status, entry.author_id),
    }


def occurrence_out(item: dict, tz: ZoneInfo) -> dict:
    return {"series_id": item["series_id"], "kind": item["kind"], "title": item["title"],
            "scheduled_at": _iso(item["scheduled_at"], tz), "channel_ids": item["channel_ids"],
            "tags": item["tags"]}


def _iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    """ISO 8601 in ``tz`` with its offset, UTC written as Z (as pydantic writes it elsewhere)."""
    if value is None:
        return None
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _entry_of(post: Post) -> Entry:
    return Entry(id=post.id, kind=post.kind, title=post.title, status=post.status,
                 scheduled_at=post.scheduled_at, expires_at=post.expires_at,
                 author_id=post.author_id, author_name=post.author.name,
                 channel_ids=sorted(c.id for c in post.channels), tags=post.tags)


def _timezone(user: User) -> ZoneInfo:
    return account.timezone_of(db(), user, state().config["TIMEZONE"])
