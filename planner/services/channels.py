"""Channels: creating and changing them from a kind's settings schema, and their health.

Secret settings are sealed with the instance's key as soon as they arrive and are never handed back:
an edit that leaves a secret empty keeps the stored one. Nothing here puts a secret value into an
audit row, a log line or an error message. Trying a channel out lives in ``channel_trials``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from planner.channel_api import ChannelContext, ChannelKind, Setting
from planner.crypto import SecretBox
from planner.errors import Conflict, NotFound, ValidationFailed
from planner.models import Channel, ChannelTag, Delivery, DeliveryStatus, User
from planner.models.post import post_channels
from planner.registry import Registry
from planner.services import audit, workspace

TAG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
MAX_SETTING_LENGTH = 4000
UNCHANGED: Any = object()  # "leave this as it is" for arguments where None means something
FAILURES = (DeliveryStatus.failed, DeliveryStatus.unconfirmed)


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
    name = _check_common(errors, name, tags, rate_per_minute)
    plain: dict[str, Any] = {}
    secret: dict[str, Any] = {}
    if kind in registry:
        plain, secret = _check_settings(errors, registry.get(kind), settings, {}, {}, ())
    if errors:
        raise ValidationFailed(_("the channel was not saved"), errors)
    _check_name_free(session, name, None)
    channel = Channel(
        kind=kind, name=name, settings=plain, secrets_encrypted=box.seal(secret) if secret else None,
        enabled=enabled, rate_per_minute=rate_per_minute, created_at=now,
        tag_rows=[ChannelTag(tag=t) for t in dict.fromkeys(tags)],
    )
    session.add(channel)
    session.flush()
    audit.record(session, at=now, actor=actor, action="channel.create", subject_type="channel",
                 subject_id=channel.id, kind=kind, name=name, enabled=enabled,
                 secret_settings=sorted(secret))
    return channel


def update_channel(
    session: Session, registry: Registry, box: SecretBox, channel: Channel, *,
    actor: User | str, now: datetime, name: str | None = None,
    settings: dict[str, Any] | None = None, clear_secrets: tuple[str, ...] | list[str] = (),
    tags: list[str] | None = None, enabled: bool | None = None, rate_per_minute: Any = UNCHANGED,
) -> list[str]:
    """Change what is given; a secret left empty keeps its stored value. Returns what changed.

    ``rate_per_minute=None`` goes back to the kind's own limit; ``clear_secrets`` removes saved
    optional secrets (e.g. an optional signing secret the group no longer uses).
    """
    installed = channel.kind in registry
    if not installed and (settings or clear_secrets):
        raise Conflict(_("channel kind %(kind)r is not installed: install it before changing "
                         "this channel's settings", kind=channel.kind))
    errors: dict[str, str] = {}
    new_name = _check_common(errors, channel.name if name is None else name,
                             channel.tags if tags is None else tags,
                             None if rate_per_minute is UNCHANGED else rate_per_minute)
    stored = box.open(channel.secrets_encrypted)
    plain, secret = dict(channel.settings), stored
    if installed:
        plain, secret = _check_settings(errors, registry.get(channel.kind), settings or {},
                                        channel.settings, stored, tuple(clear_secrets))
    if errors:
        raise ValidationFailed(_("the channel was not saved"), errors)
    _check_name_free(session, new_name, channel.id)

    changed = [f"settings.{k}" for k in sorted(set(plain) | set(channel.settings))
               if plain.get(k) != channel.settings.get(k)]
    changed += [f"secret.{k}" for k in sorted(set(secret) | set(stored))
                if secret.get(k) != stored.get(k)]
    if new_name != channel.name:
        changed.append("name")
        channel.name = new_name
    if tags is not None and set(tags) != set(channel.tags):
        changed.append("tags")
        # Keep the rows of tags that stay: re-inserting one would clash with the row being removed.
        kept = [row for row in channel.tag_rows if row.tag in tags]
        added = [ChannelTag(tag=t) for t in dict.fromkeys(tags) if t not in channel.tags]
        channel.tag_rows = kept + added
    if enabled is not None and enabled != channel.enabled:
        changed.append("enabled")
        channel.enabled = enabled
    if rate_per_minute is not UNCHANGED and rate_per_minute != channel.rate_per_minute:
        changed.append("rate_per_minute")
        channel.rate_per_minute = rate_per_minute
    if plain != channel.settings:
        channel.settings = plain
    if secret != stored:
        channel.secrets_encrypted = box.seal(secret) if secret else None
    if changed:
        session.flush()
        # Only the names of what changed: the values of secrets must never reach the audit log.
        audit.record(session, at=now, actor=actor, action="channel.update", subject_type="channel",
                     subject_id=channel.id, changed=changed,
                     **({"enabled": channel.enabled} if "enabled" in changed else {}))
    return changed


def delete_channel(session: Session, channel: Channel, *, actor: User | str, now: datetime) -> None:
    """Delete a channel nothing was ever delivered to; one with deliveries can only be disabled."""
    used = session.scalar(select(func.count()).select_from(Delivery)
                          .where(Delivery.channel_id == channel.id)) or 0
    if used:
        raise Conflict(ngettext(
            "%(name)s has %(num)d delivery on record, so it cannot be deleted (its history would be "
            "lost): disable it instead",
            "%(name)s has %(num)d deliveries on record, so it cannot be deleted (their history would "
            "be lost): disable it instead",
            used, name=channel.name))
    posts = sorted(session.scalars(select(post_channels.c.post_id)
                                   .where(post_channels.c.channel_id == channel.id)))
    audit.record(session, at=now, actor=actor, action="channel.delete", subject_type="channel",
                 subject_id=channel.id, kind=channel.kind, name=channel.name,
                 removed_from_posts=posts)
    if workspace.get(session, "alerts_channel_id", None) == channel.id:
        workspace.put(session, "alerts_channel_id", None, actor=actor, now=now)
    session.delete(channel)
    session.flush()


def build_kind(channel: Channel, registry: Registry, box: SecretBox,
               context: ChannelContext) -> ChannelKind:
    settings = {**channel.settings, **box.open(channel.secrets_encrypted)}
    return registry.get(channel.kind)(settings, context)


def rate_per_minute(channel: Channel, registry: Registry) -> int:
    if channel.rate_per_minute:
        return channel.rate_per_minute
    return registry.get(channel.kind).limits.per_minute if channel.kind in registry else 20


def saved_secrets(channel: Channel, box: SecretBox) -> list[str]:
    """The names (never the values) of the secret settings that have a stored value."""
    return sorted(k for k, v in box.open(channel.secrets_encrypted).items() if v not in (None, ""))


# ---- health: what the deliveries table says about each channel ---------------------------------

@dataclass(frozen=True)
class ChannelHealth:
    last_success: Delivery | None = None
    last_failure: Delivery | None = None  # failed or unconfirmed, with the platform's message

    @property
    def failing(self) -> bool:
        """The latest outcome is a failure (nothing has been sent since)."""
        if self.last_failure is None:
            return False
        if self.last_success is None or self.last_success.sent_at is None:
            return True
        return self.last_failure.updated_at >= self.last_success.sent_at


def channel_health(session: Session, channel_ids: list[int] | None = None) -> dict[int, ChannelHealth]:
    successes = _latest(session, (DeliveryStatus.sent,), Delivery.sent_at, channel_ids)
    failures = _latest(session, FAILURES, Delivery.updated_at, channel_ids)
    return {channel_id: ChannelHealth(successes.get(channel_id), failures.get(channel_id))
            for channel_id in set(successes) | set(failures)}


def _latest(session: Session, statuses: tuple[str, ...], when: Any,
            channel_ids: list[int] | None) -> dict[int, Delivery]:
    """The newest delivery per channel among ``statuses``, in one query on both databases."""
    rank = func.row_number().over(partition_by=Delivery.channel_id,
                                  order_by=(when.desc(), Delivery.id.desc()))
    ranked = select(Delivery.id, rank.label("rank")).where(Delivery.status.in_(statuses))
    if channel_ids is not None:
        ranked = ranked.where(Delivery.channel_id.in_(channel_ids))
    newest = ranked.subquery()
    rows = session.scalars(select(Delivery).join(newest, newest.c.id == Delivery.id)
                           .where(newest.c.rank == 1))
    return {d.channel_id: d for d in rows}


# ---- validation ---------------------------------------------------------------------------------

def check_targets(session: Session, channel_ids: list[int], tags: list[str],
                  errors: dict[str, str]) -> list[Channel]:
    """The channels a post, series or feed names, in the order given; unknown ids and malformed
    tags are noted in ``errors`` under ``channel_ids`` and ``tags``."""
    bad_tags = [tag for tag in tags if not TAG.match(tag)]
    if bad_tags:
        errors["tags"] = _("not a tag: %(tags)s (lower-case letters, digits, - and _, at most 50)",
                           tags=", ".join(map(repr, bad_tags)))
    ids = list(dict.fromkeys(channel_ids))
    if not ids:
        return []
    found = {c.id: c for c in session.scalars(select(Channel).where(Channel.id.in_(ids)))}
    missing = [channel_id for channel_id in ids if channel_id not in found]
    if missing:
        errors["channel_ids"] = _("unknown channel id(s): %(ids)s", ids=", ".join(map(str, sorted(missing))))
    return [found[channel_id] for channel_id in ids if channel_id in found]


def _check_common(errors: dict[str, str], name: str, tags: list[str],
                  rate: int | None) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        errors["name"] = _("a name of 1 to 100 characters is required")
    bad = [t for t in tags if not TAG.match(t)]
    if bad:
        errors["tags"] = _("not a tag: %(tags)s", tags=", ".join(map(repr, bad)))
    if rate is not None and not (isinstance(rate, int) and 1 <= rate <= 6000):
        errors["rate_per_minute"] = _("between 1 and 6000 messages per minute")
    return name


def _check_name_free(session: Session, name: str, channel_id: int | None) -> None:
    taken = session.scalar(select(Channel.id).where(Channel.name == name))
    if taken is not None and taken != channel_id:
        raise Conflict(_("a channel named %(name)r already exists", name=name),
                       {"name": _("already taken")})


def _check_settings(
    errors: dict[str, str], kind: type[ChannelKind], given: dict[str, Any],
    stored_plain: dict[str, Any], stored_secret: dict[str, Any], clear: tuple[str, ...],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Merge what was given over what is stored, per the schema; collect problems in ``errors``."""
    schema = {s.name: s for s in kind.settings_schema}
    for extra in sorted(set(given) - set(schema)):
        errors[f"settings.{extra}"] = _("%(kind)s channels have no setting %(name)r",
                                        kind=kind.name, name=extra)
    for name in clear:
        setting = schema.get(name)
        if setting is None or not setting.secret:
            errors[f"settings.{name}"] = _("only saved secret settings can be removed")
        elif setting.required:
            errors[f"settings.{name}"] = _("%(label)s is required: replace it instead of "
                                           "removing it", label=setting.label)
    plain: dict[str, Any] = {}
    secret: dict[str, Any] = {}
    for setting in schema.values():
        key = f"settings.{setting.name}"
        value = _clean(given.get(setting.name))
        if isinstance(value, str) and len(value) > MAX_SETTING_LENGTH:
            errors[key] = _("at most %(n)d characters", n=MAX_SETTING_LENGTH)
        elif not isinstance(value, str | int | float | bool | None):
            errors[key] = _("a single value is expected")
        if setting.secret:
            value = _secret_value(setting, value, stored_secret, clear)
            if value is not None:
                secret[setting.name] = value
        else:
            if value is None and setting.name not in given:
                value = stored_plain.get(setting.name)
            plain[setting.name] = setting.default if value in (None, "") else value
        if key in errors:
            continue
        final = (secret if setting.secret else plain).get(setting.name)
        if setting.required and final in (None, ""):
            errors[key] = _("%(label)s is required", label=setting.label)
        elif setting.choices and final not in (None, "") and final not in setting.choices:
            errors[key] = _("one of %(choices)s", choices=", ".join(setting.choices))
    return plain, secret


def _secret_value(setting: Setting, value: Any, stored: dict[str, Any],
                  clear: tuple[str, ...]) -> Any:
    if value is not None:
        return value
    if setting.name in clear:
        return None
    if stored.get(setting.name) not in (None, ""):
        return stored[setting.name]
    return setting.default


def _clean(value: Any) -> Any:
    """Strip pasted whitespace; an empty string means "not given"."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value
