"""Storing parsed items: dedupe by GUID, then link, then content hash, against every item the feed
ever brought (dismissed ones included: they are the tombstones that keep an item from coming back)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from planner.feeds.parse import ParsedItem
from planner.feeds.rules import admitted
from planner.models import Feed, FeedItem, FeedItemState

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Stored:
    new: int = 0  # items that entered the inbox
    items: list[FeedItem] = field(default_factory=list)  # those items, when asked for


def unseen(session: Session, feed: Feed, items: list[ParsedItem]) -> list[ParsedItem]:
    """The items this feed has not brought before, each once, in the feed's order."""
    known_guids: set[str | None] = set()
    known_links: set[str] = set()
    known_hashes: set[str] = set()
    for guid, link, content_hash in _known(session, feed, items):
        known_guids.add(guid)
        known_links.add(link)
        known_hashes.add(content_hash)
    fresh = []
    for item in items:
        if ((item.guid and item.guid in known_guids) or (item.link and item.link in known_links)
                or item.content_hash in known_hashes):
            continue
        fresh.append(item)
        known_guids.add(item.guid)
        known_links.add(item.link)
        known_hashes.add(item.content_hash)
    return fresh


def _known(session: Session, feed: Feed, items: list[ParsedItem]) -> list[Any]:
    """The feed's stored items that share a GUID, a link or a content hash with ``items``: one query,
    skipped for a feed that never brought an item (a first poll), which costs a lookup by index."""
    if not items:
        return []
    if feed.last_polled_at is None and session.scalar(
            select(FeedItem.id).where(FeedItem.feed_id == feed.id).limit(1)) is None:
        return []
    guids = {i.guid for i in items if i.guid}
    links = {i.link for i in items if i.link}
    return list(session.execute(
        select(FeedItem.guid, FeedItem.link, FeedItem.content_hash).where(
            FeedItem.feed_id == feed.id,
            or_(FeedItem.guid.in_(guids), FeedItem.link.in_(links),
                FeedItem.content_hash.in_({i.content_hash for i in items})))))


def store(session: Session, feed: Feed, items: list[ParsedItem], *, now: datetime, first_poll_keep: int,
          load_new: bool = False) -> Stored:
    """Add the unseen, admitted items; how many entered the inbox is returned, and with ``load_new``
    those items themselves (automatic drafts change them).

    On a feed's first poll only the newest ``first_poll_keep`` items enter the inbox: the rest of the
    backlog is stored dismissed, so it neither floods the inbox now nor arrives later.
    """
    fresh = [i for i in unseen(session, feed, items) if admitted(i, feed.keep_rules, feed.block_rules)]
    if not fresh:
        return Stored()
    newest_first = sorted(fresh, key=lambda i: i.published_at or EPOCH, reverse=True)
    backlog = set(map(id, newest_first[first_poll_keep:])) if feed.last_polled_at is None else set()
    rows = [{"feed_id": feed.id, "guid": item.guid, "link": item.link, "content_hash": item.content_hash,
             "title": item.title, "author": item.author, "summary": item.summary,
             "published_at": item.published_at, "found_at": now,
             "state": FeedItemState.dismissed if id(item) in backlog else FeedItemState.new,
             "state_changed_at": now if id(item) in backlog else None} for item in fresh]
    new = len(fresh) - len(backlog)
    if not load_new:
        # One executemany of the table's INSERT: no objects to build, nothing sent back.
        session.execute(insert(FeedItem.__table__), rows)
        return Stored(new)
    created = session.scalars(insert(FeedItem).returning(FeedItem, sort_by_parameter_order=True), rows)
    return Stored(new, [row for row in created if row.state == FeedItemState.new])
