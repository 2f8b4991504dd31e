"""Request and response shapes of the slot and booking endpoints, public and operator."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from planner.api.schemas import ErrorBody, Id, Strict, Text
from planner.models import BookingStatus, SlotState

Short = Field(default="", max_length=10_000)


class QuestionIn(Strict):
    name: Text = Field(pattern=r"^[a-z][a-z0-9_]{0,29}$")
    label: Text = Field(min_length=1, max_length=100)
    required: bool = False


class QuestionsIn(Strict):
    bio: Literal["required", "optional", "off"] = "optional"
    contact: Literal["required", "optional", "off"] = "optional"
    extra: list[QuestionIn] = Field(default_factory=list, max_length=10)


class SlotIn(Strict):
    title: Text = Field(min_length=1, max_length=200)
    starts_at: AwareDatetime = Field(description="the first slot; a series keeps its local time")
    duration_minutes: int = Field(ge=5, le=600)
    timezone: Text | None = Field(default=None, max_length=64,
                                 description="defaults to the workspace timezone")
    channel_ids: list[Id] = Field(min_length=1, max_length=500,
                                   description="where the guest session is posted")
    announcement_channel_ids: list[Id] = Field(default_factory=list, max_length=500,
                                                description="defaults to channel_ids")
    min_notice_minutes: int = Field(default=24 * 60, ge=0, le=60 * 24 * 60)
    max_days_ahead: int = Field(default=60, ge=1, le=365)
    requires_confirmation: bool = True
    questions: QuestionsIn = Field(default_factory=QuestionsIn)
    rrule: Text = Field(default="", max_length=500,
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
    locale: str = Field(description="the language the speaker booked in; their mail speaks it")
    session_post_id: int | None
    announcement_post_ids: list[int]
    notice_post_ids: list[int] = Field(
        description="notices drafted when the session moved or was canceled after an announcement")
    created_at: AwareDatetime
    updated_at: AwareDatetime


class BookingList(BaseModel):
    items: list[BookingOut]


class MessageIn(Strict):
    message: Text = Field(default="", max_length=2000, description="shown to the speaker")


class MoveIn(Strict):
    slot_id: Id


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
    name: Text = Field(max_length=10_000)
    email: Text = Field(max_length=10_000)
    topic: Text = Field(max_length=10_000)
    abstract: Text = Field(max_length=10_000)
    bio: Text = Short
    contact: Text = Short
    answers: dict[Text, Text] = Field(default_factory=dict, max_length=20)
    website: Text = Field(default="", max_length=10_000,
                         description="leave empty: a field only robots fill in")
    idempotency_key: Text | None = Field(
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
    slot_id: Id | None = Field(default=None, description="for reschedule")
    topic: Text | None = Field(default=None, max_length=10_000, description="for edit")
    abstract: Text | None = Field(default=None, max_length=10_000, description="for edit")


# ---- guest session templates ------------------------------------------------------------------

class TemplateText(Strict):
    title: str = Field(max_length=10_000)
    body: str = Field(max_length=10_000)


class AnnouncementTemplate(TemplateText):
    minutes_before: int = Field(description="0 is the session's start; whole days count on the slot's "
                                            "wall clock (1440 is the same time the day before)")


class GuestSessionTemplates(Strict):
    """Placeholders: {speaker}, {topic}, {time}, {abstract}, {community}; the moved notice also {old_time}."""

    session: TemplateText
    announcements: list[AnnouncementTemplate] = Field(max_length=50)
    cancellation: TemplateText = Field(description="drafted when a session is canceled after an "
                                                   "announcement went out")
    moved: TemplateText = Field(description="drafted when a session moves after an announcement went out")


class SlotTakenOut(BaseModel):
    error: ErrorBody
    open_slots: list[PublicSlotOut]
