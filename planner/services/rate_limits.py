"""A fixed-window rate limit kept in the database, so every web worker counts the same requests."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from planner.errors import PlannerError
from planner.models import RateLimitWindow


class RateLimited(PlannerError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def hit(sessions: sessionmaker[Session], key: str, *, limit: int, window_seconds: int,
        now: datetime) -> int | None:
    """Count one request under ``key``; over ``limit`` in this window, the seconds until it ends."""
    start = int(now.timestamp()) // window_seconds * window_seconds
    window_start = datetime.fromtimestamp(start, UTC)
    table = RateLimitWindow.__table__
    with sessions() as session, session.begin():
        dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
        statement = dialect.insert(table).values(key=key, window_start=window_start, hits=1)
        statement = statement.on_conflict_do_update(
            index_elements=["key", "window_start"], set_={"hits": table.c.hits + 1},
        ).returning(table.c.hits)
        hits = session.execute(statement).scalar_one()
        if hits == 1:  # a new window: forget the finished ones
            session.execute(delete(RateLimitWindow).where(RateLimitWindow.window_start < window_start))
    if hits <= limit:
        return None
    return max(1, math.ceil(start + window_seconds - now.timestamp()))
