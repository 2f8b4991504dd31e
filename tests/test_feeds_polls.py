"""What a poll records: dedupe fallbacks, capped waits, skipped feeds, parse failures and warnings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from planner.feeds.poller import poll_due, poll_every, poll_one
from planner.models import Feed, FeedItem
from planner.services import feed_items, feed_polls
from planner.services import feeds as feed_service
from planner.services.feeds import FeedInput
from tests.feed_server import serve_samples
from tests.feeds_helpers import allow_loopback, subscribe


@pytest.fixture
def server(fake_platform, st):  # type: ignore[no-untyped-def]
    allow_loopback(st)
    return fake_platform(serve_samples)


def feed_row(st, feed_id):  # type: ignore[no-untyped-def]
    with st.sessions() as session:
        return session.get(Feed, feed_id)


def move(st, feed_id, url):  # type: ignore[no-untyped-def]
    """The feed now answers with another document (and in full: no validators)."""
    with st.sessions() as session, session.begin():
        feed = session.get(Feed, feed_id)
        feed.url, feed.etag, feed.last_modified = url, None, None


def titles(st, feed_id):  # type: ignore[no-untyped-def]
    with st.sessions() as session:
        return list(session.scalars(select(FeedItem.title).where(FeedItem.feed_id == feed_id)
                                    .order_by(FeedItem.id)))


def test_new_guids_fall_back_to_the_link(st, make, server):  # type: ignore[no-untyped-def]
    feed_id = subscribe(st, make.user("editor"), server.url + "/rss2.xml")
    move(st, feed_id, server.url + "/rss2-new-guids.xml")  # every GUID changed, two posts edited
    result = poll_one(st, feed_id)
    assert (result.error, result.new) == (None, 1)
    assert titles(st, feed_id)[3:] == ["Dictionaries keep their order: since when, and why it matters"]


def test_new_guids_and_links_fall_back_to_the_content(st, make, server):  # type: ignore[no-untyped-def]
    feed_id = subscribe(st, make.user("editor"), server.url + "/rss2.xml")
    move(st, feed_id, server.url + "/rss2-new-links.xml")  # new GUIDs, tracking parameters
    result = poll_one(st, feed_id)
    assert (result.error, result.new) == (None, 1)
    assert titles(st, feed_id)[3:] == ["The walrus operator in real code"]


def test_a_servers_wait_is_capped_at_the_longest_interval(st, make, server):  # type: ignore[no-untyped-def]
    st.config["FEED_MAX_INTERVAL_MINUTES"] = 60
    feed_id = subscribe(st, make.user("editor"), server.url + "/atom.xml?retry_after=2592000")
    assert feed_row(st, feed_id).next_check_at == st.clock.now() + timedelta(hours=1)  # not 30 days
    for wait in ("2592000", "99999999999999999999", "Fri, 31 Dec 9999 23:59:59 GMT"):
        move(st, feed_id, f"{server.url}/busy?retry_after={wait}")
        assert poll_one(st, feed_id).error == "HTTP 429 TOO MANY REQUESTS"
        assert feed_row(st, feed_id).next_check_at == st.clock.now() + timedelta(hours=1)


def test_disabled_feeds_are_not_polled(st, make, server):  # type: ignore[no-untyped-def]
    editor = make.user("editor")
    kept = subscribe(st, editor, server.url + "/rss2.xml")
    off = subscribe(st, editor, server.url + "/atom.xml")
    with st.sessions() as session, session.begin():
        feed = session.get(Feed, off)
        feed_service.update_feed(session, session.merge(editor), feed,
                                 FeedInput(**{**FeedInput.of(feed).__dict__, "enabled": False}),
                                 now=st.clock.now())
    st.clock.advance(days=2)
    before = len(server.requests)
    assert [r.feed_id for r in poll_due(st)] == [kept]
    assert [r.feed_id for r in poll_every(st)] == [kept]
    assert {r.path for r in server.requests[before:]} == {"/rss2.xml"}


def test_a_feed_that_cannot_be_parsed_fails_and_keeps_its_items(st, make, server):  # type: ignore[no-untyped-def]
    feed_id = subscribe(st, make.user("editor"), server.url + "/rss2.xml")
    move(st, feed_id, server.url + "/truncated.xml")
    result = poll_one(st, feed_id)
    message = "not a feed that could be read: <unknown>:9:56: not well-formed (invalid token)"
    assert (result.error, result.new) == (message, 0)
    feed = feed_row(st, feed_id)
    assert (feed.consecutive_failures, feed_polls.error_of(feed), feed_polls.warning_of(feed)) == (
        1, message, None)
    assert feed.next_check_at == st.clock.now() + timedelta(minutes=15)
    assert len(titles(st, feed_id)) == 3


def test_a_recovered_feed_keeps_feedparsers_warning(st, make, server):  # type: ignore[no-untyped-def]
    feed_id = subscribe(st, make.user("editor"), server.url + "/malformed.xml")
    feed = feed_row(st, feed_id)
    assert feed_polls.error_of(feed) is None
    assert "not well-formed" in feed_polls.warning_of(feed)
    assert poll_one(st, feed_id).not_modified  # the same document: the same warning
    assert "not well-formed" in feed_polls.warning_of(feed_row(st, feed_id))
    move(st, feed_id, server.url + "/rss2.xml")  # mended
    assert poll_one(st, feed_id).new == 3
    assert feed_row(st, feed_id).last_error is None


def test_resuming_forgets_the_error(st, make, server):  # type: ignore[no-untyped-def]
    st.config["FEED_MAX_FAILURES"] = 1
    feed_id = subscribe(st, make.user("editor"), server.url + "/rss2.xml")
    move(st, feed_id, server.url + "/gone.xml")
    poll_one(st, feed_id)
    with st.sessions() as session, session.begin():
        feed = session.get(Feed, feed_id)
        assert feed.paused
        feed_service.resume(feed, now=st.clock.now())
    feed = feed_row(st, feed_id)
    assert (feed.paused, feed_polls.error_of(feed), feed_polls.warning_of(feed)) == (False, None, None)
    with st.sessions() as session:
        assert len(feed_items.list_items(session, feed_id=feed_id).items) == 3
