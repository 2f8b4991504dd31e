"""The channels page: where posts can go, with their kinds, tags and limits."""

from __future__ import annotations

from flask import Blueprint, render_template

from planner.models import Role
from planner.services import channels as channel_service
from planner.state import state
from planner.web.context import db, role_required

bp = Blueprint("channels", __name__)


@bp.get("/channels")
@role_required(Role.operator)
def index():  # type: ignore[no-untyped-def]
    registry = state().registry
    rows = [
        (channel, registry.get(channel.kind) if channel.kind in registry else None,
         channel_service.rate_per_minute(channel, registry))
        for channel in channel_service.list_channels(db())
    ]
    return render_template("channels/index.html", rows=rows, kinds=list(registry))
