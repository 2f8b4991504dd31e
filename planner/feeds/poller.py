"""Polling feeds: claim what is due in a short transaction, fetch and parse outside any transaction,
then record each outcome in a transaction of its own.

Claiming moves a feed's ``next_check_at`` a lease ahead, so several dispatchers never poll the same
feed at once, and a poller that dies leaves the feed due again once the lease runs out.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import lazyload

from planner.db import reading
from planner.errors import ValidationFailed
from planner.feeds.discover import Found, discover
from planner.feeds.fetch import Fetcher, FetchError, FetchPolicy, FetchResult
from planner.feeds.parse import ParsedFeed, ParseError, parse
from planner.models import Feed
from planner.services import feed_polls
from planner.services.feed_polls import PollResult
from planner.state import PlannerState

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)
BATCH = 500


class Fetchers:
    """Fetchers to lend to poll threads: kept-alive connections, never shared at the same time."""

    def __init__(self, policy: FetchPolicy) -> None:
        self.policy = policy
        self._all: list[Fetcher] = []
        self._idle: queue.SimpleQueue[Fetcher] = queue.SimpleQueue()

    @contextmanager
    def borrow(self) -> Iterator[Fetcher]:
        try:
            fetcher = self._idle.get_nowait()
        except queue.Empty:
            fetcher = Fetcher(self.policy)
            self._all.append(fetcher)
        try:
            yield fetcher
        finally:
            self._idle.put(fetcher)

    def close(self) -> None:
        for fetcher in self._all:
            fetcher.close()

    def __enter__(self) -> Fetchers:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Claimed:
    id: int
    url: str
    etag: str | None
    last_modified: str | None


@dataclass
class Outcome:
    claimed: Claimed
    fetched: FetchResult | None = None
    parsed: ParsedFeed | None = None
    problem: str | None = None
    retry: float | None = None


def claim_due(st: PlannerState, limit: int = BATCH, *, every: bool = False) -> list[Claimed]:
    """Feeds due now (or, with ``every``, every enabled feed), leased to this poller."""
    now = st.clock.now()
    query = select(Feed.id, Feed.url, Feed.etag, Feed.last_modified).where(
        Feed.enabled.is_(True), Feed.paused.is_(False))
    if not every:
        query = query.where(Feed.next_check_at <= now)
    with st.sessions() as session, session.begin():
        claimed = [Claimed(*row) for row in session.execute(
            query.order_by(Feed.next_check_at).limit(limit).with_for_update(skip_locked=True))]
        if claimed:
            session.execute(update(Feed).where(Feed.id.in_([c.id for c in claimed]))
                            .values(next_check_at=now + LEASE))
    return claimed


def poll_every(st: PlannerState) -> list[PollResult]:
    return poll_due(st, every=True)


def poll_due(st: PlannerState, fetchers: Fetchers | None = None, *, every: bool = False) -> list[PollResult]:
    """Poll every feed that is due, a few at a time."""
    claimed = claim_due(st, every=every)
    if not claimed:
        return []
    own = fetchers is None
    fetchers = fetchers or Fetchers(FetchPolicy.from_config(st.config))
    try:
        workers = max(1, min(int(st.config["FEED_POLL_CONCURRENCY"]), len(claimed)))
        with ThreadPoolExecutor(workers, thread_name_prefix="planner-feeds") as pool:
            done = list(pool.map(lambda c: _poll(st, c, fetchers), claimed))
        unchanged = [o for o in done if isinstance(o, Outcome)]
        return [r for r in done if isinstance(r, PollResult)] + (_record(st, unchanged) if unchanged else [])
    finally:
        if own:
            fetchers.close()


def find_feed(st: PlannerState, url: str) -> Found:
    """The feed at ``url`` or announced by its page; ValidationFailed says why there is none."""
    try:
        with Fetcher(FetchPolicy.from_config(st.config)) as fetcher:
            return discover(fetcher, url)
    except (FetchError, ParseError) as error:
        raise ValidationFailed(_("the feed was not saved"), {"url": str(error)}) from None


def poll_due_feeds(st: PlannerState) -> None:
    """The dispatcher's feed job: an error is logged, and the next run tries again."""
    try:
        results = poll_due(st)
    except Exception:
        log.exception("polling feeds failed")
        return
    if results:
        log.info("polled %s feeds: %s new items", len(results), sum(r.new for r in results))


def poll_one(st: PlannerState, feed_id: int, fetchers: Fetchers | None = None) -> PollResult:
    """Fetch, parse and record one feed now, whether or not it is due."""
    with st.sessions(bind=reading(st.engine)) as session:
        feed = session.get(Feed, feed_id)
        if feed is None:
            return PollResult(feed_id, error="the feed no longer exists")
        claimed = Claimed(feed.id, feed.url, feed.etag, feed.last_modified)
    own = fetchers is None
    fetchers = fetchers or Fetchers(FetchPolicy.from_config(st.config))
    try:
        return _record(st, [_fetch(claimed, fetchers)])[0]
    finally:
        if own:
            fetchers.close()


def _poll(st: PlannerState, claimed: Claimed, fetchers: Fetchers) -> PollResult | Outcome:
    outcome = _fetch(claimed, fetchers)
    if outcome.fetched is not None and outcome.fetched.not_modified:
        return outcome  # recorded with the other unchanged feeds, in one transaction
    return _record(st, [outcome])[0]


def _fetch(claimed: Claimed, fetchers: Fetchers) -> Outcome:
    """Fetch and parse, outside any transaction."""
    outcome = Outcome(claimed)
    try:
        with fetchers.borrow() as fetcher:
            outcome.fetched = fetcher.fetch(claimed.url, etag=claimed.etag,
                                            last_modified=claimed.last_modified)
        if not outcome.fetched.not_modified:
            outcome.parsed = parse(outcome.fetched.body, outcome.fetched.url, outcome.fetched.content_type)
    except FetchError as error:
        outcome.problem, outcome.retry = str(error), error.retry_after
    except ParseError as error:
        outcome.problem = str(error)
    return outcome


def _record(st: PlannerState, outcomes: list[Outcome]) -> list[PollResult]:
    now = st.clock.now()
    unchanged = {o.claimed.id: o.fetched for o in outcomes
                 if o.problem is None and o.fetched is not None and o.fetched.not_modified}
    others = [o for o in outcomes if o.claimed.id not in unchanged]
    with st.sessions() as session, session.begin():
        results = feed_polls.record_not_modified(session, unchanged, now=now, config=st.config) \
            if unchanged else []
        if not others:
            return results
        # Locked, so a "poll now" and the dispatcher recording the same feed take turns (and dedupe);
        # the default channels loaded only when an automatic draft needs them.
        feeds = {f.id: f for f in session.scalars(
            select(Feed).where(Feed.id.in_([o.claimed.id for o in others])).options(lazyload(Feed.channels))
            .order_by(Feed.id).with_for_update(of=Feed))}
        for outcome in others:
            feed_id, fetched = outcome.claimed.id, outcome.fetched
            feed = feeds.get(feed_id)
            if feed is None:
                results.append(PollResult(feed_id, error="the feed no longer exists"))
            elif outcome.problem is not None or fetched is None or outcome.parsed is None:
                log.info("feed %s failed: %s", feed_id, outcome.problem)
                results.append(feed_polls.record_failure(
                    session, feed, outcome.problem or "no answer", now=now, config=st.config,
                    retry_after=outcome.retry))
            else:
                results.append(feed_polls.record_success(session, feed, fetched, outcome.parsed, now=now,
                                                         config=st.config))
    return results
