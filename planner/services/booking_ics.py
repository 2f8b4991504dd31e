"""The speaker's calendar file: one stable UID per booking and a SEQUENCE that grows with every change,
so an update or a cancellation replaces the event in the speaker's calendar instead of adding one."""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar, Event, vCalAddress, vText

from planner.models import Booking, BookingStatus

WITHDRAWN = (BookingStatus.canceled, BookingStatus.declined)
EVENT_STATUS = {BookingStatus.pending: "TENTATIVE", BookingStatus.confirmed: "CONFIRMED",
                BookingStatus.canceled: "CANCELLED", BookingStatus.declined: "CANCELLED"}


def calendar_file(booking: Booking, *, host: str, organizer: str, now: datetime) -> bytes:
    slot = booking.slot
    calendar = Calendar()
    calendar.add("prodid", "-//planner//guest sessions//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if booking.status in WITHDRAWN else "REQUEST")
    event = Event()
    event.add("uid", f"booking-{booking.id}@{host}")
    event.add("sequence", booking.ics_sequence)
    event.add("dtstamp", now)
    event.add("dtstart", slot.starts_at)
    event.add("dtend", slot.ends_at)
    event.add("summary", f"{slot.title}: {booking.topic}")
    event.add("description", booking.abstract)
    event.add("status", EVENT_STATUS[BookingStatus(booking.status)])
    event.add("organizer", vCalAddress(f"mailto:{organizer}"))
    attendee = vCalAddress(f"mailto:{booking.email}")
    attendee.params["cn"] = vText(booking.name)
    event.add("attendee", attendee)
    calendar.add_component(event)
    return calendar.to_ical()
