"""Channels: creating them from a kind's settings schema, and building the kind to send with."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.channel_api import ChannelContext, ChannelKind
from planner.crypto import SecretBox
from planner.errors import Conflict, NotFound, ValidationFailed
from planner.models import Channel, ChannelTag, User
from planner.registry import Registry
from planner.services import audit

TAG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")


def list_channels(session: Session) -> list[Channel]:
    return list(session.scalars(select(Channel).order_by(Channel.name)))


def get_channel(session: Session, channel_id: int) -> Channel:
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise NotFound(_("channel %(id)s does not exist", id=channel_id))
    return channel


def create_channel(
    session: Session, registry: Registry, box: SecretBox, *, kind: str, name: str,
    settings: dict[str, Any], tags: list[str], actor: User | str, now: datetime,
    enabled: bool = True, rate_per_minute: int | None = None,
) -> Channel:
    errors: dict[str, str] = {}
    if kind not in registry:
        errors["kind"] = _("unknown channel kind %(kind)r; installed: %(kinds)s", kind=kind,
                           kinds=", ".join(registry.names()))
    name = name.strip()
    if not name or len(name) > 100:
        errors["name"] = _("a name of 1 to 100 characters is required")
    bad = [t for t in tags if not TAG.match(t)]
    if bad:
        errors["tags"] = _("not a tag: %(tags)s", tags=", ".join(map(repr, bad)))
    if rate_per_minute is not None and not 1 <= rate_per_minute <= 6000:
        errors["rate_per_minute"] = _("between 1 and 6000 messages per minute")
    plain: dict[str, Any] = {}
    secret: dict[str, Any] = {}
    if kind in registry:
        for setting in registry.get(kind).settings_schema:
            value = settings.get(setting.name, setting.default)
            if setting.required and value in (None, ""):
                errors[f"settings.{setting.name}"] = _("%(label)s is required", label=setting.label)
            elif setting.choices and value not in setting.choices:
                errors[f"settings.{setting.name}"] = _("one of %(choices)s",
                                                       choices=", ".join(setting.choices))
            (secret if setting.secret else plain)[setting.name] = value
        known = {s.name for s in registry.get(kind).settings_schema}
        for extra in sorted(set(settings) - known):
            errors[f"settings.{extra}"] = _("%(kind)s channels have no setting %(name)r",
                                                kind=kind, name=extra)
    if errors:
        raise ValidationFailed(_("the channel was not saved"), errors)
    if session.scalar(select(Channel.id).where(Channel.name == name)) is not None:
        raise Conflict(_("a channel named %(name)r already exists", name=name),
                       {"name": _("already taken")})
    channel = Channel(
        kind=kind, name=name, settings=plain, secrets_encrypted=box.seal(secret) if secret else None,
        enabled=enabled, rate_per_minute=rate_per_minute, created_at=now,
        tag_rows=[ChannelTag(tag=t) for t in dict.fromkeys(tags)],
    )
    session.add(channel)
    session.flush()
    audit.record(session, at=now, actor=actor, action="channel.create", subject_type="channel",
                 subject_id=channel.id, kind=kind, name=name)
    return channel


def build_kind(channel: Channel, registry: Registry, box: SecretBox,
               context: ChannelContext) -> ChannelKind:
    settings = {**channel.settings, **box.open(channel.secrets_encrypted)}
    return registry.get(channel.kind)(settings, context)


def rate_per_minute(channel: Channel, registry: Registry) -> int:
    if channel.rate_per_minute:
        return channel.rate_per_minute
    return registry.get(channel.kind).limits.per_minute if channel.kind in registry else 20
