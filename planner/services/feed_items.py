"""The inbox: feed items and what an editor does with them (share, star, dismiss)."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from planner.errors import Conflict, NotFound, ValidationFailed
from planner.feeds.parse import plain_text
from planner.models import Feed, FeedItem, FeedItemState, Post, PostKind, User
from planner.services import audit, posts
from planner.services.posts import PostInput

SUMMARY_CHARS = 280
PAGE = 100
PAGE_MAX = 200
SEARCH_BATCH = 200
SEARCH_SCAN_MAX = 2000  # rows a search reads for one page at most
BULK_MAX = 500
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
MAX_ID = 2**63 - 1
NEWEST_FIRST = (FeedItem.found_at.desc(), FeedItem.published_at.desc().nulls_last(), FeedItem.id)
Key = tuple[datetime, datetime | None, int]


def get_item(session: Session, item_id: int) -> FeedItem:
    item = session.get(FeedItem, item_id)
    if item is None:
        raise NotFound(_("feed item %(id)s does not exist", id=item_id))
    return item


@dataclass(frozen=True)
class ItemPage:
    items: list[FeedItem]
    next_cursor: str | None  # where the next, older page starts; None on the last page


def list_items(session: Session, *, state: str | None = FeedItemState.new, feed_id: int | None = None,
               tag: str | None = None, search: str | None = None, cursor: str | None = None,
               limit: int = PAGE) -> ItemPage:
    """A page of items, newest first; ``cursor`` (a page's ``next_cursor``) continues after it.

    Search words must all appear in the title or the summary's text (not its markup). The database
    narrows the candidates; the text is checked here, a bounded number of rows per page.
    """
    if state is not None and state not in FeedItemState.__members__:
        raise ValidationFailed(_("unknown state"), {"state": _(
            "state must be one of %(states)s", states=", ".join(FeedItemState))})
    if not 1 <= limit <= PAGE_MAX:
        raise ValidationFailed(_("unknown page size"), {"limit": _(
            "between 1 and %(max)s", max=PAGE_MAX)})
    position = _decode(cursor) if cursor else None
    query = select(FeedItem).join(Feed)
    if state is not None:
        query = query.where(FeedItem.state == state)
    if feed_id is not None:
        query = query.where(FeedItem.feed_id == feed_id)
    if tag:
        tagged = [f.id for f in session.scalars(select(Feed)) if tag in f.tags]
        query = query.where(FeedItem.feed_id.in_(tagged))
    typed = (search or "").strip()[:200].split()
    for word in typed:  # as typed too: SQLite's ILIKE folds the case of ASCII letters only
        variants = {word, word.casefold(), html.escape(word, quote=False)}
        query = query.where(or_(*(column.ilike(_like(variant), escape="\\")
                                  for column in (FeedItem.title, FeedItem.summary) for variant in variants)))
    words = [word.casefold() for word in typed]
    batch = limit + 1 if not words else max(limit + 1, SEARCH_BATCH)
    found: list[FeedItem] = []
    scanned = 0
    while True:
        page = query if position is None else query.where(_after(*position))
        rows = list(session.scalars(page.order_by(*NEWEST_FIRST).limit(batch)))
        for item in rows:
            position = _key(item)
            if not words or _says(item, words):
                found.append(item)
                if len(found) > limit:
                    return ItemPage(found[:limit], _encode(_key(found[limit - 1])))
        scanned += len(rows)
        if len(rows) < batch:
            return ItemPage(found, None)
        if scanned >= SEARCH_SCAN_MAX and position is not None:
            return ItemPage(found, _encode(position))  # a short page; "older" goes on from here



def _key(item: FeedItem) -> Key:
    return item.found_at, item.published_at, item.id


def _after(found_at: datetime, published_at: datetime | None, item_id: int) -> ColumnElement[bool]:
    """The rows after ``(found_at, published_at, id)`` in NEWEST_FIRST order."""
    if published_at is None:
        later = and_(FeedItem.published_at.is_(None), FeedItem.id > item_id)
    else:
        later = or_(FeedItem.published_at < published_at, FeedItem.published_at.is_(None),
                    and_(FeedItem.published_at == published_at, FeedItem.id > item_id))
    return or_(FeedItem.found_at < found_at, and_(FeedItem.found_at == found_at, later))


def _encode(key: Key) -> str:
    found_at, published_at, item_id = key
    micros = [str((d - EPOCH) // MICROSECOND) if d else "" for d in (found_at, published_at)]
    return base64.urlsafe_b64encode(":".join([*micros, str(item_id)]).encode()).decode().rstrip("=")


def _decode(cursor: str) -> Key:
    try:
        found, published, item_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)) \
            .decode().split(":")
        if not 0 < int(item_id) <= MAX_ID:
            raise ValueError(item_id)
        return (_instant(int(found)), _instant(int(published)) if published else None, int(item_id))
    except (ValueError, OverflowError):
        raise ValidationFailed(_("unknown page"), {"cursor": _(
            "not a cursor this list gave out")}) from None


def _instant(micros: int) -> datetime:
    return EPOCH + micros * MICROSECOND


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _says(item: FeedItem, words: list[str]) -> bool:
    text = f"{item.title}\n{plain_text(item.summary)}".casefold()
    return all(word in text for word in words)


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(FeedItem.state, func.count()).group_by(FeedItem.state))
    found = dict(rows.all())
    return {state: found.get(state, 0) for state in FeedItemState}


def short_summary(item: FeedItem) -> str:
    text = plain_text(item.summary)
    if len(text) <= SUMMARY_CHARS:
        return text
    return text[:SUMMARY_CHARS].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


def share_input(item: FeedItem, feed: Feed) -> PostInput:
    """A share post's content: title, a short summary, the link and the source's name."""
    parts = [short_summary(item)] if item.summary else []
    if item.link:
        parts.append(item.link)
    parts.append(_("Source: %(name)s", name=feed.name))
    return PostInput(kind=PostKind.share, title=item.title[: posts.TITLE_MAX],
                     body="\n\n".join(p for p in parts if p),
                     channel_ids=[c.id for c in feed.channels if c.enabled])


def share(session: Session, user: User, item: FeedItem, *, now: datetime) -> Post:
    """A draft share post for a person to finish in the editor; the item becomes used."""
    # The item's row locked and read afresh: of two clicks at once, the second waits for the first
    # and sees the item used (SQLite's write transactions already take turns).
    session.scalars(select(FeedItem).where(FeedItem.id == item.id).with_for_update(of=FeedItem)
                    .execution_options(populate_existing=True)).one()
    if item.state == FeedItemState.used and item.post_id is not None:
        raise Conflict(_("this item was already shared as post %(id)s", id=item.post_id))
    post = posts.create_post(session, user, share_input(item, item.feed), now=now)
    _set(session, user, item, FeedItemState.used, now, post_id=post.id)
    return post


def set_state(session: Session, user: User, item: FeedItem, state: str, *, now: datetime) -> FeedItem:
    """Star, unstar (back to new) or dismiss; a used item stays used."""
    if state not in (FeedItemState.new, FeedItemState.starred, FeedItemState.dismissed):
        raise ValidationFailed(_("unknown state"), {"state": _("choose new, starred or dismissed")})
    if item.state == FeedItemState.used:
        raise Conflict(_("this item was already shared; it stays in used"))
    _set(session, user, item, FeedItemState(state), now)
    return item


def dismiss_many(session: Session, user: User, item_ids: list[int], *, now: datetime) -> int:
    ids = list(dict.fromkeys(item_ids))
    if not ids:
        raise ValidationFailed(_("nothing was dismissed"), {"item_ids": _("choose at least one item")})
    if len(ids) > BULK_MAX:
        raise ValidationFailed(_("nothing was dismissed"),
                               {"item_ids": _("at most %(limit)s at once", limit=BULK_MAX)})
    found = set(session.scalars(select(FeedItem.id).where(FeedItem.id.in_(ids))))
    missing = sorted(set(ids) - found)
    if missing:
        raise NotFound(_("unknown feed item id(s): %(ids)s", ids=", ".join(map(str, missing))))
    changed = session.execute(
        update(FeedItem).where(FeedItem.id.in_(ids),
                               FeedItem.state.in_([FeedItemState.new, FeedItemState.starred]))
        .values(state=FeedItemState.dismissed, state_changed_at=now)
    ).rowcount
    audit.record(session, at=now, actor=user, action="feed_item.dismiss", subject_type="feed_item",
                 subject_id=None, item_ids=ids, dismissed=changed)
    return changed


def _set(session: Session, user: User, item: FeedItem, state: FeedItemState, now: datetime,
         **extra: int) -> None:
    before = item.state
    item.state, item.state_changed_at = state, now
    for name, value in extra.items():
        setattr(item, name, value)
    audit.record(session, at=now, actor=user, action=f"feed_item.{state}", subject_type="feed_item",
                 subject_id=item.id, state_before=before, **extra)
