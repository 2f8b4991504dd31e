"""Channel kinds, channels, and the current user."""

from __future__ import annotations

from flask import jsonify

from planner.api.bp import bp
from planner.api.schemas import ChannelKindList, ChannelList, MeOut
from planner.api.spec import endpoint
from planner.models import User
from planner.services import channels as channel_service
from planner.state import state
from planner.web.context import db


@endpoint(bp, "/channel-kinds", "GET", summary="Installed channel kinds", response=ChannelKindList)
def channel_kinds(user: User):  # type: ignore[no-untyped-def]
    return jsonify({"items": [kind.describe() for kind in state().registry]})


@endpoint(bp, "/channels", "GET", summary="Channels (secret settings are never returned)",
          response=ChannelList)
def list_channels(user: User):  # type: ignore[no-untyped-def]
    registry = state().registry
    return jsonify({"items": [
        {"id": c.id, "kind": c.kind, "name": c.name, "settings": c.settings, "tags": c.tags,
         "enabled": c.enabled, "rate_per_minute": channel_service.rate_per_minute(c, registry)}
        for c in channel_service.list_channels(db())
    ]})


@endpoint(bp, "/me", "GET", summary="The current user", response=MeOut)
def me(user: User):  # type: ignore[no-untyped-def]
    return jsonify({"id": user.id, "email": user.email, "name": user.name, "role": user.role})

