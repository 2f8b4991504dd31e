"""The channel pages: where posts can go, how each channel is doing, and setting channels up.

A channel's kind is chosen when it is created and fixed afterwards; its settings form is built from
the kind's settings schema. Secret settings are never sent back to the browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import Field

from planner.channel_api import (
    ChannelContext,
    ChannelKind,
    PermanentError,
    RetryableError,
    Setting,
    ThrottledError,
)
from planner.errors import Conflict, ValidationFailed
from planner.http import HttpClient
from planner.models import Channel, Role
from planner.services import channels as channel_service
from planner.services import workspace
from planner.services.channel_trials import TryResult, try_channel
from planner.state import state
from planner.web.context import db, now, role_required, saved
from planner.web.forms import (
    CLEAR_PREFIX,
    SETTING_PREFIX,
    ActionForm,
    ChannelForm,
    channel_form_class,
)

bp = Blueprint("channels", __name__)


@bp.get("/channels")
@role_required(Role.operator)
def index():  # type: ignore[no-untyped-def]
    registry = state().registry
    health = channel_service.channel_health(db())
    rows = [
        (channel, registry.get(channel.kind) if channel.kind in registry else None,
         channel_service.rate_per_minute(channel, registry), health.get(channel.id))
        for channel in channel_service.list_channels(db())
    ]
    return render_template("channels/index.html", rows=rows, kinds=list(registry),
                           action_form=ActionForm())


@bp.get("/channels/new")
@role_required(Role.operator)
def choose_kind():  # type: ignore[no-untyped-def]
    return render_template("channels/new.html", kinds=list(state().registry))


@bp.route("/channels/new/<kind_name>", methods=["GET", "POST"])
@role_required(Role.operator)
def new(kind_name: str):  # type: ignore[no-untyped-def]
    registry = state().registry
    if kind_name not in registry:
        abort(404)
    kind = registry.get(kind_name)
    form = channel_form_class(kind)()
    if form.validate_on_submit():
        values = _values(form, kind)
        values.pop("clear_secrets", None)  # nothing is saved yet
        channel = saved(lambda: channel_service.create_channel(
            db(), registry, state().secret_box, kind=kind_name, actor=current_user, now=now(), **values),
            form, refused=(ValidationFailed, Conflict), field_of=_field_of)
        if channel is not None:
            flash(_("Channel “%(name)s” saved. Send it a test message to see it work.",
                    name=channel.name), "success")
            return redirect(url_for("channels.edit", channel_id=channel.id))
    status = 422 if form.is_submitted() else 200
    return render_template("channels/edit.html", form=form, kind=kind, channel=None,
                           settings=_setting_rows(form, kind, []), health=None), status


@bp.route("/channels/<int:channel_id>/edit", methods=["GET", "POST"])
@role_required(Role.operator)
def edit(channel_id: int):  # type: ignore[no-untyped-def]
    st = state()
    channel = channel_service.get_channel(db(), channel_id)
    kind = st.registry.get(channel.kind) if channel.kind in st.registry else None
    shown = channel if request.method == "GET" else None  # a submitted form: what was sent alone
    form = channel_form_class(kind)(obj=shown) if kind else ChannelForm(obj=shown)
    if request.method == "GET":
        form.tags.data = ", ".join(channel.tags)
        for name, value in channel.settings.items():
            field = form._fields.get(SETTING_PREFIX + name)
            if field is not None and field.type != "PasswordField":
                field.data = value
    if kind is None and form.is_submitted():
        form.form_errors.append(_("Channel kind %(kind)s is not installed: its settings cannot be "
                                  "changed until it is.", kind=channel.kind))
    elif kind is not None and form.validate_on_submit():
        changed = saved(lambda: channel_service.update_channel(
            db(), st.registry, st.secret_box, channel, actor=current_user, now=now(),
            **_values(form, kind)), form, refused=(ValidationFailed, Conflict), field_of=_field_of)
        if changed is not None:
            flash(_("Saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for("channels.edit", channel_id=channel.id))
    secrets_kept = channel_service.saved_secrets(channel, st.secret_box)
    status = 422 if form.is_submitted() else 200
    return render_template(
        "channels/edit.html", form=form, kind=kind, channel=channel,
        settings=_setting_rows(form, kind, secrets_kept) if kind else [],
        health=channel_service.channel_health(db(), [channel.id]).get(channel.id),
        action_form=ActionForm(),
    ), status


@bp.post("/channels/<int:channel_id>/test")
@role_required(Role.operator)
def test(channel_id: int) -> Response:
    """The "Check credentials" and "Send test message" buttons."""
    channel = channel_service.get_channel(db(), channel_id)
    action = "check" if request.form.get("action") == "check" else "message"
    if not ActionForm().validate_on_submit():
        flash(_("The form expired; please try again."), "danger")
    else:
        try:
            result = run_try(channel, action, current_user)
        except Conflict as error:
            flash(str(error.message), "danger")
        else:
            category = ("danger" if result.error else
                        "warning" if not result.checked else "success")
            flash(f"{channel.name}: {try_summary(result)}", category)
    return _back(channel)


@bp.post("/channels/<int:channel_id>/enable", endpoint="enable", defaults={"enabled": True})
@bp.post("/channels/<int:channel_id>/disable", endpoint="disable", defaults={"enabled": False})
@role_required(Role.operator)
def switch(channel_id: int, enabled: bool) -> Response:
    st = state()
    channel = channel_service.get_channel(db(), channel_id)
    if ActionForm().validate_on_submit():
        channel_service.update_channel(db(), st.registry, st.secret_box, channel,
                                       enabled=enabled, actor=current_user, now=now())
        db().commit()
        flash(_("%(name)s is enabled: deliveries go out again.", name=channel.name)
              if channel.enabled else
              _("%(name)s is disabled: its deliveries wait until it is enabled again (or expire).",
                name=channel.name), "success")
    return _back(channel)


@bp.post("/channels/<int:channel_id>/delete")
@role_required(Role.operator)
def delete(channel_id: int) -> Response:
    channel = channel_service.get_channel(db(), channel_id)
    if not ActionForm().validate_on_submit():
        return _back(channel)
    try:
        channel_service.delete_channel(db(), channel, actor=current_user, now=now())
    except Conflict as error:
        db().rollback()
        flash(str(error.message), "danger")
        return _back(channel)
    name = channel.name
    db().commit()
    flash(_("Channel “%(name)s” deleted.", name=name), "success")
    return redirect(url_for("channels.index"))


def run_try(channel: Channel, action: str, user: Any) -> TryResult:
    """Check the credentials or post a test message, audit it and commit (API and pages)."""
    st = state()
    context = ChannelContext(
        instance_path=st.instance_path,
        community_name=workspace.community_name(db(), st.config))
    http = HttpClient()
    try:
        result = try_channel(db(), st.registry, st.secret_box, channel, action,
                             context=context, http=http, actor=user, now=now())
    finally:
        http.close()
    db().commit()
    return result


def try_summary(result: TryResult) -> str:
    """One sentence for the operator, with the platform's own words when it refused."""
    error = result.error
    if isinstance(error, ThrottledError):
        if error.retry_after:
            return _("The platform asked to slow down (try again in %(s)d s): %(message)s",
                     s=round(error.retry_after), message=error.message)
        return _("The platform asked to slow down: %(message)s", message=error.message)
    if isinstance(error, RetryableError):
        return _("The platform could not be reached or had a problem; try again later: "
                 "%(message)s", message=error.message)
    if isinstance(error, PermanentError):
        return _("The platform refused: %(message)s", message=error.message)
    if error is not None:
        return _("No clear answer from the platform (look in the channel before trying again): "
                 "%(message)s", message=error.message)
    if result.action == "check":
        if not result.checked:
            return _("This kind of channel cannot check its credentials without posting: "
                     "send a test message instead.")
        return _("The credentials were accepted.")
    if result.receipt is not None and result.receipt.remote_url:
        return _("Test message sent: %(url)s", url=result.receipt.remote_url)
    return _("Test message sent: look for it in the channel.")


