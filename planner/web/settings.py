"""Workspace settings (admins)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from planner.models import Role
from planner.services import channels as channel_service
from planner.services import workspace
from planner.state import state
from planner.web.context import allow_self_approval, db, now, role_required
from planner.web.forms import SettingsForm

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
    })
    form.alerts_channel_id.choices = [SelectChoice(0, _("none"))] + [
        SelectChoice(c.id, c.name) for c in channel_service.list_channels(db())]
    if form.validate_on_submit():
        try:
            ZoneInfo(form.timezone.data or "")
        except (ZoneInfoNotFoundError, ValueError):
            form.timezone.errors.append(_("Unknown timezone; use a name such as Asia/Shanghai."))
        else:
            for key in workspace.KEYS:
                value = getattr(form, key).data
                if key == "alerts_channel_id":
                    value = value or None
                workspace.put(db(), key, value, actor=current_user, now=now())
            db().commit()
            flash(_("Settings saved."), "success")
            return redirect(url_for("settings.index"))
    status = 422 if form.is_submitted() else 200
    return render_template("settings/index.html", form=form), status
