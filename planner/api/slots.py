"""Operators' endpoints for slots and bookings."""

from __future__ import annotations

from flask import jsonify

from planner.api.booking_schemas import (
    BookingList,
    BookingOut,
    MessageIn,
    MoveIn,
    SlotIn,
    SlotList,
    SlotOut,
    SlotQuery,
)
from planner.api.bp import bp
from planner.api.spec import endpoint
from planner.models import Booking, Role, Slot, SlotState, User
from planner.services import bookings, slots
from planner.services.slots import SlotInput
from planner.web.booking_notices import notify
from planner.web.context import db, now, workspace_timezone


def slot_out(slot: Slot, active: Booking | None) -> dict:  # type: ignore[type-arg]
    summary = None if active is None else {"id": active.id, "status": active.status,
                                           "name": active.name, "topic": active.topic}
    return SlotOut(
        id=slot.id, title=slot.title, starts_at=slot.starts_at, ends_at=slot.ends_at,
        duration_minutes=slot.duration_minutes, timezone=slot.timezone,
        channel_ids=slot.channel_ids, announcement_channel_ids=slot.announcement_channel_ids,
        min_notice_minutes=slot.min_notice_minutes, max_days_ahead=slot.max_days_ahead,
        requires_confirmation=slot.requires_confirmation, questions=slot.questions,
        state=slot.state, series_key=slot.series_key, booking=summary,
    ).model_dump(mode="json")


def booking_out(booking: Booking) -> dict:  # type: ignore[type-arg]
    return BookingOut.model_validate(booking, from_attributes=True).model_dump(mode="json")


@endpoint(bp, "/slots", "GET", summary="Slots from a time on, with their active booking",
          role=Role.operator, query=SlotQuery, response=SlotList)
def list_slots(user: User, query: SlotQuery):  # type: ignore[no-untyped-def]
    found = slots.list_slots(db(), since=query.since or now())
    active = slots.active_bookings(db(), [s.id for s in found])
    return jsonify({"items": [slot_out(s, active.get(s.id)) for s in found]})


@endpoint(bp, "/slots", "POST", summary="Create one slot, or a series with rrule and timezone",
          role=Role.operator, body=SlotIn, response=SlotList, status=201)
def create_slots(user: User, body: SlotIn):  # type: ignore[no-untyped-def]
    data = SlotInput(**body.model_dump(exclude={"timezone"}),
                     timezone=body.timezone or workspace_timezone().key)
    created = slots.create_slots(db(), user, data, now=now())
    db().commit()
    return jsonify({"items": [slot_out(s, None) for s in created]}), 201


@endpoint(bp, "/slots/<int:slot_id>", "GET", summary="One slot", role=Role.operator,
          response=SlotOut)
def get_slot(user: User, slot_id: int):  # type: ignore[no-untyped-def]
    slot = slots.get_slot(db(), slot_id)
    return jsonify(slot_out(slot, slots.active_bookings(db(), [slot.id]).get(slot.id)))


def _slot_state(name: str, to: SlotState, summary: str) -> None:
    def view(user: User, slot_id: int):  # type: ignore[no-untyped-def]
        slot = slots.set_state(db(), user, slots.get_slot(db(), slot_id), to, now=now())
        db().commit()
        return jsonify(slot_out(slot, slots.active_bookings(db(), [slot.id]).get(slot.id)))

    view.__name__ = f"{name}_slot"
    endpoint(bp, f"/slots/<int:slot_id>/{name}", "POST", summary=summary, role=Role.operator,
             response=SlotOut)(view)


_slot_state("close", SlotState.closed, "Close a slot to new bookings")
_slot_state("reopen", SlotState.open, "Open a closed slot again")


@endpoint(bp, "/slots/<int:slot_id>/bookings", "GET", summary="Every booking of a slot",
          role=Role.operator, response=BookingList)
def slot_bookings(user: User, slot_id: int):  # type: ignore[no-untyped-def]
    slots.get_slot(db(), slot_id)
    return jsonify({"items": [booking_out(b) for b in bookings.bookings_of(db(), slot_id)]})


@endpoint(bp, "/bookings/<int:booking_id>", "GET", summary="One booking", role=Role.operator,
          response=BookingOut)
def get_booking(user: User, booking_id: int):  # type: ignore[no-untyped-def]
    return jsonify(booking_out(bookings.get_booking(db(), booking_id)))


def _decision(name: str, summary: str) -> None:
    def view(user: User, booking_id: int, body: MessageIn):  # type: ignore[no-untyped-def]
        booking = bookings.get_booking(db(), booking_id)
        getattr(bookings, name)(db(), user, booking, message=body.message, now=now())
        db().commit()
        notify(booking, name)
        return jsonify(booking_out(booking))

    view.__name__ = f"{name}_booking"
    endpoint(bp, f"/bookings/<int:booking_id>/{name}", "POST", summary=summary,
             role=Role.operator, body=MessageIn, response=BookingOut)(view)


_decision("confirm", "Confirm a booking: its session and announcements go to the review queue")
_decision("decline", "Decline a booking, with a message to the speaker")


@endpoint(bp, "/bookings/<int:booking_id>/move", "POST", summary="Move a booking to another open slot",
          role=Role.operator, body=MoveIn, response=BookingOut)
def move_booking(user: User, booking_id: int, body: MoveIn):  # type: ignore[no-untyped-def]
    booking = bookings.move(db(), user, bookings.get_booking(db(), booking_id), body.slot_id,
                            now=now())
    db().commit()
    notify(booking, "reschedule")
    return jsonify(booking_out(booking))


