"""People who sign in, their roles, and their API tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.models.base import Base


class Role(StrEnum):
    editor = "editor"
    operator = "operator"
    admin = "admin"


_RANK = {Role.editor: 1, Role.operator: 2, Role.admin: 3}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(16))
    # An IANA name such as Asia/Shanghai; None follows the workspace timezone.
    timezone: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    # Part of every session: raising it signs this user out everywhere (password change, or asked).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime]
    # The private calendar link: its SHA-256 digest finds the user, and the link itself is kept
    # sealed with the instance's encryption key so its owner can copy it again later.
    calendar_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    calendar_token_sealed: Mapped[str | None] = mapped_column(Text)
    calendar_token_created_at: Mapped[datetime | None]

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")

    def has_role(self, role: Role) -> bool:
        """True when this user's role is ``role`` or ranks above it."""
        return _RANK[Role(self.role)] >= _RANK[role]

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """What the session cookie names: the user and their session version (``"7:2"``)."""
        return f"{self.id}:{self.session_version}"


class ApiToken(Base):
    """A bearer token for the HTTP API; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # "write" may do whatever its user may; "read" only reads (GET), whatever its user's role.
    scope: Mapped[str] = mapped_column(String(16), default="write", server_default="write")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")
