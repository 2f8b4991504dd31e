"""Accounts: creating users, checking passwords, issuing and resolving API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from planner.errors import Conflict, NotFound, ValidationFailed
from planner.models import ApiToken, Role, User
from planner.services import audit

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10
TOKEN_PREFIX = "plnr_"


def create_user(
    session: Session, *, email: str, role: str, password: str, now: datetime, name: str = ""
) -> User:
    email = email.strip().lower()
    errors = {}
    if not EMAIL.match(email) or len(email) > 254:
        errors["email"] = _("%(email)r is not an email address", email=email)
    if role not in Role.__members__:
        errors["role"] = _("role must be one of %(roles)s", roles=", ".join(Role))
    if len(password) < MIN_PASSWORD:
        errors["password"] = _("password must be at least %(count)s characters", count=MIN_PASSWORD)
    if errors:
        raise ValidationFailed(_("the user was not created"), errors)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(_("a user with the email %(email)s already exists", email=email),
                       {"email": _("already taken")})
    user = User(
        email=email,
        name=(name.strip() or email.split("@")[0])[:100],
        role=role,
        password_hash=generate_password_hash(password),
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(session, at=now, actor="system", action="user.create", subject_type="user",
                 subject_id=user.id, email=email, role=role)
    return user


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active:
        # Hash anyway so a missing account takes as long as a wrong password.
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


_DUMMY_HASH = generate_password_hash("not a real password")


def user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(_("no user with the email %(email)s", email=email))
    return user


def create_token(session: Session, user: User, *, now: datetime, name: str = "cli") -> str:
    """Issue a bearer token; only its digest is stored, so this is the one time it is seen."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name, token_hash=_digest(token), created_at=now))
    session.flush()
    audit.record(session, at=now, actor=user, action="token.create", subject_type="user",
                 subject_id=user.id, name=name)
    return token


def user_for_token(session: Session, token: str, now: datetime) -> User | None:
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None))
    )
    if row is None or not row.user.active:
        return None
    row.last_used_at = now
    return row.user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
