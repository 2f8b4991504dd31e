"""Posts and what they target."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.models.base import Base
from planner.models.channel import Channel
from planner.models.user import User

if TYPE_CHECKING:
    from planner.models.series import Series


class PostKind(StrEnum):
    tutorial = "tutorial"
    share = "share"
    greeting = "greeting"
    guest_session = "guest_session"
    announcement = "announcement"


class PostStatus(StrEnum):
    draft = "draft"
    in_review = "in_review"
    approved = "approved"
    published = "published"
    failed = "failed"
    canceled = "canceled"
    expired = "expired"


post_channels = Table(
    "post_channels",
    Base.metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("channel_id", ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True),
)


class Post(Base):
    __tablename__ = "posts"
    # One post per occurrence of a series, however many dispatchers materialise it at once.
    __table_args__ = (UniqueConstraint("series_id", "occurrence_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True, default=PostStatus.draft)
    scheduled_at: Mapped[datetime | None] = mapped_column(index=True)
    expires_at: Mapped[datetime | None]
    # Bumped whenever the content changes, so a re-approved post gets fresh idempotency keys.
    revision: Mapped[int] = mapped_column(default=1)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    # An occurrence of a series: the rule's original start of it, and whether it was edited on
    # its own (then editing the series leaves it alone).
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id", ondelete="SET NULL"))
    occurrence_at: Mapped[datetime | None]
    detached: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    author: Mapped[User] = relationship(lazy="joined")
    channels: Mapped[list[Channel]] = relationship(
        secondary=post_channels, order_by=Channel.name, lazy="selectin"
    )
    tag_rows: Mapped[list[PostTag]] = relationship(
        cascade="all, delete-orphan", order_by="PostTag.tag", lazy="selectin"
    )
    series: Mapped[Series | None] = relationship(lazy="select")

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class PostTag(Base):
    __tablename__ = "post_tags"
    __table_args__ = (UniqueConstraint("post_id", "tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(50))
