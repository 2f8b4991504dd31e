"""The feed pages and the inbox through HTTP: subscribe, triage, share into the editor, OPML."""

from __future__ import annotations

import html
import io

import pytest
from sqlalchemy import func, select

from planner.models import AuditEntry, Feed, FeedItem, Post
from tests.feed_server import sample, serve_samples
from tests.feeds_helpers import allow_loopback, subscribe


@pytest.fixture
def server(fake_platform, st):  # type: ignore[no-untyped-def]
    allow_loopback(st)
    return fake_platform(serve_samples)


@pytest.fixture
def editor(make, auth):  # type: ignore[no-untyped-def]
    user = make.user("editor")
    auth.login(user.email)
    return user


def count(st, model):  # type: ignore[no-untyped-def]
    with st.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_subscribe_from_the_page_and_triage(st, client, auth, editor, server, make):  # type: ignore[no-untyped-def]
    group = make.channel(name="Python learners")
    response = client.post("/feeds", data={
        "csrf_token": auth.token("/feeds"), "url": server.url + "/page.html", "tags": "python, weekly",
        "channel_ids": [str(group.id)]})
    assert response.status_code == 302 and "/inbox?feed_id=" in response.headers["Location"]
    page = client.get("/inbox").get_data(as_text=True)
    assert "Structural pattern matching, explained with &lt;match&gt; examples" in page
    assert ('href="https://digest.example.org/2026/11/pattern-matching" rel="noopener noreferrer nofollow"'
            in page)

    found = client.get("/inbox?q=traceback").get_data(as_text=True)
    assert "Reading tracebacks" in found and "Structural pattern" not in found
    assert "Reading tracebacks" in client.get("/inbox?tag=weekly").get_data(as_text=True)
    assert "Reading tracebacks" not in client.get("/inbox?tag=other").get_data(as_text=True)

    with st.sessions() as session:
        first, second, third = session.scalars(select(FeedItem.id).order_by(FeedItem.id)).all()
    token = auth.token("/inbox")
    shared = client.post(f"/inbox/{first}/share", data={"csrf_token": token, "next": "/inbox"})
    with st.sessions() as session:
        post = session.scalars(select(Post)).one()
        assert (post.kind, post.status, [c.id for c in post.channels]) == ("share", "draft", [group.id])
    assert shared.headers["Location"] == f"/posts/{post.id}/edit"
    editor_page = client.get(shared.headers["Location"]).get_data(as_text=True)
    assert "Source: Python Weekly Digest" in editor_page

    client.post(f"/inbox/{second}/star", data={"csrf_token": token, "next": "/inbox"})
    assert "Virtual environments" in client.get("/inbox?state=starred").get_data(as_text=True)
    bulk = client.post("/inbox/dismiss", data={"csrf_token": token, "item_ids": [str(second), str(third)],
                                               "next": "/inbox?state=starred"})
    assert bulk.headers["Location"] == "/inbox?state=starred"
    with st.sessions() as session:
        assert sorted(session.scalars(select(FeedItem.state))) == ["dismissed", "dismissed", "used"]
    assert "Nothing here." in client.get("/inbox").get_data(as_text=True)


