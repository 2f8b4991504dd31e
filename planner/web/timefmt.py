"""Reading and showing times in the viewer's timezone (their own setting, else the workspace's).

What a person reads follows their language ("Nov 25, 2026, 12:30 AM", "2026年11月25日 00:30");
what a machine reads (form inputs, ``datetime`` attributes, CSV, the API) stays ISO 8601.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from flask_babel import get_locale

LOCAL_INPUT = "%Y-%m-%dT%H:%M"


def parse_local(value: str, tz: ZoneInfo) -> datetime:
    """A ``datetime-local`` value (or one with an explicit offset) as an aware datetime."""
    parsed = datetime.fromisoformat(value.strip())
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def to_input(value: datetime | None, tz: ZoneInfo) -> str:
    return "" if value is None else value.astimezone(tz).strftime(LOCAL_INPUT)


def _locale() -> Locale:
    return get_locale() or Locale.parse("en")  # no request (CLI, dispatcher): English


def show(value: datetime | None, tz: ZoneInfo) -> str:
    """A date and time of day in ``tz``, written the way the reader's language writes them."""
    if value is None:
        return ""
    locale, local = _locale(), value.astimezone(tz)
    return locale.datetime_formats["medium"].format(format_time(local, "short", tzinfo=tz, locale=locale),
                                                    format_date(local.date(), "medium", locale=locale))


def show_time(value: datetime | None, tz: ZoneInfo) -> str:
    """The time of day alone (the calendar's list already groups by day)."""
    return "" if value is None else format_time(value.astimezone(tz), "short", tzinfo=tz, locale=_locale())


def show_day(value: date | str | None) -> str:
    """A calendar day (a ``date`` or its ISO text), written the reader's way."""
    if value is None or value == "":
        return ""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(day, "medium", locale=_locale())
