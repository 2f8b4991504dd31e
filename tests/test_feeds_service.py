"""Subscribing, polling, dedupe, tombstones, backoff, sharing and automatic drafts, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from planner.errors import Conflict, ValidationFailed
from planner.feeds.poller import find_feed, poll_due, poll_one
from planner.models import AuditEntry, Feed, FeedItem, Post
from planner.services import feed_items
from tests.feed_server import serve_samples
from tests.feeds_helpers import allow_loopback, subscribe


@pytest.fixture
def server(fake_platform, st):  # type: ignore[no-untyped-def]
    allow_loopback(st)
    return fake_platform(serve_samples)


def items(st, feed_id=None, state="new"):  # type: ignore[no-untyped-def]
    with st.sessions() as session:
        return feed_items.list_items(session, feed_id=feed_id, state=state).items


def feed_row(st, feed_id):  # type: ignore[no-untyped-def]
    with st.sessions() as session:
        return session.get(Feed, feed_id)


def test_subscribing_by_a_page_finds_its_feed(st, make, server):  # type: ignore[no-untyped-def]
    editor = make.user("editor")
    feed_id = subscribe(st, editor, server.url + "/page.html", tags=["python"])
    feed = feed_row(st, feed_id)
    assert feed.url == server.url + "/rss2.xml" and feed.title == "Python Weekly Digest"
    assert feed.etag and feed.last_polled_at == st.clock.now()
    assert [i.title for i in items(st)][0].startswith("Structural pattern matching")
    assert len(items(st)) == 3


def test_subscribing_twice_or_to_no_feed_is_refused(st, make, server):  # type: ignore[no-untyped-def]
    editor = make.user("editor")
    subscribe(st, editor, server.url + "/rss2.xml")
    with pytest.raises(Conflict, match="already subscribed"):
        subscribe(st, editor, server.url + "/moved/rss2.xml")
    with pytest.raises(ValidationFailed) as refused:
        find_feed(st, server.url + "/broken.txt")
    assert refused.value.fields["url"].endswith("the page announces no feed either")
    with st.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Feed)) == 1


def test_the_first_poll_keeps_only_the_newest(st, make, server):  # type: ignore[no-untyped-def]
    st.config["FEED_FIRST_POLL_KEEP"] = 2
    feed_id = subscribe(st, make.user("editor"), server.url + "/rss2.xml")
    assert [i.guid for i in items(st)] == ["digest-1042", "digest-1041"]
    assert [i.guid for i in items(st, state="dismissed")] == ["digest-1040"]
    st.clock.advance(days=1)
    assert poll_one(st, feed_id).not_modified  # nothing comes back later either


def test_polls_dedupe_and_dismissed_items_never_return(st, make, server):  # type: ignore[no-untyped-def]
    editor = make.user("editor")
    feed_id = subscribe(st, editor, server.url + "/rss2.xml")
    first = items(st)[0]
    with st.sessions() as session, session.begin():
        feed_items.set_state(session, session.merge(editor), session.get(FeedItem, first.id),
                             "dismissed", now=st.clock.now())
    with st.sessions() as session, session.begin():
        session.get(Feed, feed_id).etag = None  # force a full answer, not a 304
    result = poll_one(st, feed_id)
    assert (result.new, result.error) == (0, None)
    assert len(items(st)) == 2 and len(items(st, state="dismissed")) == 1


def test_a_304_keeps_everything_and_moves_the_next_check(st, make, server):  # type: ignore[no-untyped-def]
    feed_id = subscribe(st, make.user("editor"), server.url + "/atom.xml")
    st.clock.advance(hours=2)
    result = poll_one(st, feed_id)
    assert result.not_modified
    assert server.requests[-1].headers["If-None-Match"]
    feed = feed_row(st, feed_id)
    assert feed.next_check_at >= st.clock.now() + timedelta(minutes=15)


def test_the_interval_follows_the_feed_within_bounds(st, make, server):  # type: ignore[no-untyped-def]
    feed_id = subscribe(st, make.user("editor"), server.url + "/rss2.xml")  # an item every 2 days
    assert feed_row(st, feed_id).interval_seconds == 24 * 3600  # the workspace maximum
    st.config["FEED_MAX_INTERVAL_MINUTES"] = 600
    with st.sessions() as session, session.begin():
        session.get(Feed, feed_id).etag = None
    poll_one(st, feed_id)
    assert feed_row(st, feed_id).interval_seconds == 600 * 60


def test_failures_back_off_then_pause_with_the_error(st, make, server):  # type: ignore[no-untyped-def]
    st.config["FEED_MAX_FAILURES"] = 3
    feed_id = subscribe(st, make.user("editor"), server.url + "/rss2.xml")
    with st.sessions() as session, session.begin():
        session.get(Feed, feed_id).url = server.url + "/gone.xml"
    waits = []
    for _ in range(3):
        result = poll_one(st, feed_id)
        assert result.error == "HTTP 404 NOT FOUND"
        waits.append(feed_row(st, feed_id).next_check_at - st.clock.now())
    assert waits[:2] == [timedelta(minutes=15), timedelta(minutes=30)]
    feed = feed_row(st, feed_id)
    assert feed.paused and feed.last_error == "HTTP 404 NOT FOUND" and feed.consecutive_failures == 3
    st.clock.advance(days=2)
    assert poll_due(st) == []  # a paused feed waits for a person
    with st.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "feed.pause")) == 1


def test_cache_control_max_age_is_respected(st, make, server):  # type: ignore[no-untyped-def]
    st.config["FEED_MAX_INTERVAL_MINUTES"] = 60
    feed_id = subscribe(st, make.user("editor"), server.url + "/atom.xml?max_age=7200")
    assert feed_row(st, feed_id).interval_seconds == 3600
    assert feed_row(st, feed_id).next_check_at == st.clock.now() + timedelta(hours=1)  # capped
    st.config["FEED_MAX_INTERVAL_MINUTES"] = 180
    assert poll_one(st, feed_id).not_modified  # the interval grows to 75 minutes; the answer is fresh for 2 h
    assert feed_row(st, feed_id).next_check_at == st.clock.now() + timedelta(hours=2)


def test_retry_after_is_respected(st, make, server):  # type: ignore[no-untyped-def]
    feed_id = subscribe(st, make.user("editor"), server.url + "/rss2.xml")
    with st.sessions() as session, session.begin():
        session.get(Feed, feed_id).url = server.url + "/busy"
    poll_one(st, feed_id)
    assert feed_row(st, feed_id).next_check_at == st.clock.now() + timedelta(hours=2)


def test_poll_due_polls_only_due_feeds(st, make, server):  # type: ignore[no-untyped-def]
    editor = make.user("editor")
    a = subscribe(st, editor, server.url + "/rss2.xml")
    b = subscribe(st, editor, server.url + "/atom.xml")
    assert poll_due(st) == []
    st.clock.advance(days=2)
    assert sorted(r.feed_id for r in poll_due(st)) == [a, b]
    assert poll_due(st) == []


def test_keep_and_block_rules(st, make, server):  # type: ignore[no-untyped-def]
    subscribe(st, make.user("editor"), server.url + "/rss2.xml", keep_rules=["/windows|traceback/"],
              block_rules=["powershell"])
    assert [i.guid for i in items(st)] == ["digest-1040"]


def test_rules_match_the_author_and_the_link(st, make, server):  # type: ignore[no-untyped-def]
    editor = make.user("editor")
    by_author = subscribe(st, editor, server.url + "/rss2.xml", keep_rules=["lin wei"])
    by_link = subscribe(st, editor, server.url + "/rss2.xml?copy=2", keep_rules=["/2026/11/(venv|trace)/"],
                        block_rules=["/tracebacks$/"])
    assert [i.guid for i in items(st, by_author)] == ["digest-1042"]
    assert [i.guid for i in items(st, by_link)] == ["digest-1041"]


def test_share_makes_a_draft_and_uses_the_item(st, make, server):  # type: ignore[no-untyped-def]
    editor = make.user("editor")
    group = make.channel(name="Python learners")
    subscribe(st, editor, server.url + "/rss2.xml", channel_ids=[group.id], title_override="Digest")
    item = items(st)[0]
    with st.sessions() as session, session.begin():
        post = feed_items.share(session, session.merge(editor), session.get(FeedItem, item.id),
                                now=st.clock.now())
        assert (post.kind, post.status, post.title) == (
            "share", "draft", "Structural pattern matching, explained with <match> examples")
        assert post.body == ("A gentle tour of match statements, from literals to class patterns.\n\n"
                             "https://digest.example.org/2026/11/pattern-matching\n\nSource: Digest")
        assert [c.name for c in post.channels] == ["Python learners"]
    assert items(st, state="used")[0].post_id == post.id
    with st.sessions() as session, session.begin(), pytest.raises(Conflict, match="already shared"):
        feed_items.share(session, session.merge(editor), session.get(FeedItem, item.id), now=st.clock.now())


def test_automatic_drafts_fill_the_next_free_slots(st, make, server):  # type: ignore[no-untyped-def]
    operator = make.user("operator")
    group = make.channel(name="Python learners")
    # Monday 08:00 in Shanghai: the slots are 12:00 and 18:00 on weekdays.
    subscribe(st, operator, server.url + "/rss2.xml", channel_ids=[group.id], auto_draft=True,
              keep_rules=["windows", "traceback"])
    with st.sessions() as session:
        drafted = list(session.scalars(select(Post).order_by(Post.scheduled_at)))
        assert [(p.status, p.kind, p.author_id) for p in drafted] == [("in_review", "share", operator.id)] * 2
        assert [p.scheduled_at.isoformat() for p in drafted] == [
            "2026-11-23T04:00:00+00:00", "2026-11-23T10:00:00+00:00"]
        assert {p.title for p in drafted} == {"Virtual environments on Windows without tears",
                                              "Reading tracebacks from the bottom up"}
    assert len(items(st, state="used")) == 2 and items(st) == []


def test_automatic_drafts_need_an_operator_rules_and_channels(st, make, server):  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as refused:
        subscribe(st, make.user("editor"), server.url + "/rss2.xml", auto_draft=True, keep_rules=["x"])
    assert refused.value.fields == {"auto_draft": "only operators may turn on automatic drafts"}
    with pytest.raises(ValidationFailed) as refused:
        subscribe(st, make.user("operator"), server.url + "/rss2.xml", auto_draft=True)
    assert refused.value.fields == {
        "auto_draft": "automatic drafts need at least one keep rule to match items"}
    with st.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Feed)) == 0


def test_a_broken_schedule_leaves_items_in_the_inbox(st, make, server):  # type: ignore[no-untyped-def]
    st.config["FEED_SHARE_SCHEDULE"] = "someday 12:00"
    group = make.channel(name="Python learners")
    subscribe(st, make.user("operator"), server.url + "/rss2.xml", channel_ids=[group.id], auto_draft=True,
              keep_rules=["windows"])
    assert [i.guid for i in items(st)] == ["digest-1041"]
    with st.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Post)) == 0


@pytest.mark.parametrize("text,message", [
    ("someday 12:00", "not a day or range of days: 'someday'"),
    ("mon-fri", "no times for 'mon-fri'"),
    ("sat 25:00", "not a time of day: '25:00'"),
])
def test_schedule_errors(text, message):  # type: ignore[no-untyped-def]
    from planner.services.feed_autodraft import parse_schedule

    with pytest.raises(ValueError) as error:
        parse_schedule(text)
    assert str(error.value) == message


def test_schedules():  # type: ignore[no-untyped-def]
    from datetime import time

    from planner.services.feed_autodraft import parse_schedule

    assert parse_schedule("fri-mon 09:30; sat 08:00 9:00") == {
        4: [time(9, 30)], 5: [time(8), time(9), time(9, 30)], 6: [time(9, 30)], 0: [time(9, 30)]}
