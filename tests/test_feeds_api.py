"""The feeds and inbox API through HTTP: the happy path, permissions, and bad input that writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from planner.models import AuditEntry, Feed, FeedItem, Post
from tests.feed_server import serve_samples
from tests.feeds_helpers import allow_loopback


@pytest.fixture
def server(fake_platform, st):  # type: ignore[no-untyped-def]
    allow_loopback(st)
    return fake_platform(serve_samples)


def counts(st):  # type: ignore[no-untyped-def]
    with st.sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (Feed, FeedItem, Post, AuditEntry))


def test_subscribe_triage_and_share(st, make, api, server):  # type: ignore[no-untyped-def]
    editor = make.user("editor")
    group = make.channel(name="Python learners")
    created = api("POST", "/feeds", editor, json={"url": server.url + "/page.html", "tags": ["python"],
                                                  "channel_ids": [group.id], "title_override": "Digest"})
    assert created.status_code == 201, created.json
    feed = created.json
    assert (feed["url"], feed["name"], feed["channel_ids"]) == (
        server.url + "/rss2.xml", "Digest", [group.id])

    inbox = api("GET", f"/feed-items?state=new&feed_id={feed['id']}", editor).json["items"]
    assert [i["title"][:10] for i in inbox] == ["Structural", "Virtual en", "Reading tr"]
    assert api("GET", "/feed-items?q=kubernetes", editor).json["items"] == []
    found = api("GET", "/feed-items?q=tour+match", editor).json["items"]
    assert [i["id"] for i in found] == [inbox[0]["id"]]

    shared = api("POST", f"/feed-items/{inbox[0]['id']}/share", editor)
    assert shared.status_code == 201
    assert (shared.json["kind"], shared.json["status"], shared.json["channel_ids"]) == (
        "share", "draft", [group.id])
    assert api("POST", f"/feed-items/{inbox[1]['id']}/star", editor).json["state"] == "starred"
    assert api("POST", f"/feed-items/{inbox[2]['id']}/dismiss", editor).json["state"] == "dismissed"
    assert [i["state"] for i in api("GET", "/feed-items?state=used", editor).json["items"]] == ["used"]
    assert api("POST", "/feed-items/dismiss", editor,
               json={"item_ids": [inbox[1]["id"]]}).json == {"dismissed": 1}

    polled = api("POST", f"/feeds/{feed['id']}/poll", editor)
    assert polled.status_code == 200
    assert (polled.json["not_modified"], polled.json["error"]) == (True, None)


def test_feeds_belong_to_their_owner_and_operators(st, make, api, server):  # type: ignore[no-untyped-def]
    owner, other, operator = make.user("editor"), make.user("editor"), make.user("operator")
    feed_id = api("POST", "/feeds", owner, json={"url": server.url + "/atom.xml"}).json["id"]
    api("GET", "/feeds", other)  # its token exists before counting
    before = counts(st)
    refused = api("PATCH", f"/feeds/{feed_id}", other, json={"tags": ["x"]})
    assert refused.status_code == 403
    assert refused.json["error"]["message"] == (
        "only the person who subscribed or an operator may change this feed")
    assert api("DELETE", f"/feeds/{feed_id}", other).status_code == 403
    assert counts(st) == before
    changed = api("PATCH", f"/feeds/{feed_id}", operator, json={"enabled": False, "keep_rules": ["csv"]})
    assert changed.status_code == 200 and changed.json["enabled"] is False
    assert api("DELETE", f"/feeds/{feed_id}", owner).status_code == 204
    assert counts(st)[:2] == (0, 0)


def test_a_paused_feed_is_resumed(st, make, api, server):  # type: ignore[no-untyped-def]
    editor = make.user("editor")
    feed_id = api("POST", "/feeds", editor, json={"url": server.url + "/atom.xml"}).json["id"]
    with st.sessions() as session, session.begin():
        feed = session.get(Feed, feed_id)
        feed.paused, feed.consecutive_failures, feed.last_error = True, 8, "HTTP 500"
    shown = api("GET", f"/feeds/{feed_id}", editor).json
    assert (shown["paused"], shown["last_error"]) == (True, "HTTP 500")
    resumed = api("PATCH", f"/feeds/{feed_id}", editor, json={"paused": False}).json
    assert (resumed["paused"], resumed["consecutive_failures"]) == (False, 0)


def test_a_recovered_feed_reports_a_warning_not_an_error(st, make, api, server):  # type: ignore[no-untyped-def]
    feed = api("POST", "/feeds", make.user("editor"), json={"url": server.url + "/malformed.xml"}).json
    assert (feed["last_error"], feed["warning"], feed["consecutive_failures"]) == (
        None, "<unknown>:4:26: not well-formed (invalid token)", 0)


@pytest.mark.parametrize("payload,field,message", [
    ({"url": "file:///etc/passwd"}, "url", "only http and https feeds can be fetched, not file"),
    ({"url": "http://10.0.0.8/feed"}, "url",
     "10.0.0.8 is a private or reserved address (10.0.0.8); add it to FETCH_ALLOWLIST to allow it"),
    ({"url": "{server}/broken.txt"}, "url",
     "not a feed that could be read: <unknown>:3:0: no element found; the page announces no feed either"),
    ({"url": "{server}/rss2.xml", "tags": ["Not A Tag"]}, "tags.0", "String should match pattern"),
    ({"url": "{server}/rss2.xml", "keep_rules": ["/([/"]}, "keep_rules",
     "'/([/': not a regular expression: unterminated character set at position 1"),
    ({"url": "{server}/rss2.xml", "channel_ids": [999]}, "channel_ids", "unknown channel id(s): 999"),
    ({"url": "{server}/rss2.xml", "auto_draft": True, "keep_rules": ["x"]}, "auto_draft",
     "only operators may turn on automatic drafts"),
    ({"url": "{server}/rss2.xml", "colour": "red"}, "colour", "Extra inputs are not permitted"),
    ({}, "url", "Field required"),
])
def test_bad_subscriptions_write_nothing(st, make, api, server, payload, field, message):  # type: ignore[no-untyped-def]
    editor = make.user("editor")
    payload = {k: v.replace("{server}", server.url) if isinstance(v, str) else v for k, v in payload.items()}
    api("GET", "/feeds", editor)
    before = counts(st)
    response = api("POST", "/feeds", editor, json=payload)
    assert response.status_code == 422, response.json
    assert response.json["error"]["fields"][field].startswith(message)
    assert counts(st) == before


def test_bad_inbox_requests(st, make, api, server):  # type: ignore[no-untyped-def]
    editor = make.user("editor")
    feed_id = api("POST", "/feeds", editor, json={"url": server.url + "/rss2.xml"}).json["id"]
    assert api("POST", "/feeds", editor, json={"url": server.url + "/rss2.xml"}).status_code == 409
    before = counts(st)
    bad_state = api("GET", "/feed-items?state=archived", editor)
    assert bad_state.status_code == 422 and "state" in bad_state.json["error"]["fields"]
    assert api("POST", "/feed-items/999/share", editor).json["error"]["message"] == (
        "feed item 999 does not exist")
    missing = api("POST", "/feed-items/dismiss", editor, json={"item_ids": [1, 999]})
    assert (missing.status_code, missing.json["error"]["message"]) == (404, "unknown feed item id(s): 999")
    empty = api("POST", "/feed-items/dismiss", editor, json={"item_ids": []})
    assert empty.status_code == 422
    assert api("POST", "/feeds/999/poll", editor).status_code == 404
    assert counts(st) == before
    item = api("GET", f"/feed-items?feed_id={feed_id}", editor).json["items"][0]
    api("POST", f"/feed-items/{item['id']}/share", editor)
    again = api("POST", f"/feed-items/{item['id']}/dismiss", editor)
    assert (again.status_code, again.json["error"]["message"]) == (
        409, "this item was already shared; it stays in used")


def test_the_api_needs_a_token(client):  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/feeds").status_code == 401
    assert client.post("/api/v1/feed-items/1/share").status_code == 401


def test_the_openapi_document_describes_the_feed_endpoints(client):  # type: ignore[no-untyped-def]
    document = client.get("/api/v1/openapi.json").json
    paths = document["paths"]
    assert set(paths["/api/v1/feeds"]) == {"get", "post"}
    assert set(paths["/api/v1/feeds/{feed_id}"]) == {"get", "patch", "delete"}
    assert "post" in paths["/api/v1/feeds/{feed_id}/poll"]
    assert "post" in paths["/api/v1/feed-items/{item_id}/share"]
    assert "post" in paths["/api/v1/feed-items/{item_id}/dismiss"]
    query = {p["name"] for p in paths["/api/v1/feed-items"]["get"]["parameters"]}
    assert query == {"state", "feed_id", "tag", "q", "cursor", "limit"}
    assert "FeedIn" in document["components"]["schemas"]
