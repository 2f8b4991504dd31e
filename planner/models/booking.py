"""Bookings: a guest speaker's claim on a slot, managed through a private link.

At most one active (pending or confirmed) booking per slot: the database enforces it with a partial
unique index, so two people pressing "Book" at the same instant cannot both win.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.models.base import Base
from planner.models.slot import Slot


class BookingStatus(StrEnum):
    pending = "pending"
    confirmed = "confirmed"
    declined = "declined"
    canceled = "canceled"


ACTIVE = (BookingStatus.pending, BookingStatus.confirmed)
_ACTIVE_SQL = text("status IN ('pending', 'confirmed')")


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        Index("uq_bookings_active_slot", "slot_id", unique=True,
              sqlite_where=_ACTIVE_SQL, postgresql_where=_ACTIVE_SQL),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    topic: Mapped[str] = mapped_column(String(200))
    abstract: Mapped[str] = mapped_column(Text)
    bio: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=BookingStatus.pending)
    # The language the speaker booked in: every mail about the booking speaks it.
    locale: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    # The calendar file's SEQUENCE: bumped on every change so the speaker's calendar replaces it.
    ics_sequence: Mapped[int] = mapped_column(default=0)
    # From the booking form (or an Idempotency-Key header): a second identical submit is the same booking.
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    operator_message: Mapped[str] = mapped_column(Text, default="")
    session_post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    announcement_post_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Notices drafted when the session moved or was canceled after an announcement went out.
    notice_post_ids: Mapped[list[int]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    canceled_at: Mapped[datetime | None]

    slot: Mapped[Slot] = relationship(lazy="joined")

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class BookingToken(Base):
    """One private manage link of a booking, as the SHA-256 of its token (the token is never stored).

    A booking keeps every link it gave out, so a repeated submit adds a link instead of breaking the
    one already shown or mailed.
    """

    __tablename__ = "booking_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
