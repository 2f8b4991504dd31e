"""The inbox in pages, newest first, and search on what items say (not on their markup):
in the service, on the inbox page and in the API."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from planner.errors import ValidationFailed
from planner.models import Feed, FeedItem
from planner.services import feed_items, users

SUMMARIES = ['<p>A <strong>bold</strong> <a href="https://x.example.org/">link</a></p>',
             "<p>Fish &amp; chips</p>", "", "<ul><li>lesson notes</li></ul>"]


@pytest.fixture
def inbox(st, make):  # type: ignore[no-untyped-def]
    """250 items found by three polls; within a poll some share a publication time, some have none."""
    editor = make.user("editor")
    now = st.clock.now()
    with st.sessions() as session, session.begin():
        feed = Feed(url="https://lessons.example.org/feed.xml", title="Lessons", owner_id=editor.id,
                    next_check_at=now, created_at=now)
        session.add(feed)
        session.flush()
        session.execute(insert(FeedItem), [{
            "feed_id": feed.id, "guid": f"lesson-{n}", "link": f"https://lessons.example.org/{n}",
            "content_hash": f"{n:064x}", "title": f"Lesson {n}", "author": "",
            "summary": SUMMARIES[n % 4], "found_at": now - timedelta(hours=n % 3),
            "published_at": None if n % 5 == 0 else now - timedelta(days=n % 7),
        } for n in range(250)])
    return editor


def newest_first(st):  # type: ignore[no-untyped-def]
    with st.sessions() as session:
        rows = session.execute(select(FeedItem.id, FeedItem.found_at, FeedItem.published_at)).all()
    return [r.id for r in sorted(rows, key=lambda r: (
        -r.found_at.timestamp(), r.published_at is None,
        -(r.published_at.timestamp() if r.published_at else 0), r.id))]


def pages(st, **filters):  # type: ignore[no-untyped-def]
    cursor, seen = None, []
    with st.sessions() as session:
        while True:
            page = feed_items.list_items(session, cursor=cursor, **filters)
            seen.append([i.id for i in page.items])
            if page.next_cursor is None:
                return seen
            cursor = page.next_cursor


def test_pages_follow_each_other_without_gaps_or_repeats(st, inbox):  # type: ignore[no-untyped-def]
    seen = pages(st, limit=7)
    assert [len(p) for p in seen] == [7] * 35 + [5]
    assert sum(seen, []) == newest_first(st)
    assert len(pages(st)) == 3  # 100 a page by default


def test_a_page_goes_on_where_it_stopped_while_items_leave(st, inbox):  # type: ignore[no-untyped-def]
    with st.sessions() as session, session.begin():
        first = feed_items.list_items(session, limit=10)
        feed_items.dismiss_many(session, inbox, [i.id for i in first.items], now=st.clock.now())
        following = feed_items.list_items(session, limit=10, cursor=first.next_cursor)
    assert [i.id for i in following.items] == newest_first(st)[10:20]


def test_search_reads_the_text_not_the_markup(st, inbox):  # type: ignore[no-untyped-def]
    def found(words: str) -> set[str]:
        return {s for p in pages(st, search=words) for s in p}

    with st.sessions() as session:
        summary = dict(session.execute(select(FeedItem.id, FeedItem.summary)).all())
    assert {summary[i] for i in found("bold")} == {SUMMARIES[0]}
    assert found("strong") == found("href") == found("example.org") == found("ul") == set()
    assert {summary[i] for i in found("fish & CHIPS")} == {SUMMARIES[1]}
    assert len(found("lesson")) == 250  # every title
    assert len(found("lesson notes")) == 62


def test_a_search_page_reads_a_bounded_number_of_rows(st, inbox, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(feed_items, "SEARCH_BATCH", 20)
    monkeypatch.setattr(feed_items, "SEARCH_SCAN_MAX", 40)
    # 63 summaries have "strong" in their markup, none in their text: the first page gives up after
    # reading 40 of them and offers to go on; the next reads the other 23.
    assert pages(st, search="strong", limit=10) == [[], []]
    assert len(sum(pages(st, search="fish"), [])) == 63


@pytest.mark.parametrize("cursor", ["nonsense", "MTox", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTo6MQ",
                                    "MDo6OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk"])
def test_a_bad_cursor_or_page_size_is_refused(st, inbox, cursor):  # type: ignore[no-untyped-def]
    with st.sessions() as session, pytest.raises(ValidationFailed) as refused:
        feed_items.list_items(session, cursor=cursor)
    assert refused.value.fields == {"cursor": "not a cursor this list gave out"}
    with st.sessions() as session, pytest.raises(ValidationFailed) as refused:
        feed_items.list_items(session, limit=201)
    assert refused.value.fields == {"limit": "between 1 and 200"}


def test_the_inbox_page_links_to_older_items(st, client, auth, inbox):  # type: ignore[no-untyped-def]
    auth.login(inbox.email)
    order = newest_first(st)
    page = client.get("/inbox?q=lesson").get_data(as_text=True)
    shown = [int(n) for n in re.findall(r'id="item-(\d+)"', page)]
    assert shown == order[:100]
    older = re.search(r'<a class="button" rel="next" href="([^"]+)">Older</a>', page)
    assert older and "q=lesson" in older.group(1)
    page = client.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert [int(n) for n in re.findall(r'id="item-(\d+)"', page)] == order[100:200]
    assert ">Newest</a>" in page
    bad = client.get("/inbox?cursor=nonsense")
    assert bad.status_code == 200
    assert [int(n) for n in re.findall(r'id="item-(\d+)"', bad.get_data(as_text=True))] == order[:100]


def test_the_api_pages_with_a_cursor(st, client, inbox):  # type: ignore[no-untyped-def]
    with st.sessions() as session, session.begin():
        token = users.create_token(session, session.merge(inbox), now=st.clock.now())
    headers = {"Authorization": f"Bearer {token}"}
    first = client.get("/api/v1/feed-items?limit=2", headers=headers).json
    following = client.get(f"/api/v1/feed-items?limit=2&cursor={first['next_cursor']}", headers=headers).json
    assert [i["id"] for i in first["items"] + following["items"]] == newest_first(st)[:4]
    last = client.get("/api/v1/feed-items?limit=200&q=fish", headers=headers).json
    assert (len(last["items"]), last["next_cursor"]) == (63, None)
    for query, field in (("limit=0", "limit"), ("limit=201", "limit"), ("cursor=nonsense", "cursor")):
        refused = client.get(f"/api/v1/feed-items?{query}", headers=headers)
        assert refused.status_code == 422 and list(refused.json["error"]["fields"]) == [field]
    spec = client.get("/api/v1/openapi.json").json["paths"]["/api/v1/feed-items"]["get"]
    parameters = {p["name"]: p["schema"] for p in spec["parameters"]}
    assert parameters["limit"] == {"default": 100, "description": "items per page", "maximum": 200,
                                   "minimum": 1, "title": "Limit", "type": "integer"}
    assert parameters["cursor"]["description"].startswith("next_cursor of the previous page")
