"""Private calendar links: a secret token per user that lets a calendar app read that user's plan.

The token is random. Its SHA-256 digest is what finds the user, so the database never has to compare
the token itself; the token is also kept sealed with the instance's encryption key (as channel secrets
are), so its owner can copy the link again on the account page or from ``GET /api/v1/me``. Deriving it
from ``SECRET_KEY`` instead would tie every subscription to the key that signs sessions: rotating that
key to sign everyone out would silently break everyone's calendar. Revoking clears all three columns,
and a new link is a new random token.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.crypto import SecretBox, token_digest
from planner.models import User
from planner.services import audit

TOKEN_BYTES = 32


def create_link(session: Session, box: SecretBox, user: User, *, now: datetime) -> str:
    """Give ``user`` a new calendar token (replacing any old one) and return it."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    replaced = user.calendar_token_hash is not None
    user.calendar_token_hash = token_digest(token)
    user.calendar_token_sealed = box.seal({"token": token})
    user.calendar_token_created_at = now
    audit.record(session, at=now, actor=user, action="calendar_link.create", subject_type="user",
                 subject_id=user.id, replaced=replaced)
    return token


def revoke_link(session: Session, user: User, *, now: datetime) -> None:
    if user.calendar_token_hash is None:
        return
    user.calendar_token_hash = None
    user.calendar_token_sealed = None
    user.calendar_token_created_at = None
    audit.record(session, at=now, actor=user, action="calendar_link.revoke", subject_type="user",
                 subject_id=user.id)


def token_of(box: SecretBox, user: User) -> str | None:
    """The user's current token, or None when there is none (or it was sealed with another key)."""
    if user.calendar_token_sealed is None:
        return None
    try:
        token = box.open(user.calendar_token_sealed).get("token")
    except RuntimeError:
        return None
    return token if isinstance(token, str) else None


def user_for_token(session: Session, token: str) -> User | None:
    """The active user owning ``token``; None for a wrong, revoked or malformed one."""
    if not token or len(token) > 200:
        return None
    digest = token_digest(token)
    user = session.scalar(select(User).where(User.calendar_token_hash == digest))
    if user is None or not user.active or user.calendar_token_hash is None:
        return None
    # The lookup is by digest, which an attacker cannot steer; compare in constant time anyway.
    return user if hmac.compare_digest(user.calendar_token_hash, digest) else None
