"""The public booking pages: open slots in the visitor's timezone, the form, and the manage link."""

from __future__ import annotations

import secrets
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.dates import format_date
from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from planner.errors import PlannerError, ValidationFailed
from planner.models import Slot
from planner.services import booking_mail, bookings, slots
from planner.services.bookings import AlreadyBooked, BookingInput, SlotTaken
from planner.services.rate_limits import RateLimited
from planner.state import state
from planner.web.booking_notices import BOOKING_LABELS, LANGUAGES, calendar_bytes, notify
from planner.web.context import db, now, workspace_timezone
from planner.web.public_limits import enforce

bp = Blueprint("booking", __name__, url_prefix="/book")
FIELDS = ("name", "email", "topic", "abstract", "bio", "contact")


@cache
def zones() -> list[str]:
    """Every timezone name, for the visitor's picker (read once, on the first visit)."""
    return sorted(available_timezones() - {"localtime", "Factory"})


bp.add_app_template_global(BOOKING_LABELS, "BOOKING_LABELS")
BOOKED_KEYS = "booked_keys"  # form keys this browser booked with: its repeats may see the link again


@bp.before_request
def _visitor_language() -> None:
    """``?lang=zh`` or ``?lang=en`` switches the public pages' language for this browser."""
    chosen = LANGUAGES.get(request.args.get("lang", ""))
    if chosen is not None:
        session["visitor_locale"] = chosen


@bp.app_template_filter("in_zone")
def in_zone(value: datetime, tz: ZoneInfo, part: str = "full") -> str:
    """A date in the visitor's words (``full``) or a 24-hour time (``time``), in ``tz``."""
    local = value.astimezone(tz)
    if part == "time":
        return local.strftime("%H:%M")
    return format_date(local.date(), "full", locale=str(get_locale() or "en"))


def visitor_timezone() -> ZoneInfo:
    """The ``tz`` the browser detected (or the visitor chose); the workspace's otherwise."""
    try:
        return ZoneInfo(request.args.get("tz") or request.form.get("tz") or "")
    except (ZoneInfoNotFoundError, ValueError):
        return workspace_timezone()


@bp.errorhandler(RateLimited)
def _rate_limited(error: RateLimited):  # type: ignore[no-untyped-def]
    page = render_template("error.html", code=429, message=error.message)
    return page, 429, {"Retry-After": str(error.retry_after)}


@bp.get("")
def index():  # type: ignore[no-untyped-def]
    enforce("book.index", write=False)
    tz = visitor_timezone()
    return render_template("book/index.html", slots=slots.open_slots(db(), now=now()), tz=tz,
                           zones=zones())


@bp.route("/<int:slot_id>", methods=["GET", "POST"])
def form(slot_id: int):  # type: ignore[no-untyped-def]
    enforce("book.form", write=request.method == "POST")
    tz = visitor_timezone()
    slot = db().get(Slot, slot_id)
    if slot is None or not slot.bookable(now()):
        return _taken_page(tz, _("This slot is no longer open for booking — please pick another"))
    values = {name: request.form.get(name, "") for name in FIELDS}
    errors: dict[str, str] = {}
    key = request.form.get("idempotency_key") or secrets.token_urlsafe(16)
    if request.method == "POST":  # the CSRF token was checked before the view ran
        if request.form.get("website", "").strip():
            errors["form"] = _("This looks automated, so nothing was booked.")
        else:
            answers = {q["name"]: request.form.get(f"extra_{q['name']}", "")
                       for q in slot.questions.get("extra", [])}
            try:
                booked = bookings.book(
                    db(), slot_id, BookingInput(**values, answers=answers), now=now(),
                    idempotency_key=key, same_client=key in session.get(BOOKED_KEYS, []),
                    mail_link=booking_mail.configured(state().config), locale=str(get_locale()))
            except ValidationFailed as error:
                db().rollback()
                errors = error.fields
            except SlotTaken as error:
                db().rollback()
                return _taken_page(tz, error.message)
            else:
                db().commit()
                return _booked_page(booked, key, tz)
    status = 422 if errors else 200
    return render_template("book/form.html", slot=slot, tz=tz, values=values, errors=errors,
                           key=key, answers=request.form), status


def _booked_page(booked: bookings.Booked, key: str, tz: ZoneInfo):  # type: ignore[no-untyped-def]
    booking, token = booked.booking, booked.token
    if not booked.show_link:  # a repeat from elsewhere: the link goes only to the speaker's mailbox
        mailed = token is not None and notify(booking, "link", token=token)
        return _taken_page(tz, AlreadyBooked(mailed=mailed).message)
    if booked.created:
        session[BOOKED_KEYS] = [*session.get(BOOKED_KEYS, [])[-9:], key]
    mailed = notify(booking, "booked", token=token) if booked.created else False
    return render_template("book/done.html", booking=booking, token=token, tz=tz, mailed=mailed,
                           repeated=not booked.created)


def _taken_page(tz: ZoneInfo, message: str):  # type: ignore[no-untyped-def]
    db().rollback()
    return render_template("book/index.html", slots=slots.open_slots(db(), now=now()), tz=tz,
                           zones=zones(), taken=message), 409


@bp.get("/manage/<token>")
def manage(token: str):  # type: ignore[no-untyped-def]
    enforce("book.manage", write=False)
    booking = bookings.by_token(db(), token)
    others = [s for s in slots.open_slots(db(), now=now()) if s.id != booking.slot_id]
    return render_template("book/manage.html", booking=booking, token=token, tz=visitor_timezone(),
                           others=others, zones=zones())


@bp.post("/manage/<token>")
def act(token: str):  # type: ignore[no-untyped-def]
    enforce("book.manage", write=True)
    booking = bookings.by_token(db(), token)
    action = request.form.get("action", "")
    try:
        if action == "edit":
            bookings.edit(db(), booking, topic=request.form.get("topic", ""),
                          abstract=request.form.get("abstract", ""), now=now())
            message = _("Your topic and abstract are saved.")
        elif action == "reschedule":
            slot_id = request.form.get("slot_id", "")
            if not slot_id.isdigit():
                raise ValidationFailed(_("choose the slot to move to"))
            bookings.reschedule(db(), booking, int(slot_id), now=now())
            message = _("Your session is moved. Download the calendar file again.")
        elif action == "cancel":
            bookings.cancel(db(), booking, now=now())
            message = _("Your booking is canceled.")
        else:
            raise ValidationFailed(_("choose what to do"))
    except PlannerError as error:
        db().rollback()
        flash(error.message + "".join(f" {text}" for text in error.fields.values()), "danger")
    else:
        db().commit()
        notify(booking, action)
        flash(message, "success")
    return redirect(url_for("booking.manage", token=token, tz=request.form.get("tz") or None))


@bp.get("/manage/<token>/booking.ics")
def calendar_file(token: str):  # type: ignore[no-untyped-def]
    enforce("book.manage", write=False)
    booking = bookings.by_token(db(), token)
    return Response(calendar_bytes(booking), mimetype="text/calendar",
                    headers={"Content-Disposition": 'attachment; filename="guest-session.ics"'})
