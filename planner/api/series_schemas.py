"""Request and response shapes of the series endpoints."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field

from planner.api.review_schemas import FindingOut
from planner.api.schemas import Id, Patch, Strict, Tag, Text
from planner.models import PostKind, PostStatus, SeriesStatus

RRULE_HELP = ("one RFC 5545 RRULE (FREQ YEARLY to HOURLY; end it with COUNT or UNTIL), evaluated "
              "in `timezone` from the local wall-clock time of `starts_at`, "
              "e.g. FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR")
TEXT_HELP = ("Markdown; variables {date}, {weekday}, {time}, {community} and, in the template, "
             "{text} (the pool entry); {{ and }} are literal braces; any other {…} is refused")


class SeriesIn(Strict):
    kind: PostKind
    title: Text = Field(min_length=1, max_length=200, description=TEXT_HELP)
    rrule: Text = Field(min_length=1, max_length=500, description=RRULE_HELP)
    timezone: Text = Field(min_length=1, max_length=64, description="an IANA name: Asia/Shanghai")
    starts_at: AwareDatetime
    template: Text = Field(default="{text}", min_length=1, max_length=20_000, description=TEXT_HELP)
    pool: list[Text] = Field(default_factory=list, max_length=100,
                            description="texts taken in turn: occurrence i uses pool[i mod n]")
    channel_ids: list[Id] = Field(default_factory=list, max_length=500)
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    expires_after_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)


class SeriesPatch(Patch):
    """Edits the series and every future occurrence not edited on its own."""

    nullable = frozenset({"expires_after_minutes"})  # null: occurrences never expire

    kind: PostKind | None = None
    title: Text | None = Field(default=None, min_length=1, max_length=200)
    rrule: Text | None = Field(default=None, min_length=1, max_length=500)
    timezone: Text | None = Field(default=None, min_length=1, max_length=64)
    starts_at: AwareDatetime | None = None
    template: Text | None = Field(default=None, min_length=1, max_length=20_000)
    pool: list[Text] | None = Field(default=None, max_length=100)
    channel_ids: list[Id] | None = Field(default=None, max_length=500)
    tags: list[Tag] | None = Field(default=None, max_length=50)
    expires_after_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)


class SeriesOut(BaseModel):
    id: int
    kind: PostKind
    title: str
    rrule: str
    timezone: str
    starts_at: AwareDatetime
    template: str
    pool: list[str]
    channel_ids: list[int]
    tags: list[str]
    expires_after_minutes: int | None
    status: SeriesStatus
    approved: bool = Field(description="occurrences arrive approved")
    approved_at: AwareDatetime | None
    approved_by_id: int | None
    ended_at: AwareDatetime | None
    next_occurrence_at: AwareDatetime | None = Field(
        description="the first occurrence not yet materialised as a post")
    author_id: int
    created_at: AwareDatetime
    updated_at: AwareDatetime


class HeldOut(BaseModel):
    """An occurrence that did not pass its pre-publish checks: it stays in review."""

    post_id: int
    title: str
    scheduled_at: AwareDatetime
    findings: list[FindingOut] = Field(description="each blocking finding: which target and why")


class SeriesApprovalOut(SeriesOut):
    approved_post_ids: list[int] = Field(description="occurrences approved now")
    held: list[HeldOut] = Field(description="occurrences left in review by the checks")


class SeriesList(BaseModel):
    items: list[SeriesOut]


class OccurrenceQuery(Strict):
    start: AwareDatetime
    end: AwareDatetime


class OccurrenceOut(BaseModel):
    index: int = Field(description="position in the rule; picks the pool text")
    occurrence_at: AwareDatetime
    scheduled_at: AwareDatetime
    title: str
    body: str
    post_id: int | None = Field(description="the post it was materialised as, if it was")
    post_status: PostStatus | None
    detached: bool = Field(description="its post was edited on its own")


class OccurrenceList(BaseModel):
    items: list[OccurrenceOut]
