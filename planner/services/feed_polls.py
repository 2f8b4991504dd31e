"""Recording a poll's outcome on its feed: items, validators, the adapted interval, backoff and pause.

The interval follows how often the feed publishes (half the recent gap between items), within the
workspace bounds; a server's Cache-Control max-age and Retry-After push the next look further out,
never past the longest interval. Failures back off exponentially and, after ``FEED_MAX_FAILURES`` in a
row, pause the feed with the error shown until someone resumes it.

``last_error`` holds what went wrong at the last poll: with failures counted, the error; after a
success, what feedparser had to recover from in a malformed feed (see :func:`warning_of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from planner.feeds.fetch import FetchResult
from planner.feeds.parse import ParsedFeed
from planner.feeds.store import store
from planner.models import Feed
from planner.services import audit, feed_autodraft

RECENT = 10


class Polled(Protocol):
    """A feed's polling columns: a Feed, or a row of them."""

    interval_seconds: int
    etag: str | None
    last_modified: str | None
    consecutive_failures: int
    last_error: str | None


@dataclass(frozen=True)
class PollResult:
    feed_id: int
    new: int = 0
    drafted: int = 0
    not_modified: bool = False
    error: str | None = None


def bounds(config: dict[str, Any]) -> tuple[float, float]:
    return 60.0 * int(config["FEED_MIN_INTERVAL_MINUTES"]), 60.0 * int(config["FEED_MAX_INTERVAL_MINUTES"])


def warning_of(feed: Polled) -> str | None:
    """What the last successful poll had to recover from, if anything."""
    return feed.last_error if feed.consecutive_failures == 0 else None


def error_of(feed: Polled) -> str | None:
    """Why the last poll failed, while the feed is failing."""
    return feed.last_error if feed.consecutive_failures else None


def record_success(session: Session, feed: Feed, fetched: FetchResult, parsed: ParsedFeed, *,
                   now: datetime, config: dict[str, Any]) -> PollResult:
    stored = store(session, feed, parsed.items, now=now, first_poll_keep=int(config["FEED_FIRST_POLL_KEEP"]),
                   load_new=feed.auto_draft)
    drafted = feed_autodraft.draft_matching(session, feed, stored.items, now=now, config=config) \
        if feed.auto_draft else 0
    feed.title = parsed.title
    feed.site_url = parsed.site_url
    dates = sorted((i.published_at for i in parsed.items if i.published_at), reverse=True)[:RECENT]
    if len(dates) >= 2:
        interval = (dates[0] - dates[-1]).total_seconds() / (len(dates) - 1) / 2
    else:
        interval = feed.interval_seconds * (0.5 if stored.new else 1.5)
    for name, value in _succeeded(feed, fetched, interval, now=now, config=config).items():
        setattr(feed, name, value)
    feed.last_error = parsed.warning[:2000] if parsed.warning else None
    return PollResult(feed.id, new=stored.new, drafted=drafted)


def record_not_modified(session: Session, answers: dict[int, FetchResult], *, now: datetime,
                        config: dict[str, Any]) -> list[PollResult]:
    """Feeds whose servers answered 304, recorded together: one read of what their next look depends
    on (the rows locked, as every record locks its feed) and one UPDATE run for them all."""
    rows = session.execute(
        select(Feed.id, Feed.interval_seconds, Feed.etag, Feed.last_modified, Feed.consecutive_failures,
               Feed.last_error).where(Feed.id.in_(answers)).order_by(Feed.id).with_for_update()).all()
    # The document has not changed, nor what feedparser had to recover from in it.
    changes = [{"feed_id": row.id, **_succeeded(row, answers[row.id], row.interval_seconds * 1.25, now=now,
                                                 config=config), "last_error": warning_of(row)}
               for row in rows]
    if changes:
        table = Feed.__table__
        session.execute(update(table).where(table.c.id == bindparam("feed_id")), changes)
    found = {row.id for row in rows}
    return [PollResult(feed_id, not_modified=True) if feed_id in found
            else PollResult(feed_id, error="the feed no longer exists") for feed_id in answers]


def _succeeded(feed: Polled, fetched: FetchResult, interval: float, *, now: datetime,
               config: dict[str, Any]) -> dict[str, Any]:
    """The feed's polling columns after a successful look."""
    low, high = bounds(config)
    interval_seconds = int(min(high, max(low, interval)))
    wait = max(interval_seconds, min(high, max(fetched.max_age or 0, fetched.retry_after or 0)))
    return {"interval_seconds": interval_seconds, "next_check_at": now + timedelta(seconds=wait),
            "etag": (fetched.etag or feed.etag or "")[:500] or None,
            "last_modified": (fetched.last_modified or feed.last_modified or "")[:100] or None,
            "last_polled_at": now, "consecutive_failures": 0, "last_error": None}


def record_failure(session: Session, feed: Feed, error: str, *, now: datetime, config: dict[str, Any],
                   retry_after: float | None = None) -> PollResult:
    low, high = bounds(config)
    feed.consecutive_failures += 1
    feed.last_error = error[:2000]
    backoff = min(high, low * 2 ** (feed.consecutive_failures - 1))
    feed.next_check_at = now + timedelta(seconds=max(backoff, min(high, retry_after or 0)))
    if feed.consecutive_failures >= int(config["FEED_MAX_FAILURES"]) and not feed.paused:
        feed.paused = True
        audit.record(session, at=now, actor="feed poller", action="feed.pause", subject_type="feed",
                     subject_id=feed.id, failures=feed.consecutive_failures, error=feed.last_error)
    return PollResult(feed.id, error=error)
