"""Operators' pages for guest slots: create one or a series, close and reopen, decide on bookings."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from planner.errors import PlannerError, ValidationFailed
from planner.models import Role, SlotState
from planner.services import booking_posts, bookings, slots
from planner.services import channels as channel_service
from planner.services.slots import SlotInput
from planner.web.booking_notices import notify
from planner.web.context import db, now, role_required, saved, workspace_timezone
from planner.web.forms import ActionForm
from planner.web.slot_forms import DecisionForm, MoveForm, SlotForm
from planner.web.timefmt import parse_local, show

bp = Blueprint("slots", __name__)
# The form asks for hours where the service counts minutes.
FORM_NAMES = {"min_notice_minutes": "min_notice_hours"}


@bp.route("/slots", methods=["GET", "POST"])
@role_required(Role.operator)
def index():  # type: ignore[no-untyped-def]
    form = SlotForm()
    choices = [SelectChoice(c.id, c.name) for c in channel_service.list_channels(db())]
    form.channel_ids.choices = form.announcement_channel_ids.choices = choices
    if request.method == "GET":
        form.timezone.data = workspace_timezone().key
    if form.validate_on_submit():
        created = saved(lambda: slots.create_slots(db(), current_user, _input(form), now=now()), form,
                        field_of=lambda name: FORM_NAMES.get(name, name))
        if created is not None:
            flash(_("%(count)s slot(s) created.", count=len(created)), "success")
            return redirect(url_for("slots.index"))
    upcoming = slots.list_slots(db(), since=now())
    return render_template(
        "slots/index.html", form=form, slots=upcoming, action_form=ActionForm(),
        active=slots.active_bookings(db(), [s.id for s in upcoming]),
    ), 422 if form.is_submitted() else 200


def _input(form: SlotForm) -> SlotInput:
    tz_name = (form.timezone.data or "").strip()
    try:  # the time is read in the slot's own timezone; a wrong name is reported by the service
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        tz = workspace_timezone()
    try:
        starts_at = parse_local(form.starts_at.data or "", tz)
    except ValueError:
        raise ValidationFailed(_("the slots were not created"),
                               {"starts_at": _("give a date and time")}) from None
    extra = [line.strip() for line in (form.extra.data or "").splitlines() if line.strip()]
    return SlotInput(
        title=form.title.data or "", starts_at=starts_at,
        duration_minutes=form.duration_minutes.data or 0, timezone=tz_name,
        channel_ids=form.channel_ids.data or [],
        announcement_channel_ids=form.announcement_channel_ids.data or [],
        min_notice_minutes=(form.min_notice_hours.data or 0) * 60,
        max_days_ahead=form.max_days_ahead.data or 60,
        requires_confirmation=form.requires_confirmation.data, rrule=form.rrule.data or "",
        questions={"bio": form.bio.data, "contact": form.contact.data, "extra": [
            {"name": f"q{number}", "label": label.rstrip("*").strip()[:100],
             "required": label.endswith("*")} for number, label in enumerate(extra, 1)]})


@bp.post("/slots/<int:slot_id>/<action>")
@role_required(Role.operator)
def change_state(slot_id: int, action: str):  # type: ignore[no-untyped-def]
    if action not in ("close", "reopen"):
        abort(404)
    if not ActionForm().validate_on_submit():
        return redirect(url_for("slots.index"))
    to = SlotState.closed if action == "close" else SlotState.open
    slots.set_state(db(), current_user, slots.get_slot(db(), slot_id), to, now=now())
    db().commit()
    flash(_("The slot is closed.") if action == "close" else _("The slot is open again."), "success")
    return redirect(url_for("slots.index"))


@bp.get("/slots/<int:slot_id>")
@role_required(Role.operator)
def slot_detail(slot_id: int):  # type: ignore[no-untyped-def]
    slot = slots.get_slot(db(), slot_id)
    return render_template("slots/slot.html", slot=slot, bookings=bookings.bookings_of(db(), slot_id),
                           action_form=ActionForm())


@bp.get("/bookings/<int:booking_id>")
@role_required(Role.operator)
def booking_detail(booking_id: int):  # type: ignore[no-untyped-def]
    booking = bookings.get_booking(db(), booking_id)
    move_form = MoveForm()
    tz = workspace_timezone()
    move_form.slot_id.choices = [SelectChoice(s.id, f"{s.title} · {show(s.starts_at, tz)}")
                                 for s in slots.open_slots(db(), now=now()) if s.id != booking.slot_id]
    return render_template("slots/booking.html", booking=booking, decision_form=DecisionForm(),
                           move_form=move_form, posts=booking_posts.linked_posts(db(), booking))


@bp.post("/bookings/<int:booking_id>/<action>")
@role_required(Role.operator)
def decide(booking_id: int, action: str):  # type: ignore[no-untyped-def]
    if action not in ("confirm", "decline", "move"):
        abort(404)
    form = MoveForm() if action == "move" else DecisionForm()
    if not form.validate_on_submit():
        flash(_("The form's security token is missing or expired: reload the page and try again."),
              "danger")
        return redirect(url_for("slots.booking_detail", booking_id=booking_id))
    booking = bookings.get_booking(db(), booking_id)
    try:
        if action == "move":
            bookings.move(db(), current_user, booking, form.slot_id.data, now=now())
        else:
            getattr(bookings, action)(db(), current_user, booking, message=form.message.data or "",
                                      now=now())
    except PlannerError as error:
        db().rollback()
        flash(error.message + "".join(f" {text}" for text in error.fields.values()), "danger")
    else:
        db().commit()
        notify(booking, "reschedule" if action == "move" else action)
        flash({"confirm": _("Confirmed: the session and its announcements are in the review queue."),
               "decline": _("Declined."), "move": _("Moved.")}[action], "success")
    return redirect(url_for("slots.booking_detail", booking_id=booking_id))
