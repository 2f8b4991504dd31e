"""The private calendar link: /api/v1/me, the .ics feed read back by icalendar, revoking and guessing."""

from datetime import UTC, timedelta
from urllib.parse import urlsplit

import pytest
from icalendar import Calendar
from sqlalchemy import select

from planner.models import AuditEntry, User
from planner.services import posts as post_service
from planner.services import users
from planner.services.posts import PostInput


@pytest.fixture
def bearer(st):
    def token_for(user):
        with st.sessions() as session, session.begin():
            return {"Authorization": "Bearer " + users.create_token(session, session.merge(user),
                                                                    now=st.clock.now())}
    return token_for


def feed_path(url):
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def events(response):
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return {str(e["summary"]): e for e in Calendar.from_ical(response.data).walk("VEVENT")}


def test_me_gives_the_user_and_a_calendar_link_once_made(st, make, client, bearer):
    editor = make.user("editor")
    headers = bearer(editor)
    me = client.get("/api/v1/me", headers=headers).json
    assert me == {"id": editor.id, "email": editor.email, "name": editor.name, "role": "editor",
                  "timezone": None, "locale": None, "calendar_url": None}
    made = client.post("/api/v1/me/calendar-link", headers=headers)
    assert made.status_code == 200
    url = made.json["calendar_url"]
    assert url.startswith("http://localhost/calendar.ics?token=")
    assert client.get("/api/v1/me", headers=headers).json["calendar_url"] == url  # shown again
    token = url.rsplit("=", 1)[1]
    with st.sessions() as session:
        row = session.get(User, editor.id)
        assert row.calendar_token_created_at == st.clock.now()
        assert token not in (row.calendar_token_hash + row.calendar_token_sealed)
        actions = session.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("calendar_link.%"))).all()
        assert actions == ["calendar_link.create"]
    assert client.get("/api/v1/me").status_code == 401


def test_the_feed_lists_the_plan_in_utc_with_stable_uids(st, make, client, bearer):
    editor, operator = make.user("editor"), make.user("operator")
    group = make.channel("Python learners 1")
    now = st.clock.now()
    old = make.post(editor, title="Long ago", scheduled_at=now + timedelta(hours=1))
    st.clock.advance(days=31)
    now = st.clock.now()
    approved = make.post(editor, status="approved", reviewer=operator, kind="greeting",
                         title="早上好", scheduled_at=now + timedelta(hours=2), channel_ids=[group.id],
                         tags=["daily"])
    edited = make.post(editor, title="Edited twice", scheduled_at=now + timedelta(days=2))
    canceled = make.post(editor, title="Called off", scheduled_at=now + timedelta(days=3))
    make.post(editor, title="Too far ahead", scheduled_at=now + timedelta(days=181))
    with st.sessions() as session, session.begin():
        user = session.merge(editor)
        post = post_service.get_post(session, edited)
        for body in ("Second text", "Third text"):
            post_service.update_post(session, user, post, PostInput(
                kind=post.kind, title=post.title, body=body, scheduled_at=post.scheduled_at),
                now=now)
        post_service.cancel(session, user, post_service.get_post(session, canceled), now=now)
    url = client.post("/api/v1/me/calendar-link", headers=bearer(editor)).json["calendar_url"]

    found = events(client.get(feed_path(url)))
    assert sorted(found) == ["[Greeting] 早上好", "[Tutorial] Called off", "[Tutorial] Edited twice"]
    greeting = found["[Greeting] 早上好"]
    assert str(greeting["uid"]) == f"post-{approved}@localhost"
    assert greeting.decoded("dtstart") == now + timedelta(hours=2)
    assert greeting.decoded("dtstart").utcoffset() == timedelta(0)
    assert b"DTSTART:20261224T020000Z" in client.get(feed_path(url)).data
    assert (greeting["status"], greeting["sequence"]) == ("CONFIRMED", 1)
    assert str(greeting["url"]) == f"http://localhost/posts/{approved}"
    assert str(greeting["description"]).splitlines()[:3] == [
        "Status: Approved", "Channels: Python learners 1", "Tags: daily"]
    assert found["[Tutorial] Edited twice"]["sequence"] == 3
    assert found["[Tutorial] Edited twice"]["status"] == "TENTATIVE"
    assert found["[Tutorial] Called off"]["status"] == "CANCELLED"
    assert f"post-{old}@" not in client.get(feed_path(url)).get_data(as_text=True)


