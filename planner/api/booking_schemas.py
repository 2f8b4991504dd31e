"""Request and response shapes of the slot and booking endpoints, public and operator."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from planner.api.schemas import ErrorBody, Strict
from planner.models import BookingStatus, SlotState

Short = Field(default="", max_length=10_000)


class QuestionIn(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,29}$")
    label: str = Field(min_length=1, max_length=100)
    required: bool = False


class QuestionsIn(Strict):
    bio: Literal["required", "optional", "off"] = "optional"
    contact: Literal["required", "optional", "off"] = "optional"
    extra: list[QuestionIn] = Field(default_factory=list, max_length=10)


class SlotIn(Strict):
    title: str = Field(min_length=1, max_length=200)
    starts_at: AwareDatetime = Field(description="the first slot; a series keeps its local time")
    duration_minutes: int = Field(ge=5, le=600)
    timezone: str | None = Field(default=None, max_length=64,
                                 description="defaults to the workspace timezone")
    channel_ids: list[int] = Field(min_length=1, max_length=500,
                                   description="where the guest session is posted")
    announcement_channel_ids: list[int] = Field(default_factory=list, max_length=500,
                                                description="defaults to channel_ids")
    min_notice_minutes: int = Field(default=24 * 60, ge=0, le=60 * 24 * 60)
    max_days_ahead: int = Field(default=60, ge=1, le=365)
    requires_confirmation: bool = True
    questions: QuestionsIn = Field(default_factory=QuestionsIn)
    rrule: str = Field(default="", max_length=500,
                       description="RFC 5545 RRULE with COUNT or UNTIL, e.g. FREQ=WEEKLY;COUNT=8")


class BookingSummary(BaseModel):
    id: int
    status: BookingStatus
    name: str
    topic: str


class SlotOut(BaseModel):
    id: int
    title: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    duration_minutes: int
    timezone: str
    channel_ids: list[int]
    announcement_channel_ids: list[int]
    min_notice_minutes: int
    max_days_ahead: int
    requires_confirmation: bool
    questions: QuestionsIn
    state: SlotState
    series_key: str | None
    booking: BookingSummary | None = Field(description="the active booking, if any")


class SlotList(BaseModel):
    items: list[SlotOut]


class SlotQuery(Strict):
    since: AwareDatetime | None = Field(default=None, description="defaults to now")


class BookingOut(BaseModel):
    id: int
    slot_id: int
    status: BookingStatus
    name: str
    email: str
    topic: str
    abstract: str
    bio: str
    contact: str
    answers: dict[str, str]
    operator_message: str
    session_post_id: int | None
    announcement_post_ids: list[int]
    created_at: AwareDatetime
    updated_at: AwareDatetime


class BookingList(BaseModel):
    items: list[BookingOut]


class MessageIn(Strict):
    message: str = Field(default="", max_length=2000, description="shown to the speaker")


class MoveIn(Strict):
    slot_id: int


# ---- public --------------------------------------------------------------------------------------

class PublicQuestion(BaseModel):
    name: str
    label: str
    required: bool


class PublicSlotOut(BaseModel):
    id: int
    title: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    duration_minutes: int
    bio: Literal["required", "optional", "off"]
    contact: Literal["required", "optional", "off"]
    extra_questions: list[PublicQuestion]


class PublicSlotList(BaseModel):
    items: list[PublicSlotOut]


class PublicBookingIn(Strict):
    name: str = Field(max_length=10_000)
    email: str = Field(max_length=10_000)
    topic: str = Field(max_length=10_000)
    abstract: str = Field(max_length=10_000)
    bio: str = Short
    contact: str = Short
    answers: dict[str, str] = Field(default_factory=dict, max_length=20)
    website: str = Field(default="", max_length=10_000,
                         description="leave empty: a field only robots fill in")
    idempotency_key: str | None = Field(
        default=None, max_length=100,
        description="the same key (or Idempotency-Key header) twice returns the same booking")


class PublicBookingOut(BaseModel):
    status: BookingStatus
    name: str
    email: str
    topic: str
    abstract: str
    operator_message: str
    slot: PublicSlotOut
    manage_url: str = Field(description="the private link to see, change or cancel the booking")
    ics_url: str = Field(description="the calendar file; it replaces itself on every change")


class PublicActionIn(Strict):
    action: Literal["cancel", "reschedule", "edit"]
    slot_id: int | None = Field(default=None, description="for reschedule")
    topic: str | None = Field(default=None, max_length=10_000, description="for edit")
    abstract: str | None = Field(default=None, max_length=10_000, description="for edit")


class SlotTakenOut(BaseModel):
    error: ErrorBody
    open_slots: list[PublicSlotOut]
