"""Shared set-up for the guest booking tests: an operator, a channel and a weekly series of slots."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from planner.models import User
from planner.services import bookings, slots
from planner.services.bookings import BookingInput
from planner.services.slots import SlotInput

SHANGHAI = ZoneInfo("Asia/Shanghai")
# START in conftest is Monday 2026-11-23 08:00 in Shanghai; the first slot is that Thursday evening.
THURSDAY = datetime(2026, 11, 26, 20, 0, tzinfo=SHANGHAI)


def weekly_slots(st, operator: User, channel_ids: list[int], *, count: int = 4,
                 **overrides) -> list[int]:  # type: ignore[no-untyped-def]
    data = SlotInput(title="Guests airborne", starts_at=THURSDAY, duration_minutes=60,
                     timezone="Asia/Shanghai", channel_ids=channel_ids,
                     rrule=f"FREQ=WEEKLY;BYDAY=TH;COUNT={count}")
    for name, value in overrides.items():
        setattr(data, name, value)
    with st.sessions() as session, session.begin():
        created = slots.create_slots(session, session.merge(operator), data, now=st.clock.now())
        return [slot.id for slot in created]


def speaker(number: int = 1, **overrides) -> BookingInput:  # type: ignore[no-untyped-def]
    data = {"name": f"Speaker {number}", "email": f"speaker{number}@example.org",
            "topic": "From script to service", "abstract": "How a one-off script grew up."}
    return BookingInput(**(data | overrides))


def book(st, slot_id: int, number: int = 1, key: str | None = None, *, same_client: bool = False,
         **overrides):  # type: ignore[no-untyped-def]
    """Book through the service; returns (booking id, token, created)."""
    with st.sessions() as session, session.begin():
        booked = bookings.book(session, slot_id, speaker(number, **overrides), now=st.clock.now(),
                               idempotency_key=key, same_client=same_client)
        return booked.booking.id, booked.token if booked.show_link else None, booked.created
