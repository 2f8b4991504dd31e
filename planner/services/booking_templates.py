"""The workspace's texts for what a confirmed booking drafts: the session post, its announcements, and
the short notices when a session moves or is canceled after an announcement went out.

Operators change them under Settings (or through the API); every change is checked here and audited.
"""

from __future__ import annotations

import string
from datetime import datetime
from typing import Any

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from planner.config import DEFAULTS as CONFIG_DEFAULTS
from planner.errors import ValidationFailed
from planner.models import User
from planner.services import workspace

KEY = "guest_session_templates"
PLACEHOLDERS = ("speaker", "topic", "time", "abstract", "community")
NOTICES = ("cancellation", "moved")
MAX_ANNOUNCEMENTS = 10
MAX_MINUTES_BEFORE = 60 * 24 * 60  # sixty days
TITLE_MAX, BODY_MAX = 200, 5000

DEFAULTS: dict[str, Any] = workspace.GUEST_SESSION_TEMPLATES | {
    "moved": {"title": "Moved: {topic}",
              "body": "The guest session **{topic}** with {speaker} moves from {old_time} to "
                      "**{time}**. See you then!"},
}


def allowed(part: str) -> tuple[str, ...]:
    """The placeholders a template may use; a moved notice also knows the old time."""
    return (*PLACEHOLDERS, "old_time") if part == "moved" else PLACEHOLDERS


def current(session: Session) -> dict[str, Any]:
    """The stored templates, with the defaults for any part never stored."""
    return DEFAULTS | workspace.get(session, KEY, {})


def community(session: Session) -> str:
    return workspace.community_name(session, current_app.config if has_app_context() else CONFIG_DEFAULTS)


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"  # a variable unknown to templates stored before the checks stays as written


def render(template: str, values: dict[str, str]) -> str:
    try:
        return string.Formatter().vformat(template, (), _Values(values))
    except (ValueError, IndexError, AttributeError, KeyError):  # a template stored before the checks
        return template


def put(session: Session, value: dict[str, Any], *, actor: User | str, now: datetime) -> dict[str, Any]:
    """Check and store the templates; nothing is stored when one is wrong."""
    cleaned = check(value)
    workspace.put(session, KEY, cleaned, actor=actor, now=now)
    return cleaned


def check(value: dict[str, Any]) -> dict[str, Any]:
    """The templates trimmed; :class:`ValidationFailed` names each wrong field (``announcements.1.title``)."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for part in ("session", *NOTICES):
        cleaned[part] = _text_pair(value.get(part), part, allowed(part), errors)
    items = value.get("announcements")
    if not isinstance(items, list) or len(items) > MAX_ANNOUNCEMENTS:
        errors["announcements"] = _("a list of at most %(n)d announcements", n=MAX_ANNOUNCEMENTS)
        items = []
    cleaned["announcements"] = []
    for number, item in enumerate(items):
        where = f"announcements.{number}"
        pair = _text_pair(item, where, PLACEHOLDERS, errors)
        minutes = item.get("minutes_before") if isinstance(item, dict) else None
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not (
                0 <= minutes <= MAX_MINUTES_BEFORE):
            errors[f"{where}.minutes_before"] = _(
                "whole minutes before the session, 0 to %(max)d", max=MAX_MINUTES_BEFORE)
        else:
            cleaned["announcements"].append({"minutes_before": minutes, **pair})
    if errors:
        raise ValidationFailed(_("the guest session templates were not saved"), errors)
    cleaned["announcements"].sort(key=lambda item: -item["minutes_before"])
    return cleaned


def _text_pair(item: Any, where: str, names: tuple[str, ...], errors: dict[str, str]) -> dict[str, str]:
    if not isinstance(item, dict):
        errors[where] = _("a title and a body are required")
        return {}
    pair = {}
    for name, limit in (("title", TITLE_MAX), ("body", BODY_MAX)):
        text = item.get(name)
        text = text.strip() if isinstance(text, str) else ""
        problem = (_("this text is required") if not text else
                   _("at most %(limit)s characters", limit=limit) if len(text) > limit else
                   _placeholder_problem(text, names))
        if problem:
            errors[f"{where}.{name}"] = problem
        pair[name] = text
    return pair


def _placeholder_problem(text: str, names: tuple[str, ...]) -> str | None:
    known = ", ".join("{" + name + "}" for name in names)
    try:
        fields = [(name, spec, conversion)
                  for _literal, name, spec, conversion in string.Formatter().parse(text)
                  if name is not None]
    except ValueError:
        return _("a single { or } must be written twice ({{ or }}); placeholders are %(known)s",
                 known=known)
    for name, spec, conversion in fields:
        if name not in names or spec or conversion:
            written = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            return _("unknown placeholder {%(name)s}; use %(known)s", name=written, known=known)
    return None
