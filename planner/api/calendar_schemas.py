"""Request and response shapes of the calendar endpoints."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field

from planner.api.schemas import Id, Strict, Tag
from planner.models import PostKind, PostStatus


class TrayFilters(Strict):
    kind: PostKind | None = None
    channel_id: Id | None = Field(default=None, description="posts to this channel, by name or by "
                                   "a tag the channel carries")
    tag: Tag | None = None
    author_id: Id | None = None


class CalendarQuery(TrayFilters):
    status: PostStatus | None = None
    start: AwareDatetime
    end: AwareDatetime = Field(description="after start, at most 100 days later")


class MoveIn(Strict):
    scheduled_at: AwareDatetime


class AuthorOut(BaseModel):
    id: int
    name: str


class CalendarItem(BaseModel):
    id: int
    kind: PostKind
    title: str
    status: PostStatus
    scheduled_at: AwareDatetime | None = Field(description="in the caller's timezone")
    expires_at: AwareDatetime | None
    author: AuthorOut
    channel_ids: list[int]
    tags: list[str]
    can_move: bool = Field(description="whether the caller may give the post another time")


class CalendarOccurrence(BaseModel):
    """A recurring series' occurrence that is not a post yet (it becomes one within the horizon)."""

    series_id: int
    kind: PostKind
    title: str
    scheduled_at: AwareDatetime = Field(description="in the caller's timezone")
    channel_ids: list[int]
    tags: list[str]


class CalendarOut(BaseModel):
    timezone: str = Field(description="the caller's timezone, in which the times are given")
    items: list[CalendarItem]
    occurrences: list[CalendarOccurrence] = Field(
        description="occurrences of recurring series in the range not written as posts yet")
    truncated: bool = Field(description="true when the range held more posts than were returned")


class UnscheduledOut(BaseModel):
    timezone: str
    items: list[CalendarItem]