def test_a_bad_subscription_shows_why_and_saves_nothing(client, auth, editor, st, server):  # type: ignore[no-untyped-def]
    response = client.post("/feeds", data={"csrf_token": auth.token("/feeds"),
                                           "url": server.url + "/broken.txt", "keep_rules": "/([/"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "&#39;/([/&#39;: not a regular expression: unterminated character set at position 1" in page
    response = client.post("/feeds", data={"csrf_token": auth.token("/feeds"),
                                           "url": server.url + "/broken.txt"})
    assert "the page announces no feed either" in response.get_data(as_text=True)
    assert count(st, Feed) == 0


def test_poll_now_resume_and_unsubscribe(client, auth, editor, st, server):  # type: ignore[no-untyped-def]
    feed_id = subscribe(st, editor, server.url + "/atom.xml")
    token = auth.token("/feeds")
    client.post(f"/feeds/{feed_id}/poll", data={"csrf_token": token})
    assert "The feed has not changed." in client.get("/feeds").get_data(as_text=True)
    with st.sessions() as session, session.begin():
        feed = session.get(Feed, feed_id)
        feed.paused, feed.last_error, feed.consecutive_failures = True, "HTTP 503 SERVICE UNAVAILABLE", 8
    page = client.get("/feeds").get_data(as_text=True)
    assert "8 failure(s) in a row: HTTP 503 SERVICE UNAVAILABLE" in page and "Resume" in page
    client.post(f"/feeds/{feed_id}/resume", data={"csrf_token": token})
    with st.sessions() as session:
        assert not session.get(Feed, feed_id).paused
    client.post(f"/feeds/{feed_id}/delete", data={"csrf_token": token})
    assert (count(st, Feed), count(st, FeedItem)) == (0, 0)


def test_editing_a_feed(client, auth, editor, st, server, make):  # type: ignore[no-untyped-def]
    group = make.channel(name="Python learners")
    feed_id = subscribe(st, editor, server.url + "/atom.xml")
    page = client.get(f"/feeds/{feed_id}/edit")
    assert page.status_code == 200 and '<input checked id="enabled"' in page.get_data(as_text=True)
    response = client.post(f"/feeds/{feed_id}/edit", data={
        "csrf_token": auth.token(f"/feeds/{feed_id}/edit"), "url": server.url + "/atom.xml",
        "title_override": "Data notes (Mei)", "tags": "Data, weekly", "keep_rules": "pandas\n/csv|json/\n",
        "block_rules": "sponsored", "channel_ids": [str(group.id)]})  # "enabled" unticked
    assert (response.status_code, response.headers["Location"]) == (302, "/feeds")
    with st.sessions() as session:
        feed = session.get(Feed, feed_id)
        assert (feed.name, feed.tags, feed.keep_rules, feed.block_rules, feed.enabled) == (
            "Data notes (Mei)", ["data", "weekly"], ["pandas", "/csv|json/"], ["sponsored"], False)
        assert [c.name for c in feed.channels] == ["Python learners"]
        assert feed.url == server.url + "/atom.xml"  # the address is not changed by editing
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "feed.update")) == 1
    page = client.get("/feeds").get_data(as_text=True)
    assert "Saved." in page and "Data notes (Mei)" in page and ">disabled</span>" in page


def test_a_recovered_feed_shows_its_warning(client, editor, st, server):  # type: ignore[no-untyped-def]
    feed_id = subscribe(st, editor, server.url + "/malformed.xml")
    with st.sessions() as session:
        warning = html.escape(session.get(Feed, feed_id).last_error)
    assert warning == "&lt;unknown&gt;:4:26: not well-formed (invalid token)"
    page = client.get(f"/feeds/{feed_id}/edit").get_data(as_text=True)
    assert "Malformed feed" in page and warning in page and "Last error" not in page
    listing = client.get("/feeds").get_data(as_text=True)
    assert f"Malformed, read anyway: {warning}" in listing and "failure(s) in a row" not in listing


def test_editing_someone_elses_feed_is_refused(client, auth, editor, st, server, make):  # type: ignore[no-untyped-def]
    feed_id = subscribe(st, make.user("editor"), server.url + "/atom.xml")
    response = client.post(f"/feeds/{feed_id}/edit", data={"csrf_token": auth.token(f"/feeds/{feed_id}/edit"),
                                                            "url": "x", "tags": "mine"})
    assert response.status_code == 422
    refusal = "only the person who subscribed or an operator may change this feed"
    assert refusal in response.get_data(as_text=True)
    with st.sessions() as session:
        assert session.get(Feed, feed_id).tags == []


def test_opml_import_and_export(client, auth, editor, st):  # type: ignore[no-untyped-def]
    response = client.post("/feeds/import", data={
        "csrf_token": auth.token("/feeds"), "file": (io.BytesIO(sample("subscriptions.opml")), "subs.opml")},
        content_type="multipart/form-data", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "3 feed(s) added" in page
    assert "Skipped file:///etc/passwd: only http and https feeds can be fetched, not file" in page
    exported = client.get("/feeds/export.opml")
    assert exported.mimetype == "text/x-opml"
    assert b'xmlUrl="https://news.example.com/rss"' in exported.data
    assert b'category="automation,weekly"' in exported.data
    bad = client.post("/feeds/import", data={"csrf_token": auth.token("/feeds"),
                                             "file": (io.BytesIO(b"<html/>"), "x.opml")},
                      content_type="multipart/form-data", follow_redirects=True)
    assert "not an OPML file: no &lt;opml&gt;&lt;body&gt;" in bad.get_data(as_text=True)
    assert count(st, Feed) == 3


def test_payloads_are_shown_as_text(client, editor, st, server):  # type: ignore[no-untyped-def]
    subscribe(st, editor, server.url + "/payloads.xml")
    page = client.get("/inbox").get_data(as_text=True)
    assert "&lt;img src=x onerror=&#34;window.__pwned=1;alert(1)&#34;&gt;Click me" in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;Mallory" in page
    for bad in ("<script>window", "onerror=\"", "javascript:", "<iframe", "onload=", "<svg"):
        assert bad not in page
