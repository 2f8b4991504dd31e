"""Channels: one publishing target each (a chat group's robot, a forum category, an account)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.models.base import Base


class Channel(Base):
    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100), unique=True)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Secret settings, encrypted as one JSON document; never shown again once saved.
    secrets_encrypted: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    rate_per_minute: Mapped[int | None]
    # Shared by every dispatcher: the earliest time this target may be sent to again.
    next_send_at: Mapped[datetime | None]
    # The circuit breaker: after repeated failures the target rests until this time.
    consecutive_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    breaker_open_until: Mapped[datetime | None]
    created_at: Mapped[datetime]

    tag_rows: Mapped[list[ChannelTag]] = relationship(
        cascade="all, delete-orphan", order_by="ChannelTag.tag", lazy="selectin"
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class ChannelTag(Base):
    """A label such as ``python-groups``: a post aimed at a tag fans out to every channel carrying it."""

    __tablename__ = "channel_tags"
    __table_args__ = (UniqueConstraint("channel_id", "tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(50), index=True)
