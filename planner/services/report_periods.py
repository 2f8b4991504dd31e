"""Periods for reports: local days in the workspace's timezone, and the SQL that measures time spans
and their spread."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Float, Select, case, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

# Nearest-rank percentiles: the p-th percentile of n values is the ceil(p·n)-th smallest, so every
# figure is a value that was actually measured.
PERCENTILES = (0.5, 0.9, 0.99)


@dataclass(frozen=True)
class Period:
    """Whole local days ``first`` to ``last`` (inclusive) in ``zone``."""

    first: date
    last: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return local_midnight(self.first, self.zone)

    @property
    def end(self) -> datetime:
        return local_midnight(self.last + timedelta(days=1), self.zone)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def each_day(self) -> Iterator[tuple[date, datetime, datetime]]:
        """Every local day with its UTC bounds: a daylight-saving day lasts 23 or 25 hours."""
        day = self.first
        while day <= self.last:
            following = day + timedelta(days=1)
            yield day, local_midnight(day, self.zone), local_midnight(following, self.zone)
            day = following

    def previous(self) -> Period:
        length = timedelta(days=self.days)
        return Period(self.first - length, self.last - length, self.zone)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def week_of(moment: datetime, zone: ZoneInfo) -> Period:
    """The Monday-to-Sunday week holding ``moment`` in ``zone``."""
    local = moment.astimezone(zone).date()
    monday = local - timedelta(days=local.weekday())
    return Period(monday, monday + timedelta(days=6), zone)


def month_of(moment: datetime, zone: ZoneInfo) -> Period:
    local = moment.astimezone(zone).date()
    first = local.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(first, following - timedelta(days=1), zone)


def dialect(session: Session) -> str:
    """The database's name ("sqlite", "postgresql"): the SQL below differs between them."""
    return session.get_bind().dialect.name


def seconds_between(dialect: str, start: ColumnElement, end: ColumnElement) -> ColumnElement[float]:
    """``end - start`` in seconds, computed by the database."""
    if dialect == "sqlite":
        return cast((func.julianday(end) - func.julianday(start)) * 86400.0, Float)
    # date_part gives a double precision directly; EXTRACT gives a numeric (since PostgreSQL 14),
    # which took twice as long over a year of deliveries.
    return func.date_part("epoch", end - start, type_=Float)


def offsets(period: Period) -> list[tuple[datetime, int]]:
    """The zone's UTC offsets over the period: ``(from_instant, offset_minutes)``, oldest first."""
    def minutes(moment: datetime) -> int:
        offset = moment.astimezone(period.zone).utcoffset()
        return int(offset.total_seconds() // 60) if offset else 0

    found = [(period.start, minutes(period.start))]
    hour, end = period.start, period.end
    while hour < end:
        following = min(hour + timedelta(hours=1), end)
        if minutes(following) != found[-1][1]:
            low, high = hour, following  # the change lies in this hour: find its second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if minutes(middle) == found[-1][1] else (low, middle)
            found.append((high, minutes(high)))
        hour = following
    return found


def local_day(dialect: str, moment: ColumnElement, period: Period) -> ColumnElement:
    """The local calendar day of ``moment`` in the period's zone, computed by the database.

    PostgreSQL knows the zone itself; SQLite is given the zone's offsets over the period, a
    daylight-saving change being the point where one offset gives way to the next.
    """
    if dialect != "sqlite":
        return cast(func.timezone(period.zone.key, moment), Date)
    steps = offsets(period)
    shifted = [func.date(moment, f"{minutes:+d} minutes") for _, minutes in steps]
    if len(steps) == 1:
        return shifted[0]
    return case(*((moment < start, day) for (start, _), day in zip(steps[1:], shifted, strict=False)),
                else_=shifted[-1])


@dataclass(frozen=True)
class Spread:
    """What one pass over some rows found: how many rows there were, how many had a value (it is
    NULL for the rest), how many had a value at most each limit asked for, and the values'
    nearest-rank percentiles (None where no row had a value)."""

    rows: int
    measured: int
    at_most: tuple[int, ...]
    percentiles: dict[float, float | None]


def spread(session: Session, value: ColumnElement[float], base: Select[Any],
           limits: Sequence[float] = ()) -> Spread:
    """``value`` over ``base``'s rows, counted and ranked by the database in one query.

    PostgreSQL picks the ceil(p·n)-th smallest value with ``percentile_disc``; SQLite, which has no
    such aggregate, numbers the values in order (the NULLs first) and takes the first whose number
    among the measured ones reaches p·n. Either way the rows are read once and sorted once."""
    measured = base.with_only_columns(value.label("value")).subquery().c.value
    if dialect(session) != "sqlite":
        ranks = [func.percentile_disc(p).within_group(measured) for p in PERCENTILES]
    else:
        c = select(measured.label("value"),
                   func.row_number().over(order_by=measured.nulls_first()).label("number"),
                   func.count().over().label("rows"), func.count(measured).over().label("measured"),
                   ).subquery().c
        measured, rank = c.value, c.number - (c.rows - c.measured)  # the NULLs come first
        ranks = [func.min(case((rank >= p * c.measured, measured))) for p in PERCENTILES]
    found = session.execute(select(func.count(), func.count(measured),
                                   *(func.count().filter(measured <= limit) for limit in limits),
                                   *ranks)).one()
    counts = [int(n or 0) for n in found[:2 + len(limits)]]
    return Spread(counts[0], counts[1], tuple(counts[2:]),
                  dict(zip(PERCENTILES, found[2 + len(limits):], strict=True)))
