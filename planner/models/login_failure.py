"""Failed sign-ins, kept for a short window so every web process throttles the same guesses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from planner.models.base import Base


class LoginFailure(Base):
    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_lookup", "scope", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))  # "email" or "address"
    key: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(index=True)
