"""Channel kinds, channels (secret settings are write-only), and trying a channel out."""

from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _

from planner.api.bp import bp
from planner.api.schemas import (
    ChannelFailure,
    ChannelIn,
    ChannelKindList,
    ChannelKindOut,
    ChannelList,
    ChannelOut,
    ChannelPatch,
    ChannelSuccess,
    ChannelTestIn,
    ChannelTestOut,
)
from planner.api.spec import endpoint
from planner.channel_api import (
    ChannelError,
    ChannelKind,
    PermanentError,
    RetryableError,
    ThrottledError,
)
from planner.errors import ValidationFailed
from planner.models import Channel, Role, User
from planner.services import channels as channel_service
from planner.services.channel_trials import can_check
from planner.services.channels import ChannelHealth
from planner.state import state
from planner.web.channels import run_try, try_summary
from planner.web.context import db


def kind_out(kind: type[ChannelKind]) -> dict:
    described = kind.describe()
    helps = {s.name: str(s.help) for s in kind.settings_schema}
    for setting in described["settings"]:
        setting["help"] = helps[setting["name"]]
    return ChannelKindOut(**described, can_check=can_check(kind)).model_dump(
        mode="json")


def channel_out(channel: Channel, health: ChannelHealth | None = None) -> dict:
    st = state()
    health = health or ChannelHealth()
    success, failure = health.last_success, health.last_failure
    return ChannelOut(
        id=channel.id, kind=channel.kind, kind_installed=channel.kind in st.registry,
        name=channel.name, settings=channel.settings,
        saved_secrets=channel_service.saved_secrets(channel, st.secret_box),
        tags=channel.tags, enabled=channel.enabled,
        rate_per_minute=channel_service.rate_per_minute(channel, st.registry),
        rate_per_minute_override=channel.rate_per_minute, created_at=channel.created_at,
        last_success=None if success is None else ChannelSuccess(
            delivery_id=success.id, post_id=success.post_id, at=success.sent_at,
            remote_id=success.remote_id, remote_url=success.remote_url),
        last_failure=None if failure is None else ChannelFailure(
            delivery_id=failure.id, post_id=failure.post_id, at=failure.updated_at,
            status=failure.status, message=failure.last_error),
    ).model_dump(mode="json")


@endpoint(bp, "/channel-kinds", "GET", summary="Installed channel kinds", response=ChannelKindList)
def channel_kinds(user: User):  # type: ignore[no-untyped-def]
    return jsonify({"items": [kind_out(kind) for kind in state().registry]})


@endpoint(bp, "/channels", "GET", summary="Channels (secret settings are never returned)",
          response=ChannelList)
def list_channels(user: User):  # type: ignore[no-untyped-def]
    health = channel_service.channel_health(db())
    return jsonify({"items": [channel_out(c, health.get(c.id))
                              for c in channel_service.list_channels(db())]})


@endpoint(bp, "/channels", "POST", summary="Create a channel", role=Role.operator, body=ChannelIn,
          response=ChannelOut, status=201)
def create_channel(user: User, body: ChannelIn):  # type: ignore[no-untyped-def]
    st = state()
    channel = channel_service.create_channel(
        db(), st.registry, st.secret_box, kind=body.kind, name=body.name, settings=body.settings,
        tags=body.tags, enabled=body.enabled, rate_per_minute=body.rate_per_minute, actor=user,
        now=st.clock.now())
    db().commit()
    return jsonify(channel_out(channel)), 201


@endpoint(bp, "/channels/<int:channel_id>", "GET", summary="One channel", response=ChannelOut)
def get_channel(user: User, channel_id: int):  # type: ignore[no-untyped-def]
    channel = channel_service.get_channel(db(), channel_id)
    return jsonify(channel_out(channel, channel_service.channel_health(db(), [channel.id])
                               .get(channel.id)))


@endpoint(bp, "/channels/<int:channel_id>", "PATCH",
          summary="Change a channel (a secret setting left empty keeps its saved value)",
          role=Role.operator, body=ChannelPatch, response=ChannelOut)
def patch_channel(user: User, channel_id: int, body: ChannelPatch):  # type: ignore[no-untyped-def]
    st = state()
    channel = channel_service.get_channel(db(), channel_id)
    if body.kind is not None and body.kind != channel.kind:
        raise ValidationFailed(_("the channel was not saved"), {"kind": _(
            "a channel's kind is fixed once it exists; create a new channel for another kind")})
    given = body.model_dump(exclude_unset=True, exclude={"kind"})
    channel_service.update_channel(db(), st.registry, st.secret_box, channel, actor=user,
                                   now=st.clock.now(), **given)
    db().commit()
    return jsonify(channel_out(channel, channel_service.channel_health(db(), [channel.id])
                               .get(channel.id)))


@endpoint(bp, "/channels/<int:channel_id>", "DELETE",
          summary="Delete a channel that has no deliveries (others can only be disabled)",
          role=Role.operator, status=204)
def delete_channel(user: User, channel_id: int):  # type: ignore[no-untyped-def]
    channel_service.delete_channel(db(), channel_service.get_channel(db(), channel_id), actor=user,
                                   now=state().clock.now())
    db().commit()
    return "", 204


@endpoint(bp, "/channels/<int:channel_id>/test", "POST",
          summary="Post a visible test message, or check the credentials without posting",
          role=Role.operator, body=ChannelTestIn, response=ChannelTestOut)
def test_channel(user: User, channel_id: int, body: ChannelTestIn):  # type: ignore[no-untyped-def]
    result = run_try(channel_service.get_channel(db(), channel_id), body.action, user)
    return jsonify(ChannelTestOut(
        action=body.action, ok=result.ok, checked=result.checked, message=try_summary(result),
        remote_id=result.receipt.remote_id if result.receipt else None,
        remote_url=result.receipt.remote_url if result.receipt else None,
        error=None if result.error is None else {
            "type": error_type(result.error), "message": result.error.message,
            "retry_after": result.error.retry_after},
    ).model_dump(mode="json"))


def error_type(error: ChannelError) -> str:
    if isinstance(error, ThrottledError):
        return "throttled"
    if isinstance(error, RetryableError):
        return "retryable"
    if isinstance(error, PermanentError):
        return "permanent"
    return "outcome_unknown"
