"""Recurring series: a rule in a timezone, a template and a pool of texts; each occurrence is a post."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.models.base import Base
from planner.models.channel import Channel
from planner.models.user import User


class SeriesStatus(StrEnum):
    active = "active"
    ended = "ended"


series_channels = Table(
    "series_channels",
    Base.metadata,
    Column("series_id", ForeignKey("series.id", ondelete="CASCADE"), primary_key=True),
    Column("channel_id", ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True),
)


class Series(Base):
    __tablename__ = "series"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    # One RFC 5545 RRULE, evaluated on the local wall-clock time of ``starts_at`` in ``timezone``.
    rrule: Mapped[str] = mapped_column(String(500))
    timezone: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime]
    template: Mapped[str] = mapped_column(Text)
    # Occurrence i uses pool[i mod len(pool)] for ``{text}``.
    pool: Mapped[list[str]] = mapped_column(default=list)
    expires_after_minutes: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default=SeriesStatus.active)
    ended_at: Mapped[datetime | None]
    # The first occurrence not yet considered for materialising; None once the rule has no more.
    next_occurrence_at: Mapped[datetime | None] = mapped_column(index=True)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id], lazy="joined")
    channels: Mapped[list[Channel]] = relationship(
        secondary=series_channels, order_by=Channel.name, lazy="selectin"
    )
    tag_rows: Mapped[list[SeriesTag]] = relationship(
        cascade="all, delete-orphan", order_by="SeriesTag.tag", lazy="selectin"
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class SeriesTag(Base):
    __tablename__ = "series_tags"
    __table_args__ = (UniqueConstraint("series_id", "tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(50))
