"""The inbox: feed items and what an editor does with them (share, star, dismiss)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from planner.errors import Conflict, NotFound, ValidationFailed
from planner.feeds.parse import plain_text
from planner.models import Feed, FeedItem, FeedItemState, Post, PostKind, User
from planner.services import audit, posts
from planner.services.posts import PostInput

SUMMARY_CHARS = 280
PAGE = 200
BULK_MAX = 500


def get_item(session: Session, item_id: int) -> FeedItem:
    item = session.get(FeedItem, item_id)
    if item is None:
        raise NotFound(_("feed item %(id)s does not exist", id=item_id))
    return item


def list_items(session: Session, *, state: str | None = FeedItemState.new, feed_id: int | None = None,
               tag: str | None = None, search: str | None = None, limit: int = PAGE) -> list[FeedItem]:
    if state is not None and state not in FeedItemState.__members__:
        raise ValidationFailed(_("unknown state"), {"state": _(
            "state must be one of %(states)s", states=", ".join(FeedItemState))})
    query = select(FeedItem).join(Feed)
    if state is not None:
        query = query.where(FeedItem.state == state)
    if feed_id is not None:
        query = query.where(FeedItem.feed_id == feed_id)
    if tag:
        tagged = [f.id for f in session.scalars(select(Feed)) if tag in f.tags]
        query = query.where(FeedItem.feed_id.in_(tagged))
    if search and search.strip():
        words = search.strip()[:200].split()
        for word in words:
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(or_(FeedItem.title.ilike(pattern, escape="\\"),
                                    FeedItem.summary.ilike(pattern, escape="\\")))
    newest_first = (FeedItem.found_at.desc(), FeedItem.published_at.desc().nulls_last(), FeedItem.id)
    return list(session.scalars(query.order_by(*newest_first).limit(limit)))


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
