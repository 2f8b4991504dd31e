"""Rate limits on the public booking pages and API: per client address and endpoint."""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _

from planner.services import rate_limits
from planner.services.rate_limits import RateLimited
from planner.state import state


def enforce(name: str, *, write: bool) -> None:
    """Count this request; raise :class:`RateLimited` when the client is over its limit.

    Call it before the request's own session starts, so on SQLite it never waits on itself.
    """
    st = state()
    limit = st.config["PUBLIC_RATE_LIMIT_WRITES" if write else "PUBLIC_RATE_LIMIT_READS"]
    retry_after = rate_limits.hit(
        st.sessions, f"{request.remote_addr}|{name}|{'write' if write else 'read'}", limit=int(limit),
        window_seconds=int(st.config["PUBLIC_RATE_LIMIT_WINDOW_SECONDS"]), now=st.clock.now())
    if retry_after is not None:
        raise RateLimited(_("Too many requests; please try again in %(seconds)s seconds.",
                            seconds=retry_after), retry_after)
