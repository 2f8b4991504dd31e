"""Recurrence rules read on local wall-clock time, and the texts each occurrence is written from.

A series says "every weekday at 08:00 in Asia/Shanghai": the RRULE runs on the local wall-clock time
of its start, so daylight-saving changes keep 08:00 at 08:00. Two local times need a decision:

- a time skipped when the clocks go forward (02:30 on a spring-forward night in New York) moves to
  the first wall-clock time after the gap (03:00);
- a time that happens twice when the clocks go back (01:30 on a fall-back night) is the first one.

Occurrences are numbered by their position in the rule (0, 1, 2, …), so the pool text an occurrence
gets never depends on which posts exist. ``{weekday}`` and ``{date}`` are written in the series'
language (星期一 and 2026年11月23日 in Chinese, Monday and November 23, 2026 in English).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from dateutil.rrule import rrule, rrulestr
from flask_babel import gettext as _

VARIABLES = ("date", "weekday", "time", "community", "text")
DEFAULT_LANGUAGE = "en"
FREQUENCIES = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY")
RULE_EXAMPLE = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
_UTC_UNTIL = re.compile(r"UNTIL=(\d{8}T\d{6})Z", re.IGNORECASE)


class RuleError(ValueError):
    """A rule, timezone or template that cannot be used; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Occurrence:
    index: int  # position in the rule, counted from the first occurrence
    at: datetime  # UTC
    local: datetime  # the same instant in the series' timezone


@dataclass(frozen=True)
class Schedule:
    """When a series happens: its rule, its timezone and the start whose wall-clock time anchors it."""

    rrule: str
    timezone: str
    starts_at: datetime


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())  # reads the tz database from disk: once


def zone(name: str) -> ZoneInfo:
    if name not in _zone_names():
        raise RuleError(_("unknown timezone %(name)s; use an IANA name such as Asia/Shanghai "
                          "or America/New_York", name=name))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleError(_("unknown timezone %(name)s", name=name)) from None


