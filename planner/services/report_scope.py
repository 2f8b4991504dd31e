"""What a report is narrowed to: one channel, the channels carrying a tag, and/or one post kind."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Integer, Select, cast, exists, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from planner.models import Channel, ChannelTag, Delivery, Post, Review, Slot
from planner.models.feed import FeedItem, feed_channels


@dataclass(frozen=True)
class Scope:
    """Deliveries, posts and reviews are narrowed by all three; guest sessions and feed items by
    what they have: a slot's channels and its one kind, a feed's default channels (see below)."""

    channel_id: int | None = None
    tag: str | None = None
    kind: str | None = None
    # The channels in scope and the feeds sharing to them, looked up once (see ``resolved``).
    channel_ids: tuple[int, ...] | None = None
    feed_ids: tuple[int, ...] | None = None

    def resolved(self, session: Session) -> Scope:
        """The same scope with the ids of its channels and feeds looked up (two small queries), so
        that each figure's query names them instead of joining the tags again. Given a list, the
        database reads the period's rows once and keeps those of the listed channels; given the
        tag subquery, PostgreSQL without statistics (as just after a bulk load) went through the
        period once per tagged channel, and took seven times as long for a year's report."""
        found = self._channels()
        if found is None or self.channel_ids is not None:
            return self
        channel_ids = tuple(session.scalars(found))
        feeds = select(feed_channels.c.feed_id).where(feed_channels.c.channel_id.in_(channel_ids))
        return replace(self, channel_ids=channel_ids,
                       feed_ids=tuple(session.scalars(feeds.distinct())))

    def channels(self) -> Select[Any] | Sequence[int] | None:
        """The channels in scope (their ids once resolved, a subquery before), or None when every
        channel is."""
        return self.channel_ids if self.channel_ids is not None else self._channels()

    def _channels(self) -> Select[Any] | None:
        if self.channel_id is None and not self.tag:
            return None
        query = select(Channel.id)
        if self.channel_id is not None:
            query = query.where(Channel.id == self.channel_id)
        if self.tag:
            tagged = select(ChannelTag.channel_id).where(ChannelTag.tag == self.tag)
            query = query.where(Channel.id.in_(tagged))
        return query

    def deliveries(self, query: Select[Any]) -> Select[Any]:
        channels = self.channels()
        if channels is not None:
            query = query.where(Delivery.channel_id.in_(channels))
        if self.kind:
            query = query.where(Delivery.post_id.in_(select(Post.id).where(Post.kind == self.kind)))
        return query

    def posts(self, query: Select[Any]) -> Select[Any]:
        if self.kind:
            query = query.where(Post.kind == self.kind)
        return self._reaching(query, Post.id)

    def reviews(self, query: Select[Any]) -> Select[Any]:
        """Reviews of the posts in scope."""
        if self.kind:
            query = query.where(Review.post_id.in_(select(Post.id).where(Post.kind == self.kind)))
        return self._reaching(query, Review.post_id)

    def _reaching(self, query: Select[Any], post_id: ColumnElement[int]) -> Select[Any]:
        """Rows whose post goes to a channel in scope. Asked of each row's post (the unique
        post × channel index answers), rather than collecting every post the channels ever had."""
        channels = self.channels()
        if channels is None:
            return query
        return query.where(exists().where(Delivery.post_id == post_id, Delivery.channel_id.in_(channels)))

    def slots(self, query: Select[Any], dialect: str) -> Select[Any] | None:
        """Guest sessions are posts of the kind ``guest_session`` that go to their slot's channels:
        another kind leaves none (None), a channel or tag keeps the slots that reach it."""
        if self.kind and self.kind != "guest_session":
            return None
        channels = self.channels()
        if channels is None:
            return query
        return query.where(_slot_reaches(dialect, channels))

    def feed_items(self, query: Select[Any]) -> Select[Any]:
        """Feed items have no kind of their own; a channel or tag keeps the feeds whose default
        channels (where their shares go) include it."""
        channels = self.channels()
        if channels is None:
            return query
        if self.feed_ids is not None:
            return query.where(FeedItem.feed_id.in_(self.feed_ids))
        feeds = select(feed_channels.c.feed_id).where(feed_channels.c.channel_id.in_(channels))
        return query.where(FeedItem.feed_id.in_(feeds))


def _slot_reaches(dialect: str, channels: Select[Any]) -> ColumnElement[bool]:
    """Whether any id in the slot's JSON list of channels is one of ``channels``."""
    if dialect == "sqlite":
        each = func.json_each(Slot.channel_ids).table_valued("value")
        return exists(select(1).select_from(each).where(each.c.value.in_(channels)))
    each = func.json_array_elements_text(Slot.channel_ids).table_valued("value")
    return exists(select(1).select_from(each).where(cast(each.c.value, Integer).in_(channels)))
