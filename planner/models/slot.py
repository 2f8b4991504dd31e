"""Slots: an hour an operator opens for a guest speaker, alone or one of a series made from an RRULE."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from planner.models.base import Base


class SlotState(StrEnum):
    open = "open"
    closed = "closed"


def default_questions() -> dict[str, Any]:
    """Topic and abstract are always asked; bio and contact are ``required``, ``optional`` or ``off``;
    ``extra`` holds more questions: ``[{"name": "level", "label": "Audience level", "required": false}]``."""
    return {"bio": "optional", "contact": "optional", "extra": []}


class Slot(Base):
    __tablename__ = "slots"
    __table_args__ = (Index("ix_slots_open", "state", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    duration_minutes: Mapped[int]
    # The zone the operator created it in: its announcements speak that zone's wall-clock time.
    timezone: Mapped[str] = mapped_column(String(64))
    channel_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    announcement_channel_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    min_notice_minutes: Mapped[int] = mapped_column(default=24 * 60)
    max_days_ahead: Mapped[int] = mapped_column(default=60)
    requires_confirmation: Mapped[bool] = mapped_column(default=True)
    questions: Mapped[dict[str, Any]] = mapped_column(default=default_questions)
    state: Mapped[str] = mapped_column(String(16), default=SlotState.open)
    series_key: Mapped[str | None] = mapped_column(String(64), index=True)
    # Posts a booking sets in motion are written in this operator's name when nobody confirms by hand.
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    def bookable(self, now: datetime) -> bool:
        """Open, and inside its booking window: not too soon, not too far ahead."""
        return (self.state == SlotState.open
                and self.starts_at >= now + timedelta(minutes=self.min_notice_minutes)
                and self.starts_at <= now + timedelta(days=self.max_days_ahead))
