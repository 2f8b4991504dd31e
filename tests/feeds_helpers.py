"""Shared by the feed tests: a subscribed feed on the local sample server."""

from __future__ import annotations

from planner.feeds.poller import find_feed
from planner.services import feeds as feed_service
from planner.services.feeds import FeedInput


def allow_loopback(st) -> None:  # type: ignore[no-untyped-def]
    """The tests' feed server is on 127.0.0.1, which feed fetches refuse unless allowed."""
    st.config["FETCH_ALLOWLIST"] = "127.0.0.1"


def subscribe(st, user, url: str, **fields):  # type: ignore[no-untyped-def]
    found = find_feed(st, url)
    with st.sessions() as session, session.begin():
        owner = session.merge(user)
        feed = feed_service.subscribe(session, owner, FeedInput(url=url, **fields), found,
                                      now=st.clock.now(), config=st.config)
        return feed.id
