"""Reading and showing times in the viewer's timezone (their own setting, else the workspace's)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

LOCAL_INPUT = "%Y-%m-%dT%H:%M"


def parse_local(value: str, tz: ZoneInfo) -> datetime:
    """A ``datetime-local`` value (or one with an explicit offset) as an aware datetime."""
    parsed = datetime.fromisoformat(value.strip())
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def to_input(value: datetime | None, tz: ZoneInfo) -> str:
    return "" if value is None else value.astimezone(tz).strftime(LOCAL_INPUT)


def show(value: datetime | None, tz: ZoneInfo) -> str:
    return "" if value is None else value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