def _values(form: ChannelForm, kind: type[ChannelKind]) -> dict[str, Any]:
    settings = {s.name: form[SETTING_PREFIX + s.name].data for s in kind.settings_schema}
    clear = [s.name for s in kind.settings_schema
             if CLEAR_PREFIX + s.name in form and form[CLEAR_PREFIX + s.name].data]
    return {
        "name": form.name.data or "",
        "settings": settings,
        "tags": [t.strip().lower() for t in (form.tags.data or "").split(",") if t.strip()],
        "enabled": bool(form.enabled.data),
        "rate_per_minute": form.rate_per_minute.data,
        **({"clear_secrets": clear} if clear else {}),
    }


@dataclass(frozen=True)
class SettingRow:
    setting: Setting
    field: Field
    remove: Field | None  # "remove the saved value", for optional secrets
    saved: bool


def _setting_rows(form: ChannelForm, kind: type[ChannelKind] | None,
                  saved: list[str]) -> list[SettingRow]:
    """What the template needs per setting, in the kind's order."""
    return [SettingRow(
        setting=s,
        field=form[SETTING_PREFIX + s.name],
        remove=form[CLEAR_PREFIX + s.name] if CLEAR_PREFIX + s.name in form else None,
        saved=s.name in saved,
    ) for s in (kind.settings_schema if kind else ())]


def _back(channel: Channel) -> Response:
    if request.form.get("back") == "index":
        return redirect(url_for("channels.index"))
    return redirect(url_for("channels.edit", channel_id=channel.id))


def _field_of(name: str) -> str:
    """A setting the service names ``settings.<name>`` is the form's ``setting_<name>`` field."""
    return SETTING_PREFIX + name.removeprefix("settings.") if name.startswith("settings.") else name
