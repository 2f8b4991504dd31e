"""A reviewer's decision on a post, with the comment the author sees."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.models.base import Base
from planner.models.user import User


class Review(Base):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(16))  # approved | rejected
    comment: Mapped[str] = mapped_column(Text, default="")
    # When the post was submitted for the review this decision answers: the approval turnaround.
    submitted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(index=True)

    reviewer: Mapped[User] = relationship(lazy="joined")