def parse_rule(text: str, starts_local: datetime, tz: ZoneInfo) -> rrule:
    """One RRULE line (with or without its ``RRULE:`` prefix) anchored on a naive local start."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        raise RuleError(_("give a recurrence rule, e.g. %(example)s", example=RULE_EXAMPLE))
    if len(lines) > 1:
        raise RuleError(_("give one RRULE line only; the first occurrence comes from starts_at"))
    line = re.sub(r"^RRULE:", "", lines[0], flags=re.IGNORECASE)
    parts = dict(part.partition("=")[::2] for part in line.upper().split(";") if part)
    if "DTSTART" in line.upper():
        raise RuleError(_("leave DTSTART out of the rule; the first occurrence comes from starts_at"))
    if parts.get("FREQ") not in FREQUENCIES:
        raise RuleError(_("the rule needs FREQ, one of %(choices)s (e.g. %(example)s)",
                          choices=", ".join(FREQUENCIES), example=RULE_EXAMPLE))
    if "COUNT" in parts and "UNTIL" in parts:
        raise RuleError(_("give COUNT or UNTIL, not both"))
    for key in ("COUNT", "INTERVAL"):
        if key in parts and not (parts[key].isdigit() and int(parts[key]) >= 1):
            raise RuleError(_("%(key)s must be a whole number of at least 1", key=key))
    # UNTIL in UTC (…Z) is read as the local wall-clock time of that instant.
    line = _UTC_UNTIL.sub(lambda m: "UNTIL=" + datetime.strptime(m[1], "%Y%m%dT%H%M%S")
                          .replace(tzinfo=UTC).astimezone(tz).strftime("%Y%m%dT%H%M%S"), line)
    try:
        rule = _rule(line, starts_local)
    except (ValueError, TypeError, KeyError) as error:
        raise RuleError(_("not a valid RRULE (%(why)s); e.g. %(example)s", why=error,
                          example=RULE_EXAMPLE)) from None
    if not isinstance(rule, rrule):
        raise RuleError(_("give one RRULE line only"))
    return rule


@lru_cache(maxsize=512)
def _rule(line: str, starts_local: datetime) -> rrule:
    """Parsed once per process; dateutil's cache then keeps the occurrences already walked, so
    the next walk from the start (for the positions) reads a list instead of computing again."""
    return rrulestr(line, dtstart=starts_local, cache=True)


def to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """The instant of a naive wall-clock time in ``tz`` (see the module's notes on gaps and folds)."""
    first = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == local:
        return first
    # Skipped: read with the offset after the change it lands before the change, and with the
    # offset before it after; the change itself is the first wall-clock time that exists.
    before = int(local.replace(tzinfo=tz, fold=1).timestamp())
    after = int(first.timestamp())
    offset_after = first.astimezone(tz).utcoffset()
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == offset_after:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def occurrences(schedule: Schedule, *, start: datetime | None = None,
                end: datetime | None = None) -> Iterator[Occurrence]:
    """Occurrences with ``start <= at < end`` (UTC), in order; without ``end`` until the rule ends."""
    tz = zone(schedule.timezone)
    starts_local = schedule.starts_at.astimezone(tz).replace(tzinfo=None, microsecond=0)
    # Wall-clock times a day before ``start`` are surely before it: counted, not converted.
    early = None if start is None else start.astimezone(tz).replace(tzinfo=None) - timedelta(days=1)
    previous = None
    for index, local in enumerate(parse_rule(schedule.rrule, starts_local, tz)):
        if early is not None and local < early:
            continue
        at = to_utc(local, tz)
        if end is not None and at >= end:
            return
        # An hourly rule can move a skipped hour onto the next one: that instant is sent once.
        if at != previous and (start is None or at >= start):
            yield Occurrence(index=index, at=at, local=at.astimezone(tz))
        previous = at


def first_after(schedule: Schedule, moment: datetime) -> datetime | None:
    for occurrence in occurrences(schedule):
        if occurrence.at > moment:
            return occurrence.at
    return None


# ---- texts ---------------------------------------------------------------------------------------

def check_text(text: str, *, allow_text: bool) -> None:
    """Variables are ``{date}``, ``{weekday}``, ``{time}``, ``{community}`` (and ``{text}``, the pool
    entry, in a template); anything else in braces is refused. ``{{`` and ``}}`` are literal braces."""
    try:
        pieces = [(field, spec, conversion) for _literal, field, spec, conversion
                  in string.Formatter().parse(text) if field is not None]
    except ValueError:
        raise RuleError(_("a brace is not closed; write {{ and }} for literal braces")) from None
    allowed = VARIABLES if allow_text else tuple(v for v in VARIABLES if v != "text")
    unknown = []
    for field, spec, conversion in pieces:
        if field not in allowed or spec or conversion:
            unknown.append("{" + field + (f"!{conversion}" if conversion else "")
                           + (f":{spec}" if spec else "") + "}")
    if unknown:
        raise RuleError(_("unknown variable(s) %(names)s; use %(allowed)s, and {{ and }} for "
                          "literal braces", names=", ".join(unknown),
                          allowed=", ".join("{" + name + "}" for name in allowed)))


def uses_text(template: str) -> bool:
    return any(field == "text" for _lit, field, _spec, _conv in string.Formatter().parse(template))


@lru_cache(maxsize=64)
def locale_of(language: str | None) -> Locale:
    """The Babel locale of a language code such as ``zh_Hans_CN`` or ``zh-CN``; English when the
    code is empty or unknown, so a stray value never stops a series."""
    try:
        return Locale.parse((language or DEFAULT_LANGUAGE).replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(DEFAULT_LANGUAGE)


def render(text: str, occurrence: Occurrence, community: str, pool_text: str = "",
           language: str | None = DEFAULT_LANGUAGE) -> str:
    local = occurrence.local
    locale = locale_of(language)
    return text.format_map({
        "date": format_date(local.date(), "long", locale=locale),
        "weekday": format_date(local.date(), "EEEE", locale=locale),
        "time": local.strftime("%H:%M"),
        "community": community,
        "text": pool_text,
    })


def render_occurrence(title: str, template: str, pool: list[str], occurrence: Occurrence,
                      community: str, language: str | None = DEFAULT_LANGUAGE) -> tuple[str, str]:
    """The title and body of one occurrence: occurrence i takes pool[i mod len(pool)]."""
    entry = pool[occurrence.index % len(pool)] if pool else ""
    text = render(entry, occurrence, community, language=language)
    return (render(title, occurrence, community, language=language),
            render(template, occurrence, community, text, language))
