"""What the calendar shows: posts in a time range and the drafts still without a time.

Each is one SQL statement that reads only the columns the calendar needs; a post's channel ids and
tags come along as aggregated strings, so a month of a large workspace costs one round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import Select, String, cast, func, or_, select
from sqlalchemy.orm import Session

from planner.errors import ValidationFailed
from planner.models import ChannelTag, Post, PostStatus, PostTag, User, post_channels
from planner.services import series as series_service

MAX_RANGE = timedelta(days=100)
MAX_ITEMS = 5000
TRAY_ITEMS = 200


@dataclass(frozen=True)
class CalendarFilter:
    kind: str | None = None
    status: str | None = None
    channel_id: int | None = None
    tag: str | None = None
    author_id: int | None = None


@dataclass(slots=True)
class Entry:
    id: int
    kind: str
    title: str
    status: str
    scheduled_at: datetime | None
    expires_at: datetime | None
    author_id: int
    author_name: str
    channel_ids: list[int]
    tags: list[str]


def check_range(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValidationFailed(_("the range is empty"), {"end": _("end must be after start")})
    if end - start > MAX_RANGE:
        raise ValidationFailed(_("the range is too long"), {
            "end": _("at most %(days)s days from start; ask for the calendar in parts",
                     days=MAX_RANGE.days)})


def in_range(session: Session, start: datetime, end: datetime,
             filters: CalendarFilter | None = None) -> tuple[list[Entry], bool]:
    """Posts scheduled in [start, end), in time order, and whether there were more than MAX_ITEMS."""
    check_range(start, end)
    query = (_entries(filters)
             .where(Post.scheduled_at >= start, Post.scheduled_at < end)
             .order_by(Post.scheduled_at, Post.id)
             .limit(MAX_ITEMS + 1))
    found = [_entry(row) for row in session.execute(query)]
    return found[:MAX_ITEMS], len(found) > MAX_ITEMS


def series_ahead(session: Session, start: datetime, end: datetime,
                 filters: CalendarFilter | None = None) -> list[dict]:  # type: ignore[type-arg]
    """Occurrences of recurring series in range that are not posts yet. They have no status or
    author of their own, so a filter on either leaves them out."""
    filters = filters or CalendarFilter()
    if filters.status or filters.author_id is not None:
        return []
    found = series_service.projected_occurrences(session, start, end)
    if filters.kind:
        found = [item for item in found if item["kind"] == filters.kind]
    if filters.tag:
        found = [item for item in found if filters.tag in item["tags"]]
    if filters.channel_id is not None:
        carried = set(session.scalars(select(ChannelTag.tag)
                                      .where(ChannelTag.channel_id == filters.channel_id)))
        found = [item for item in found
                 if filters.channel_id in item["channel_ids"] or carried & set(item["tags"])]
    return found[:MAX_ITEMS]


def unscheduled(session: Session, filters: CalendarFilter | None = None) -> list[Entry]:
    """Drafts without a publish time, the most recently changed first: the calendar's tray."""
    query = (_entries(filters)
             .where(Post.scheduled_at.is_(None), Post.status == PostStatus.draft)
             .order_by(Post.updated_at.desc(), Post.id.desc())
             .limit(TRAY_ITEMS))
    return [_entry(row) for row in session.execute(query)]


def _entries(filters: CalendarFilter | None) -> Select:  # type: ignore[type-arg]
    filters = filters or CalendarFilter()
    channel_ids = (select(func.aggregate_strings(cast(post_channels.c.channel_id, String), ","))
                   .where(post_channels.c.post_id == Post.id).scalar_subquery())
    tags = select(func.aggregate_strings(PostTag.tag, ",")).where(PostTag.post_id == Post.id) \
        .scalar_subquery()
    query = select(Post.id, Post.kind, Post.title, Post.status, Post.scheduled_at, Post.expires_at,
                   Post.author_id, User.name, channel_ids, tags).join(User, User.id == Post.author_id)
    if filters.kind:
        query = query.where(Post.kind == filters.kind)
    if filters.status:
        query = query.where(Post.status == filters.status)
    if filters.author_id is not None:
        query = query.where(Post.author_id == filters.author_id)
    if filters.tag:
        query = query.where(Post.id.in_(select(PostTag.post_id).where(PostTag.tag == filters.tag)))
    if filters.channel_id is not None:
        # A post reaches a channel by naming it or by a tag the channel carries.
        query = query.where(or_(
            Post.id.in_(select(post_channels.c.post_id)
                        .where(post_channels.c.channel_id == filters.channel_id)),
            Post.id.in_(select(PostTag.post_id).join(ChannelTag, ChannelTag.tag == PostTag.tag)
                        .where(ChannelTag.channel_id == filters.channel_id)),
        ))
    return query


def _entry(row) -> Entry:  # type: ignore[no-untyped-def]
    (post_id, kind, title, status, scheduled_at, expires_at, author_id, author_name,
     channel_ids, tags) = row
    return Entry(id=post_id, kind=kind, title=title, status=status, scheduled_at=scheduled_at,
                 expires_at=expires_at, author_id=author_id, author_name=author_name,
                 channel_ids=sorted(int(i) for i in channel_ids.split(",")) if channel_ids else [],
                 tags=sorted(tags.split(",")) if tags else [])


def authors(session: Session) -> list[tuple[int, str]]:
    """People who can write posts, for the author filter: (id, name) by name."""
    return [(row.id, row.name) for row in session.execute(
        select(User.id, User.name).where(User.active.is_(True)).order_by(User.name, User.id))]


def known_tags(session: Session) -> list[str]:
    """Tags that channels carry or posts are aimed at, for the tag filter."""
    return sorted(set(session.scalars(select(ChannelTag.tag).distinct()))
                  | set(session.scalars(select(PostTag.tag).distinct())))
