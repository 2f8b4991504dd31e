"""Accounts: creating users, checking passwords, issuing and resolving API tokens."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from planner.crypto import token_digest
from planner.errors import Conflict, NotFound, ValidationFailed
from planner.models import ApiToken, Role, User
from planner.services import audit, passwords

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TOKEN_PREFIX = "plnr_"
TOKEN_SCOPES = ("write", "read")


def create_user(
    session: Session, *, email: str, role: str, password: str, now: datetime, name: str = ""
) -> User:
    email = email.strip().lower()
    errors = {}
    if not EMAIL.match(email) or len(email) > 254:
        errors["email"] = _("%(email)r is not an email address", email=email)
    if role not in Role.__members__:
        errors["role"] = _("role must be one of %(roles)s", roles=", ".join(Role))
    weakness = passwords.problem(password, email)
    if weakness:
        errors["password"] = weakness
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


def change_password(session: Session, user: User, *, current: str, new: str, now: datetime) -> None:
    """Set a new password after checking the current one; every other session is signed out."""
    if not check_password_hash(user.password_hash, current):
        raise ValidationFailed(_("the password was not changed"),
                               {"current_password": _("this is not your current password")})
    if new == current:
        raise ValidationFailed(_("the password was not changed"), {
            "new_password": _("the new password is the same as the current one")})
    set_password(session, user, new, actor=user, now=now, field="new_password")


def set_password(session: Session, user: User, new: str, *, actor: User | str, now: datetime,
                 field: str = "password") -> None:
    """Replace the password (after the rules allow it) and sign the user out everywhere."""
    weakness = passwords.problem(new, user.email)
    if weakness:
        raise ValidationFailed(_("the password was not changed"), {field: weakness})
    user.password_hash = generate_password_hash(new)
    user.session_version += 1
    audit.record(session, at=now, actor=actor, action="user.password_change", subject_type="user",
                 subject_id=user.id)


def sign_out_everywhere(session: Session, user: User, *, now: datetime) -> None:
    """End every session of this user, on every device, at their next request."""
    user.session_version += 1
    audit.record(session, at=now, actor=user, action="user.sign_out_everywhere", subject_type="user",
                 subject_id=user.id)


def user_for_session(session: Session, session_id: str) -> User | None:
    """The active user a session names (``"id:version"``), if that session was not signed out."""
    user_id, _sep, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(_("no user with the email %(email)s", email=email))
    return user


def create_token(session: Session, user: User, *, now: datetime, name: str = "cli",
                 scope: str = "write") -> str:
    """Issue a bearer token; only its digest is stored, so this is the one time it is seen."""
    if scope not in TOKEN_SCOPES:
        message = _("scope must be one of %(scopes)s", scopes=", ".join(TOKEN_SCOPES))
        raise ValidationFailed(_("the token was not created"), {"scope": message})
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name[:100], scope=scope, token_hash=token_digest(token),
                         created_at=now))
    session.flush()
    audit.record(session, at=now, actor=user, action="token.create", subject_type="user",
                 subject_id=user.id, name=name, scope=scope)
    return token


def token_for_request(session: Session, token: str, now: datetime) -> ApiToken | None:
    """The live token with this value, its use noted; None for an unknown or revoked one."""
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None))
    )
    if row is None or not row.user.active:
        return None
    row.last_used_at = now
    return row


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())))


def revoke_token(session: Session, token_id: int, *, actor: User | str, now: datetime,
                 owner: User | None = None) -> ApiToken:
    """Revoke a token at once; with ``owner``, only one of that user's own tokens."""
    row = session.get(ApiToken, token_id)
    if row is None or (owner is not None and row.user_id != owner.id):
        raise NotFound(_("token %(id)s does not exist", id=token_id))
    if row.revoked_at is None:
        row.revoked_at = now
        audit.record(session, at=now, actor=actor, action="token.revoke", subject_type="user",
                     subject_id=row.user_id, token_id=row.id, name=row.name)
    return row
