"""Feeds an editor follows, and the items they bring into the inbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.models.base import Base
from planner.models.channel import Channel


class FeedItemState(StrEnum):
    new = "new"
    starred = "starred"
    dismissed = "dismissed"  # also the tombstone: a dismissed item is never brought back
    used = "used"


feed_channels = Table(
    "feed_channels",
    Base.metadata,
    Column("feed_id", ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True),
    Column("channel_id", ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True),
)


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    site_url: Mapped[str] = mapped_column(String(2000), default="")
    title: Mapped[str] = mapped_column(String(200), default="")
    title_override: Mapped[str] = mapped_column(String(200), default="")
    tags: Mapped[list[str]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    # Keywords, or /regular expressions/, matched on title, summary, author and link.
    keep_rules: Mapped[list[str]] = mapped_column(default=list)
    block_rules: Mapped[list[str]] = mapped_column(default=list)
    auto_draft: Mapped[bool] = mapped_column(default=False)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Polling: conditional GET validators, when to look next and how the last looks went.
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    next_check_at: Mapped[datetime] = mapped_column(index=True)
    interval_seconds: Mapped[int] = mapped_column(default=3600)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    paused: Mapped[bool] = mapped_column(default=False)
    last_polled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    channels: Mapped[list[Channel]] = relationship(secondary=feed_channels, order_by=Channel.name,
                                                   lazy="selectin")

    @property
    def name(self) -> str:
        return self.title_override or self.title or self.url


class FeedItem(Base):
    __tablename__ = "feed_items"
    __table_args__ = (
        Index("ix_feed_items_feed_guid", "feed_id", "guid"),
        Index("ix_feed_items_feed_link", "feed_id", "link"),
        Index("ix_feed_items_feed_hash", "feed_id", "content_hash"),
        Index("ix_feed_items_state_found", "state", "found_at"),
        # The reports count the items found, and the decisions made, in a period.
        Index("ix_feed_items_found", "found_at", "feed_id"),
        Index("ix_feed_items_decided", "state_changed_at", "state", "feed_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    guid: Mapped[str | None] = mapped_column(String(2000))
    link: Mapped[str] = mapped_column(String(2000), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500))
    author: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(Text, default="")  # sanitised HTML
    published_at: Mapped[datetime | None]
    found_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default=FeedItemState.new)
    state_changed_at: Mapped[datetime | None]
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))

    feed: Mapped[Feed] = relationship(lazy="joined")
