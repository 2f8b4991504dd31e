"""Demo feeds: real feed addresses, with items read from sample files bundled in the package, so the
demo needs no internet. When the machine is online the dispatcher polls the real feeds later."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from planner.feeds.fetch import FetchResult
from planner.feeds.parse import parse
from planner.models import Channel, Feed, User
from planner.services import audit, feed_polls

SAMPLES = Path(__file__).resolve().parent / "samples"
DEMO_FEEDS = [
    # (address, bundled sample, tags)
    ("https://planetpython.org/rss20.xml", "planet-python.xml", ["python"]),
    ("https://realpython.com/atom.xml", "real-python.atom", ["python", "data"]),
]


def create_demo_feeds(session: Session, owner: User, channels: list[Channel], *, now: datetime,
                      config: dict[str, Any]) -> str:
    items = 0
    for url, sample, tags in DEMO_FEEDS:
        parsed = parse((SAMPLES / sample).read_bytes(), url)
        feed = Feed(url=url, site_url=parsed.site_url, title=parsed.title, tags=tags, owner_id=owner.id,
                    next_check_at=now, created_at=now, channels=channels)
        session.add(feed)
        session.flush()
        audit.record(session, at=now, actor="demo", action="feed.subscribe", subject_type="feed",
                     subject_id=feed.id, url=url)
        items += feed_polls.record_success(session, feed, FetchResult(url=url, status=200), parsed,
                                           now=now, config=config).new
    return f"{len(DEMO_FEEDS)} feeds with {items} items in the inbox (from bundled sample files)"
