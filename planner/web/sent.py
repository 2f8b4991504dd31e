"""Deliveries (what the dispatcher did, and fixing what failed) and the outbox's "sent" files."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from channels.outbox import read_outbox
from planner.models import DeliveryStatus, Role
from planner.services import deliveries
from planner.state import state
from planner.web.context import db, now, role_required
from planner.web.forms import ActionForm, ResolveForm

bp = Blueprint("sent", __name__)


@bp.get("/deliveries")
@role_required(Role.operator)
def deliveries_page():  # type: ignore[no-untyped-def]
    status = request.args.get("status") or None
    if status not in (None, *DeliveryStatus.__members__):
        status = None
    return render_template(
        "sent/deliveries.html",
        rows=deliveries.list_deliveries(db(), status=status),
        status=status,
        statuses=list(DeliveryStatus),
        action_form=ActionForm(),
        resolve_form=ResolveForm(),
    )


@bp.post("/deliveries/<int:delivery_id>/retry")
@role_required(Role.operator)
def retry(delivery_id: int):  # type: ignore[no-untyped-def]
    if ActionForm().validate_on_submit():
        deliveries.retry(db(), current_user, deliveries.get_delivery(db(), delivery_id), now=now())
        db().commit()
        flash(_("Queued to be sent again."), "success")
    return redirect(url_for("sent.deliveries_page"))


@bp.post("/deliveries/<int:delivery_id>/resolve")
@role_required(Role.operator)
def resolve(delivery_id: int):  # type: ignore[no-untyped-def]
    form = ResolveForm()
    if form.validate_on_submit():
        delivery = deliveries.get_delivery(db(), delivery_id)
        deliveries.resolve(db(), current_user, delivery, form.outcome.data or "failed", now=now())
        db().commit()
        flash(_("Resolved."), "success")
    return redirect(url_for("sent.deliveries_page"))


@bp.post("/deliveries/<int:delivery_id>/cancel")
@role_required(Role.operator)
def cancel(delivery_id: int):  # type: ignore[no-untyped-def]
    if ActionForm().validate_on_submit():
        delivery = deliveries.get_delivery(db(), delivery_id)
        deliveries.cancel_delivery(db(), current_user, delivery, now=now())
        db().commit()
        flash(_("Canceled: it will not be sent."), "success")
    return redirect(url_for("sent.deliveries_page"))


@bp.get("/outbox")
@role_required(Role.editor)
def outbox():  # type: ignore[no-untyped-def]
    return render_template("sent/outbox.html", entries=read_outbox(state().instance_path))
