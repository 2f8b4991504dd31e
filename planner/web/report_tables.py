"""The report's tables as the page shows them and as CSV files: one name, its columns and its rows.

The CSV files carry the figures as the API gives them (ISO days, kinds and bands by their codes,
seconds and rates as numbers), so a spreadsheet can compute with them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from planner.models import PostKind


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _punctuality(figures: dict[str, Any]) -> list[dict[str, Any]]:
    found = figures["punctuality"]
    spread = found["lateness_seconds"]
    rate = found["on_time_rate"]
    return [{**found, "on_time_rate": None if rate is None else round(rate, 4),
             **{f"{key}_seconds": _seconds(value) for key, value in spread.items()}}]


def _reviews(figures: dict[str, Any]) -> list[dict[str, Any]]:
    found = figures["approval_turnaround"]
    return [{**found, "median_seconds": _seconds(found["median_seconds"]),
             "p90_seconds": _seconds(found["p90_seconds"])}]


def posts_per_kind(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Every kind, in the usual order, with the posts of it published in the period (0 included)."""
    found = figures["posts_published"]
    return [{"kind": kind.value, "posts": found.get(kind.value, 0)} for kind in PostKind]


@dataclass(frozen=True)
class Table:
    name: str
    title: Any  # a lazy string: the section's heading, in the reader's language
    columns: tuple[str, ...]
    rows: Callable[[dict[str, Any]], list[dict[str, Any]]]


TABLES = {table.name: table for table in (
    Table("deliveries", _l("Deliveries per channel"),
          ("channel", "total", "sent", "failed", "unconfirmed", "expired", "canceled", "pending",
           "retrying", "sending"),
          lambda figures: figures["deliveries_by_channel"]),
    Table("punctuality", _l("On time"),
          ("due", "sent", "on_time", "late", "not_sent", "on_time_rate", "tolerance_seconds",
           "p50_seconds", "p90_seconds", "p99_seconds"),
          _punctuality),
    Table("lateness", _l("Lateness"), ("band", "up_to_seconds", "deliveries"),
          lambda figures: figures["lateness"]),
    Table("rhythm", _l("Activity rhythm"),
          ("channel", "active_days", "sent", "per_day", "busiest_day", "days_over_limit", "daily_limit",
           "too_close", "min_gap_minutes"),
          lambda figures: figures["rhythm"]),
    Table("posts", _l("Posts published per kind"), ("kind", "posts"), posts_per_kind),
    Table("reviews", _l("Reviews"),
          ("decisions", "approved", "rejected", "median_seconds", "p90_seconds"), _reviews),
    Table("guest-sessions", _l("Guest sessions"), ("booked", "confirmed", "held", "declined", "canceled"),
          lambda figures: [figures["guest_sessions"]]),
    Table("feed-items", _l("Feed items"), ("arrived", "triaged", "shared", "dismissed"),
          lambda figures: [figures["feed_items"]]),
)}


def as_csv(table: Table, figures: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=table.columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(table.rows(figures))
    return out.getvalue()


def duration(seconds: float) -> str:
    """A span as a reader says it: "45 s", "15 min", "1.5 h"."""
    def number(value: float) -> str:
        return f"{value:.1f}".rstrip("0").rstrip(".")

    if seconds < 60:
        return _("%(n)s s", n=number(seconds))
    if seconds < 3600:
        return _("%(n)s min", n=number(seconds / 60))
    return _("%(n)s h", n=number(seconds / 3600))


def band_labels(bands: list[dict[str, Any]]) -> list[str]:
    """What each lateness band means, in words: its bounds follow the workspace's tolerance."""
    labels, below = [], 0
    for band in bands:
        name, limit = band["band"], band["up_to_seconds"]
        if name == "on_time":
            labels.append(_("on time (within %(span)s)", span=duration(limit)))
        elif name == "later":
            labels.append(_("more than %(span)s late", span=duration(below)))
        elif name == "not_sent":
            labels.append(_("not sent"))
        else:
            labels.append(_("up to %(span)s late", span=duration(limit)))
        below = limit if limit is not None else below
    return labels
