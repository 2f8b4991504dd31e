"""Recurring series: the list, the form (new, or edit all future occurrences), and the actions."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from planner.errors import PlannerError, ValidationFailed
from planner.models import Role, Series
from planner.services import channels as channel_service
from planner.services import recurrence
from planner.services import series as series_service
from planner.services.series import SeriesInput
from planner.services.series_checks import validate
from planner.state import state
from planner.web.context import (
    allow_self_approval,
    checker,
    db,
    now,
    role_required,
    saved,
    viewer_timezone,
    workspace_timezone,
)
from planner.web.forms import ActionForm, CommentForm
from planner.web.series_forms import SeriesForm, pool_from_text, pool_to_text
from planner.web.timefmt import parse_local, show, to_input

bp = Blueprint("series", __name__)
UPCOMING_DAYS = 28
HELD_LISTED = 10  # occurrences left in review named one by one after approving a series


@bp.get("/series")
@login_required
def index():  # type: ignore[no-untyped-def]
    return render_template("series/index.html", all_series=series_service.list_series(db()))


@bp.route("/series/new", methods=["GET", "POST"])
@login_required
def new():  # type: ignore[no-untyped-def]
    form = _form()
    if request.method == "GET":
        form.timezone.data = workspace_timezone().key
    if form.validate_on_submit():
        series = saved(lambda: series_service.create_series(
            db(), current_user, _input(form), now=now(), config=state().config, checker=checker()),
            form)
        if series is not None:
            flash(_("Series saved; its occurrences are waiting for review."), "success")
            return redirect(url_for("series.detail", series_id=series.id))
    return render_template("series/edit.html", form=form, series=None), _status(form)


@bp.get("/series/<int:series_id>")
@login_required
def detail(series_id: int):  # type: ignore[no-untyped-def]
    series = series_service.get_series(db(), series_id)
    start = now()
    upcoming = series_service.occurrences(db(), series, start, start + timedelta(days=UPCOMING_DAYS),
                                          config=state().config)
    return render_template(
        "series/detail.html", series=series, upcoming=upcoming[:20],
        can_edit=series_service.can_edit(current_user, series),
        can_approve=series_service.can_approve(current_user, series, allow_self_approval()),
        can_delete=series_service.can_delete(current_user, series),
        action_form=ActionForm(), comment_form=CommentForm(),
    )


@bp.route("/series/<int:series_id>/edit", methods=["GET", "POST"])
@login_required
def edit(series_id: int):  # type: ignore[no-untyped-def]
    series = series_service.get_series(db(), series_id, for_change=request.method == "POST")
    if not series_service.can_edit(current_user, series):
        flash(_("This series cannot be edited now."), "warning")
        return redirect(url_for("series.detail", series_id=series.id))
    form = _form(series)
    if form.validate_on_submit():
        update = saved(lambda: series_service.update_series(
            db(), current_user, series, _input(form), now=now(), config=state().config,
            checker=checker()), form)
        if update is not None:
            flash(_("Saved: the future occurrences follow the series, except those edited on "
                    "their own."), "success")
            if update.returned_to_review:
                flash(_("%(count)s approved occurrence(s) went back to review: the posting rules do "
                        "not allow them at their new time.", count=len(update.returned_to_review)),
                      "warning")
            return redirect(url_for("series.detail", series_id=series.id))
    return render_template("series/edit.html", form=form, series=series), _status(form)


@bp.post("/series/<int:series_id>/approve")
@role_required(Role.operator)
def approve(series_id: int):  # type: ignore[no-untyped-def]
    """Approve the whole series; each occurrence its checks hold back is listed with the reasons.
    From the review queue (``back=queue``) it returns there."""
    form = CommentForm()
    back = (url_for("review.queue") if request.form.get("back") == "queue"
            else url_for("series.detail", series_id=series_id))
    series = series_service.get_series(db(), series_id, for_change=True)
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "danger")
        return redirect(back)
    try:
        result = series_service.approve_series(
            db(), current_user, series, now=now(), allow_self_approval=allow_self_approval(),
            checker=checker(), comment=form.comment.data or "")
    except PlannerError as error:
        db().rollback()
        flash(_("The series was not approved: %(why)s", why=error.message), "danger")
        return redirect(back)
    db().commit()
    if not result.held:
        flash(_("Series approved: its occurrences will be published."), "success")
        return redirect(back)
    flash(_("Series approved: %(approved)d occurrence(s) approved; %(held)d stay in review because "
            "they do not pass their pre-publish checks.", approved=len(result.approved),
            held=len(result.held)), "warning")
    tz = viewer_timezone()
    for held in result.held[:HELD_LISTED]:
        flash(_("“%(title)s” (%(when)s) stays in review: %(why)s", title=held.title,
                when=show(held.scheduled_at, tz),
                why="; ".join(f.message for f in held.findings)), "warning")
    if len(result.held) > HELD_LISTED:
        flash(_("… and %(count)d more: they wait in the review queue with their findings.",
                count=len(result.held) - HELD_LISTED), "warning")
    return redirect(back)


@bp.post("/series/<int:series_id>/end")
@login_required
def end(series_id: int):  # type: ignore[no-untyped-def]
    return _act(series_id, ActionForm(), lambda series: series_service.end_series(
        db(), current_user, series, now=now()), _("Series ended; its occurrences ahead are canceled."))


@bp.post("/series/<int:series_id>/delete")
@login_required
def delete(series_id: int):  # type: ignore[no-untyped-def]
    return _act(series_id, ActionForm(), lambda series: series_service.delete_series(
        db(), current_user, series, now=now()), _("Series deleted; its occurrences ahead are canceled."),
        then=url_for("series.index"))


def _act(series_id, form, change, done, then=None):  # type: ignore[no-untyped-def]
    series = series_service.get_series(db(), series_id, for_change=True)
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "danger")
        return redirect(url_for("series.detail", series_id=series_id))
    try:
        change(series)
    except ValidationFailed as error:
        db().rollback()
        flash(f"{error.message}: " + "; ".join(map(str, error.fields.values())), "danger")
        return redirect(url_for("series.detail", series_id=series_id))
    db().commit()
    flash(done, "success")
    return redirect(then or url_for("series.detail", series_id=series_id))


def _form(series: Series | None = None) -> SeriesForm:
    # A submitted form is read from what was sent alone (see posts._post_form).
    form = SeriesForm(obj=series if request.method == "GET" else None)
    form.channel_ids.choices = [SelectChoice(c.id, c.name)
                                for c in channel_service.list_channels(db())]
    if series is not None and request.method == "GET":
        form.starts_at.data = to_input(series.starts_at, ZoneInfo(series.timezone))
        form.pool.data = pool_to_text(series.pool)
        form.channel_ids.data = [c.id for c in series.channels]
        form.tags.data = ", ".join(series.tags)
    return form


def _input(form: SeriesForm) -> SeriesInput:
    """The form's series; every field's problem is reported at once, the service's checks too."""
    errors: dict[str, str] = {}
    starts_at = None
    try:
        tz = recurrence.zone(form.timezone.data or "")
    except recurrence.RuleError as error:
        errors["timezone"] = error.message
    else:
        try:
            starts_at = parse_local(form.starts_at.data or "", tz)
        except ValueError:
            errors["starts_at"] = _("Not a date and time: %(value)s", value=form.starts_at.data)
    data = SeriesInput(
        kind=form.kind.data or "", title=form.title.data or "", rrule=form.rrule.data or "",
        timezone=form.timezone.data or "", starts_at=starts_at,
        template=form.template.data or "", pool=pool_from_text(form.pool.data or ""),
        channel_ids=list(form.channel_ids.data or []),
        tags=[t.strip().lower() for t in (form.tags.data or "").split(",") if t.strip()],
        expires_after_minutes=form.expires_after_minutes.data,
    )
    if errors:
        try:
            validate(db(), data, now=now(), community="")
        except ValidationFailed as error:
            errors = {**error.fields, **errors}
        raise ValidationFailed(_("the series was not saved"), errors)
    return data


def _status(form: SeriesForm) -> int:
    return 422 if form.is_submitted() else 200
