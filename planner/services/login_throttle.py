"""Throttling sign-in guesses per email and per client address, shared by every web process.

A sliding window over the ``login_failures`` table: after ``limit`` failures within ``window``
seconds, further attempts are refused until the oldest of those failures leaves the window. A correct
password clears its email's failures (not its address's: one address may be guessing many accounts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from planner.models import LoginFailure


@dataclass(frozen=True)
class Limits:
    per_email: int
    per_address: int
    window_seconds: int

    @classmethod
    def from_config(cls, config: dict) -> Limits:  # type: ignore[type-arg]
        return cls(per_email=int(config["LOGIN_FAILURE_LIMIT"]),
                   per_address=int(config["LOGIN_FAILURE_LIMIT_PER_ADDRESS"]),
                   window_seconds=int(config["LOGIN_FAILURE_WINDOW_SECONDS"]))


def _keys(email: str, address: str, limits: Limits) -> list[tuple[str, str, int]]:
    return [("email", email.strip().lower()[:254], limits.per_email),
            ("address", address[:254], limits.per_address)]


def retry_after(session: Session, email: str, address: str, limits: Limits, now: datetime) -> int | None:
    """Seconds until this email and address may try again, or None when they may now."""
    window = timedelta(seconds=limits.window_seconds)
    waits = []
    for scope, key, limit in _keys(email, address, limits):
        recent = list(session.scalars(
            select(LoginFailure.at).where(LoginFailure.scope == scope, LoginFailure.key == key,
                                          LoginFailure.at > now - window)
            .order_by(LoginFailure.at.desc()).limit(limit)))
        if len(recent) >= limit:
            waits.append(math.ceil((recent[-1] + window - now).total_seconds()))
    return max(max(waits), 1) if waits else None


def record_failure(session: Session, email: str, address: str, limits: Limits, now: datetime) -> None:
    session.execute(delete(LoginFailure).where(
        LoginFailure.at <= now - timedelta(seconds=limits.window_seconds)))
    for scope, key, _limit in _keys(email, address, limits):
        session.add(LoginFailure(scope=scope, key=key, at=now))


def clear(session: Session, email: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.scope == "email",
                                               LoginFailure.key == email.strip().lower()[:254]))
