"""Shared by the feed tests: a subscribed feed on the local sample server, and a race set up on purpose."""

from __future__ import annotations

import threading

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


class Rendezvous:
    """Holds the first ``parties`` callers until all have arrived, to open a race window on purpose.

    When a lock keeps the others from arriving, the first one waits ``timeout`` seconds and goes on;
    after that, callers pass straight through.
    """

    def __init__(self, parties: int = 2, timeout: float = 2.0) -> None:
        self.barrier = threading.Barrier(parties, timeout=timeout)

    def after(self, function):  # type: ignore[no-untyped-def]
        """``function``, returning only once the others have called it too."""

        def meet(*args, **kwargs):  # type: ignore[no-untyped-def]
            result = function(*args, **kwargs)
            try:
                self.barrier.wait()
            except threading.BrokenBarrierError:
                pass
            self.barrier.abort()
            return result

        return meet
