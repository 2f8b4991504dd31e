"""A person's own settings: the language their pages speak and the timezone they show times in."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from planner.errors import ValidationFailed
from planner.models import User
from planner.services import audit, workspace

# The interface languages, each named in its own language (a reader finds theirs whatever the page
# speaks). A user without one follows their browser's Accept-Language.
LANGUAGES = {"en": "English", "zh_Hans_CN": "简体中文"}


@cache
def timezone_names() -> list[str]:
    """Every IANA zone name the installed tz database knows, sorted."""
    return sorted(available_timezones())


def workspace_timezone(session: Session, default: str) -> ZoneInfo:
    return ZoneInfo(workspace.get(session, "timezone", default))


def timezone_of(session: Session, user: User | None, default: str) -> ZoneInfo:
    """The zone ``user`` reads times in: their own setting, else the workspace's."""
    if user is not None and user.timezone:
        return ZoneInfo(user.timezone)
    return workspace_timezone(session, default)


def set_timezone(session: Session, user: User, name: str | None, *, now: datetime) -> None:
    """Set (or with ``None``/empty, clear back to the workspace's) the user's timezone."""
    name = (name or "").strip() or None
    if name is not None and name not in timezone_names():
        raise ValidationFailed(_("the settings were not saved"), {
            "timezone": _("unknown timezone %(name)r; use a name such as Asia/Shanghai", name=name)})
    if user.timezone == name:
        return
    before, user.timezone = user.timezone, name
    audit.record(session, at=now, actor=user, action="user.timezone", subject_type="user",
                 subject_id=user.id, old=before, new=name)


def set_locale(session: Session, user: User, code: str | None, *, now: datetime) -> None:
    """Set the user's interface language (a key of ``LANGUAGES``), or with ``None``/empty clear it
    so their pages follow the browser's language again."""
    code = (code or "").strip() or None
    if code is not None and code not in LANGUAGES:
        raise ValidationFailed(_("the settings were not saved"), {
            "locale": _("unknown language %(code)r; choose one of %(choices)s, or leave it empty to "
                        "follow the browser", code=code, choices=", ".join(LANGUAGES))})
    if user.locale == code:
        return
    before, user.locale = user.locale, code
    audit.record(session, at=now, actor=user, action="user.locale", subject_type="user",
                 subject_id=user.id, old=before, new=code)
