"""Storing parsed items: dedupe by GUID, then link, then content hash, against every item the feed
ever brought (dismissed ones included: they are the tombstones that keep an item from coming back)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from planner.feeds.parse import ParsedItem
from planner.feeds.rules import admitted
from planner.models import Feed, FeedItem, FeedItemState

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def unseen(session: Session, feed_id: int, items: list[ParsedItem]) -> list[ParsedItem]:
    """The items this feed has not brought before, each once, in the feed's order."""
    guids = {i.guid for i in items if i.guid}
    links = {i.link for i in items if i.link}
    hashes = {i.content_hash for i in items}
    known_guids: set[str | None] = set()
    known_links: set[str] = set()
    known_hashes: set[str] = set()
    if items:
        rows = session.execute(
            select(FeedItem.guid, FeedItem.link, FeedItem.content_hash).where(
                FeedItem.feed_id == feed_id,
                or_(FeedItem.guid.in_(guids), FeedItem.link.in_(links),
                    FeedItem.content_hash.in_(hashes)))
        )
        for guid, link, content_hash in rows:
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


def store(session: Session, feed: Feed, items: list[ParsedItem], *, now: datetime,
          first_poll_keep: int) -> list[FeedItem]:
    """Add the unseen, admitted items; the new ones are returned.

    On a feed's first poll only the newest ``first_poll_keep`` items enter the inbox: the rest of the
    backlog is stored dismissed, so it neither floods the inbox now nor arrives later.
    """
    fresh = [i for i in unseen(session, feed.id, items) if admitted(i, feed.keep_rules, feed.block_rules)]
    newest_first = sorted(fresh, key=lambda i: i.published_at or EPOCH, reverse=True)
    backlog = set(map(id, newest_first[first_poll_keep:])) if feed.last_polled_at is None else set()
    if not fresh:
        return []
    rows = [{"feed_id": feed.id, "guid": item.guid, "link": item.link, "content_hash": item.content_hash,
             "title": item.title, "author": item.author, "summary": item.summary,
             "published_at": item.published_at, "found_at": now,
             "state": FeedItemState.dismissed if id(item) in backlog else FeedItemState.new,
             "state_changed_at": now if id(item) in backlog else None} for item in fresh]
    # One multi-row INSERT … RETURNING instead of a unit of work per item.
    created = session.scalars(insert(FeedItem).returning(FeedItem, sort_by_parameter_order=True), rows)
    return [row for row in created if row.state == FeedItemState.new]
