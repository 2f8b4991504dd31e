"""Races on both databases: feeds drafted at once take distinct slots, and an item is shared once.

Each test holds the racers together right where a missing lock would let both through, so it fails
without the lock instead of only now and then.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, update

from planner.feeds.poller import poll_due
from planner.models import Feed, FeedItem, Post
from planner.services import feed_autodraft, posts, users
from tests.feed_server import serve_samples
from tests.feeds_helpers import Rendezvous, allow_loopback, subscribe


@pytest.fixture
def server(fake_platform, st):  # type: ignore[no-untyped-def]
    allow_loopback(st)
    return fake_platform(serve_samples)


def test_feeds_polled_at_once_draft_into_distinct_slots(st, make, server, monkeypatch):  # type: ignore[no-untyped-def]
    st.config["FEED_POLL_CONCURRENCY"] = 2
    operator = make.user("operator")
    group = make.channel(name="Python learners")
    for copy in (1, 2):  # two feeds with the same item: each drafts it, in parallel poll threads
        subscribe(st, operator, f"{server.url}/rss2.xml?copy={copy}", channel_ids=[group.id],
                  keep_rules=["nothing matches this yet"])
    with st.sessions() as session, session.begin():
        session.execute(update(Feed).values(auto_draft=True, keep_rules=["windows"], etag=None,
                                            next_check_at=st.clock.now()))
    # Both threads have chosen a slot before either records its draft, unless a lock keeps one out.
    monkeypatch.setattr(feed_autodraft, "next_free_slot", Rendezvous(2).after(feed_autodraft.next_free_slot))

    results = poll_due(st)

    assert [(r.error, r.new, r.drafted) for r in results] == [(None, 1, 1)] * 2
    with st.sessions() as session:
        slots = session.scalars(select(Post.scheduled_at).order_by(Post.scheduled_at)).all()
    # Monday 08:00 in Shanghai: 12:00 and 18:00 that day.
    assert [s.isoformat() for s in slots] == ["2026-11-23T04:00:00+00:00", "2026-11-23T10:00:00+00:00"]


def test_two_shares_at_once_make_one_draft(app, st, make, server, monkeypatch):  # type: ignore[no-untyped-def]
    editor = make.user("editor")
    subscribe(st, editor, server.url + "/rss2.xml")
    with st.sessions() as session, session.begin():
        token = users.create_token(session, session.merge(editor), now=st.clock.now())
        item_id = session.scalars(select(FeedItem.id).order_by(FeedItem.id)).first()
    # Both requests make their draft before either marks the item used, unless a lock keeps one out.
    monkeypatch.setattr(posts, "create_post", Rendezvous(2).after(posts.create_post))
    answers: list[int] = []

    def click() -> None:
        response = app.test_client().post(f"/api/v1/feed-items/{item_id}/share",
                                          headers={"Authorization": f"Bearer {token}"})
        answers.append(response.status_code)

    clicks = [threading.Thread(target=click) for _ in range(2)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join(30)

    assert sorted(answers) == [201, 409]
    with st.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Post)) == 1
        item = session.get(FeedItem, item_id)
        assert (item.state, item.post_id) == ("used", session.scalar(select(Post.id)))
