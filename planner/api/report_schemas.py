"""What `GET /api/v1/stats` accepts and answers."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from pydantic import AwareDatetime, BaseModel, Field, ValidationInfo, field_validator

from planner.api.schemas import Id, Strict, Tag
from planner.models import PostKind

MAX_DAYS = 366


class StatsQuery(Strict):
    """Whole days in the workspace's timezone; without dates, the current month."""

    start: date | None = Field(default=None, description="first day, YYYY-MM-DD")
    end: date | None = Field(default=None, validate_default=True,
                             description="last day (inclusive), YYYY-MM-DD")
    channel_id: Id | None = None
    tag: Tag | None = None
    kind: PostKind | None = None

    @field_validator("end")
    @classmethod
    def _days(cls, end: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start")
        if (start is None) != (end is None) and "start" in info.data:
            raise ValueError(_("give both start and end, or neither"))
        if start and end:
            if end < start:
                raise ValueError(_("the last day is before the first"))
            if (end - start).days + 1 > MAX_DAYS:
                raise ValueError(_("a report covers at most %(days)s days", days=MAX_DAYS))
        return end


class PeriodOut(BaseModel):
    first_day: date
    last_day: date
    timezone: str
    start: AwareDatetime
    end: AwareDatetime


class StatsOut(BaseModel):
    period: PeriodOut
    scope: dict[str, Any]
    posts_published: dict[str, int]
    deliveries: dict[str, int]
    deliveries_by_channel: list[dict[str, Any]]
    punctuality: dict[str, Any] = Field(
        description="deliveries due in the period whose outcome is known (sent, failed, expired, "
                    "unconfirmed, or still waiting past the tolerance; canceled ones do not count): "
                    "due, sent, on_time, late, not_sent, on_time_rate = on_time / due, and the "
                    "nearest-rank lateness percentiles of the sent ones")
    lateness: list[dict[str, Any]] = Field(
        description="the same due deliveries per lateness band: on_time, late_15m, late_1h, late_1d "
                    "(each up to up_to_seconds late), later, not_sent")
    rhythm: list[dict[str, Any]] = Field(
        description="per channel: days with sends, sends, busiest local day, days over the daily limit, "
                    "and too_close: sends less than min_gap_minutes after the channel's previous one")
    approval_turnaround: dict[str, Any]
    guest_sessions: dict[str, int] = Field(
        description="bookings of slots starting in the period: booked, confirmed, held, declined, canceled; "
                    "a channel or tag keeps the slots whose session goes there, a kind other than "
                    "guest_session leaves none")
    feed_items: dict[str, int] = Field(
        description="feed items that arrived in the period, and those triaged, shared and dismissed in it; "
                    "a channel or tag keeps the feeds whose default channels include it, a kind does "
                    "not narrow them")
