"""The public booking API: no login, rate limited, and nothing about other bookings or speakers."""

from __future__ import annotations

from collections.abc import Callable

from flask import jsonify, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from planner.api.booking_schemas import (
    PublicActionIn,
    PublicBookingIn,
    PublicBookingOut,
    PublicSlotList,
    PublicSlotOut,
    SlotTakenOut,
)
from planner.api.bp import bp
from planner.api.spec import endpoint
from planner.errors import BadRequest, ValidationFailed
from planner.models import Booking
from planner.services import booking_mail, bookings, slots
from planner.services.bookings import AlreadyBooked, BookingInput, SlotTaken
from planner.services.rate_limits import RateLimited
from planner.services.slots import SlotView
from planner.state import state
from planner.web.booking_notices import notify
from planner.web.context import db, now
from planner.web.public_limits import enforce


def limited(name: str, *, write: bool) -> Callable[[], None]:
    """The endpoint's rate limit, counted before its body is read or checked."""
    return lambda: enforce(name, write=write)


def public_slot_out(slot: SlotView) -> dict:  # type: ignore[type-arg]
    questions = slot.questions
    return PublicSlotOut(
        id=slot.id, title=slot.title, starts_at=slot.starts_at, ends_at=slot.ends_at,
        duration_minutes=slot.duration_minutes, bio=questions.get("bio", "optional"),
        contact=questions.get("contact", "optional"),
        extra_questions=[{"name": q["name"], "label": q["label"], "required": bool(q.get("required"))}
                         for q in questions.get("extra", [])],
    ).model_dump(mode="json")


def public_booking_out(booking: Booking, token: str) -> dict:  # type: ignore[type-arg]
    return PublicBookingOut(
        status=booking.status, name=booking.name, email=booking.email, topic=booking.topic,
        abstract=booking.abstract, operator_message=booking.operator_message,
        slot=public_slot_out(SlotView.of(booking.slot)),
        manage_url=url_for("booking.manage", token=token, _external=True),
        ics_url=url_for("booking.calendar_file", token=token, _external=True),
    ).model_dump(mode="json")


@bp.errorhandler(RateLimited)
def _rate_limited(error: RateLimited):  # type: ignore[no-untyped-def]
    from planner.api import error_response

    response, status = error_response(error.code, error.message, error.status)
    response.headers["Retry-After"] = str(error.retry_after)
    return response, status


@bp.errorhandler(SlotTaken)
def _slot_taken(error: SlotTaken):  # type: ignore[no-untyped-def]
    db().rollback()
    body = SlotTakenOut(error={"code": error.code, "message": error.message, "fields": {}},
                        open_slots=[public_slot_out(s) for s in error.open_slots])
    return jsonify(body.model_dump(mode="json")), 409


@endpoint(bp, "/public/slots", "GET", summary="Open slots a guest speaker may book (no login)",
          role=None, response=PublicSlotList, before=limited("public.slots", write=False))
def public_slots(user: None):  # type: ignore[no-untyped-def]
    found = slots.open_slots(db(), now=now())
    return jsonify({"items": [public_slot_out(SlotView.of(s)) for s in found]})


@endpoint(bp, "/public/slots/<int:slot_id>/bookings", "POST",
          summary="Book a slot (no login); 409 when it was just taken", role=None,
          body=PublicBookingIn, response=PublicBookingOut, status=201,
          before=limited("public.book", write=True))
def public_book(user: None, slot_id: int, body: PublicBookingIn):  # type: ignore[no-untyped-def]
    if body.website.strip():
        raise BadRequest(_("This looks automated, so nothing was booked."))
    data = BookingInput(**body.model_dump(exclude={"website", "idempotency_key"}))
    key = request.headers.get("Idempotency-Key") or body.idempotency_key
    booked = bookings.book(db(), slot_id, data, now=now(), idempotency_key=key,
                           mail_link=booking_mail.configured(state().config),
                           locale=str(get_locale()))
    db().commit()
    booking, token = booked.booking, booked.token
    if not booked.show_link:  # a repeat: the link goes only to the speaker's mailbox
        raise AlreadyBooked(mailed=token is not None and notify(booking, "link", token=token))
    assert token is not None
    if booked.created:
        notify(booking, "booked", token=token)
    return jsonify(public_booking_out(booking, token)), 201 if booked.created else 200


@endpoint(bp, "/public/bookings/<token>", "GET", summary="A booking, by its private token",
          role=None, response=PublicBookingOut, before=limited("public.booking", write=False))
def public_booking(user: None, token: str):  # type: ignore[no-untyped-def]
    return jsonify(public_booking_out(bookings.by_token(db(), token), token))


@endpoint(bp, "/public/bookings/<token>", "POST",
          summary="Cancel, reschedule or edit a booking by its private token", role=None,
          body=PublicActionIn, response=PublicBookingOut,
          before=limited("public.booking", write=True))
def public_booking_action(user: None, token: str, body: PublicActionIn):  # type: ignore[no-untyped-def]
    booking = bookings.by_token(db(), token)
    if body.action == "cancel":
        bookings.cancel(db(), booking, now=now())
    elif body.action == "reschedule":
        if body.slot_id is None:
            raise ValidationFailed(_("the request has invalid fields"),
                                   {"slot_id": _("choose the slot to move to")})
        bookings.reschedule(db(), booking, body.slot_id, now=now())
    else:
        bookings.edit(db(), booking, topic=body.topic if body.topic is not None else booking.topic,
                      abstract=body.abstract if body.abstract is not None else booking.abstract,
                      now=now())
    db().commit()
    notify(booking, body.action)
    return jsonify(public_booking_out(booking, token))
