"""What `GET /api/v1/stats` accepts and answers."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, ValidationInfo, field_validator

from planner.api.schemas import Strict, Tag
from planner.models import PostKind

MAX_DAYS = 366


class StatsQuery(Strict):
    """Whole days in the workspace's timezone; without dates, the current month."""

    start: date | None = Field(default=None, description="first day, YYYY-MM-DD")
    end: date | None = Field(default=None, validate_default=True,
                             description="last day (inclusive), YYYY-MM-DD")
    channel_id: int | None = None
    tag: Tag | None = None
    kind: PostKind | None = None

    @field_validator("end")
    @classmethod
    def _days(cls, end: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start")
        if (start is None) != (end is None) and "start" in info.data:
            raise ValueError("give both start and end, or neither")
        if start and end:
            if end < start:
                raise ValueError("the last day is before the first")
            if (end - start).days + 1 > MAX_DAYS:
                raise ValueError(f"a report covers at most {MAX_DAYS} days")
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
    punctuality: dict[str, Any]
    rhythm: list[dict[str, Any]]
    approval_turnaround: dict[str, Any]
    guest_sessions: dict[str, int] = Field(
        description="bookings of slots starting in the period: booked, confirmed, held, declined, canceled")
    feed_items: dict[str, int] = Field(
        description="feed items that arrived in the period, and those triaged, shared and dismissed in it")
