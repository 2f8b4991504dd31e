"""Feeds are polled by the dispatcher's clock, and on demand by ``planner feeds poll``."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from planner.cli import main
from planner.models import Feed
from planner.worker.runner import DispatcherService
from tests.feed_server import serve_samples
from tests.feeds_helpers import allow_loopback, subscribe


@pytest.fixture
def server(fake_platform, st):  # type: ignore[no-untyped-def]
    allow_loopback(st)
    return fake_platform(serve_samples)


def test_the_dispatcher_polls_due_feeds(st, make, server, clock):  # type: ignore[no-untyped-def]
    clock.set(datetime.now(UTC))  # APScheduler's own clock is the real one
    feed_id = subscribe(st, make.user("editor"), server.url + "/rss2.xml")
    polled = threading.Event()
    with st.sessions() as session, session.begin():
        session.execute(update(Feed).where(Feed.id == feed_id).values(next_check_at=clock.now()))
    service = DispatcherService(st)
    service.scheduler.add_listener(lambda event: event.job_id == "feeds" and polled.set())
    service.start()
    try:
        assert polled.wait(20), "the feed job did not run"
    finally:
        service.stop()
    assert [r.path for r in server.requests] == ["/rss2.xml", "/rss2.xml"]
    assert server.requests[-1].headers["If-None-Match"]


def test_the_poll_command(database_url, tmp_path, st, make, server, clock):  # type: ignore[no-untyped-def]
    env = {"PLANNER_INSTANCE_PATH": str(tmp_path / "instance"), "PLANNER_DATABASE_URL": database_url,
           "PLANNER_FETCH_ALLOWLIST": "127.0.0.1"}
    clock.set(datetime.now(UTC))  # the command runs on the real clock
    feed_id = subscribe(st, make.user("editor"), server.url + "/atom.xml")
    result = CliRunner().invoke(main, ["feeds", "poll"], env=env)
    assert (result.exit_code, result.output) == (0, "no feed is due\n")
    result = CliRunner().invoke(main, ["feeds", "poll", "--all"], env=env)
    assert (result.exit_code, result.output) == (0, f"feed {feed_id}: not modified\n")
    env["PLANNER_FETCH_ALLOWLIST"] = ""
    result = CliRunner().invoke(main, ["feeds", "poll", "--all"], env=env)
    assert result.exit_code == 1
    assert result.output == (f"feed {feed_id}: failed: 127.0.0.1 is a private or reserved address "
                             "(127.0.0.1); add it to FETCH_ALLOWLIST to allow it\n")


def test_the_demo_brings_feeds_without_the_internet(database_url, tmp_path, st):  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from planner.models import FeedItem

    env = {"PLANNER_INSTANCE_PATH": str(tmp_path / "instance"), "PLANNER_DATABASE_URL": database_url}
    result = CliRunner().invoke(main, ["demo"], env=env)
    assert result.exit_code == 0, result.output
    assert "2 feeds with 7 items in the inbox (from bundled sample files)" in result.output
    with st.sessions() as session:
        feeds = session.scalars(select(Feed).order_by(Feed.id)).all()
        assert [f.title for f in feeds] == ["Planet Python", "Real Python"]
        assert [c.name for c in feeds[0].channels] == ["Python learners group 1"]
        assert session.scalar(select(func.count()).select_from(FeedItem)) == 7