def test_revoked_and_guessed_links_get_a_plain_404(st, make, client, bearer):
    editor = make.user("editor")
    make.post(editor, title="Secret plan")
    headers = bearer(editor)
    first = feed_path(client.post("/api/v1/me/calendar-link", headers=headers).json["calendar_url"])
    assert client.get(first).status_code == 200
    second = feed_path(client.post("/api/v1/me/calendar-link", headers=headers).json["calendar_url"])
    assert second != first
    missing = client.get("/calendar.ics?token=nothing-like-it")
    for path in (first, "/calendar.ics", "/calendar.ics?token=", second[:-1],
                 "/calendar.ics?token=" + "x" * 5000):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.data == missing.data and b"Secret plan" not in response.data
    assert client.get(second).status_code == 200
    revoked = client.delete("/api/v1/me/calendar-link", headers=headers)
    assert revoked.json["calendar_url"] is None
    assert client.get(second).status_code == 404
    with st.sessions() as session:
        row = session.get(User, editor.id)
        assert (row.calendar_token_hash, row.calendar_token_sealed) == (None, None)


def test_a_deactivated_users_link_stops_working(st, make, client, bearer):
    editor = make.user("editor")
    path = feed_path(client.post("/api/v1/me/calendar-link", headers=bearer(editor))
                     .json["calendar_url"])
    with st.sessions() as session, session.begin():
        session.get(User, editor.id).active = False
    assert client.get(path).status_code == 404


def test_the_account_page_makes_copies_and_revokes_the_link(st, make, auth, client):
    editor = make.user("editor")
    auth.login(editor.email)
    page = client.get("/account/calendar").get_data(as_text=True)
    assert "You have no calendar link." in page
    assert client.post("/account/calendar", data={"action": "new"}).status_code == 400
    made = client.post("/account/calendar", data={"action": "new",
                                                  "csrf_token": auth.token("/account/calendar")},
                       follow_redirects=True)
    html = made.get_data(as_text=True)
    assert "Your calendar link is ready." in html and 'data-copy-label="Copy link"' in html
    url = html.split('id="calendar-url" type="text" readonly value="', 1)[1].split('"', 1)[0]
    assert client.get(feed_path(url.replace("&amp;", "&"))).status_code == 200
    revoked = client.post("/account/calendar", data={"action": "revoke",
                                                     "csrf_token": auth.token("/account/calendar")},
                          follow_redirects=True)
    assert "Your calendar link was revoked" in revoked.get_data(as_text=True)
    assert client.get(feed_path(url)).status_code == 404
    assert "You have no calendar link." in client.get("/account/calendar").get_data(as_text=True)


def test_the_feed_speaks_the_owners_language(st, make, client, bearer):
    editor = make.user("editor")
    with st.sessions() as session, session.begin():
        session.get(User, editor.id).locale = "zh_Hans_CN"
    make.post(editor, title="Tip")
    path = feed_path(client.post("/api/v1/me/calendar-link", headers=bearer(editor))
                     .json["calendar_url"])
    calendar = Calendar.from_ical(client.get(path).data)
    assert str(calendar["x-wr-calname"]).endswith("planner")
    [event] = calendar.walk("VEVENT")
    assert event.decoded("dtstart").tzinfo is not None
    assert event.decoded("dtstart").astimezone(UTC) == st.clock.now() + timedelta(hours=1)
