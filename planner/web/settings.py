"""Workspace settings (admins)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from planner.errors import ValidationFailed
from planner.models import Role
from planner.services import booking_templates, workspace
from planner.services import channels as channel_service
from planner.state import state
from planner.web.context import allow_self_approval, db, now, role_required
from planner.web.forms import PostingRulesForm, SettingsForm
from planner.web.slot_forms import GuestTemplatesForm, attach_template_errors, templates_from

bp = Blueprint("settings", __name__)


@bp.route("/settings", methods=["GET", "POST"])
@role_required(Role.admin)
def index():  # type: ignore[no-untyped-def]
    config = state().config
    form = SettingsForm(data={
        "community_name": workspace.get(db(), "community_name", config["COMMUNITY_NAME"]),
        "timezone": workspace.get(db(), "timezone", config["TIMEZONE"]),
        "allow_self_approval": allow_self_approval(),
        "alerts_channel_id": workspace.get(db(), "alerts_channel_id", None) or 0,
        "on_time_tolerance_minutes": workspace.get(db(), "on_time_tolerance_minutes",
                                                   config["ON_TIME_TOLERANCE_MINUTES"]),
    })
    form.alerts_channel_id.choices = [SelectChoice(0, _("none"))] + [
        SelectChoice(c.id, c.name) for c in channel_service.list_channels(db())]
    if form.validate_on_submit():
        try:
            ZoneInfo(form.timezone.data or "")
        except (ZoneInfoNotFoundError, ValueError):
            form.timezone.errors.append(_("Unknown timezone; use a name such as Asia/Shanghai."))
        else:
            for key in workspace.GENERAL_KEYS:
                value = getattr(form, key).data
                if key == "alerts_channel_id":
                    value = value or None
                if key == "on_time_tolerance_minutes" and value is None:
                    continue  # left out of the form: keep what is stored
                workspace.put(db(), key, value, actor=current_user, now=now())
            db().commit()
            flash(_("Settings saved."), "success")
            return redirect(url_for("settings.index"))
    status = 422 if form.is_submitted() else 200
    return render_template("settings/index.html", form=form), status


@bp.route("/settings/rules", methods=["GET", "POST"])
@role_required(Role.operator)
def rules():  # type: ignore[no-untyped-def]
    """The community's posting rules, which the pre-publish checks enforce (operators keep them)."""
    current = workspace.posting_rules(db())
    form = PostingRulesForm(data={
        "banned_words": "\n".join(current.banned_words),
        "max_posts_per_channel_per_day": current.max_posts_per_channel_per_day,
        "min_minutes_between_posts": current.min_minutes_between_posts,
    })
    if form.validate_on_submit():
        wanted = workspace.PostingRules(
            banned_words=tuple(workspace.banned_words_from_text(form.banned_words.data or "")),
            max_posts_per_channel_per_day=form.max_posts_per_channel_per_day.data or 0,
            min_minutes_between_posts=form.min_minutes_between_posts.data or 0)
        try:
            workspace.put_posting_rules(db(), wanted, actor=current_user, now=now())
        except ValidationFailed as error:
            db().rollback()
            for name, message in error.fields.items():
                getattr(form, name).errors.append(message)
        else:
            db().commit()
            flash(_("Posting rules saved."), "success")
            return redirect(url_for("settings.rules"))
    status = 422 if form.is_submitted() else 200
    return render_template("settings/rules.html", form=form), status


@bp.route("/settings/guest-sessions", methods=["GET", "POST"])
@role_required(Role.operator)
def guest_sessions():  # type: ignore[no-untyped-def]
    """The texts a confirmed guest booking drafts (operators keep them, as they run the slots)."""
    form = GuestTemplatesForm(data=booking_templates.current(db()))
    if request.method == "GET":
        form.announcements.append_entry()  # a blank row adds an announcement
    if form.validate_on_submit():
        wanted, rows = templates_from(form)
        try:
            booking_templates.put(db(), wanted, actor=current_user, now=now())
        except ValidationFailed as error:
            db().rollback()
            attach_template_errors(form, rows, error.fields)
        else:
            db().commit()
            flash(_("Guest session templates saved."), "success")
            return redirect(url_for("settings.guest_sessions"))
    status = 422 if form.is_submitted() else 200
    return render_template("settings/guest_sessions.html", form=form), status
