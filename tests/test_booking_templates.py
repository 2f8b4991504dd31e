"""The guest session templates: changed on the settings page or through the API, checked, audited,
and used by the next booking that is confirmed."""

from __future__ import annotations

import copy
import re
from html import unescape

import pytest
from sqlalchemy import select

from planner.models import AuditEntry, Post
from planner.services import booking_templates, bookings, users, workspace
from tests.booking_helpers import book, weekly_slots
from tests.conftest import csrf_from

URL = "/api/v1/settings/guest-session-templates"


@pytest.fixture
def olga(make):  # type: ignore[no-untyped-def]
    return make.user("operator", email="olga@example.com")


def bearer_for(st, user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with st.sessions() as session, session.begin():
        token = users.create_token(session, session.merge(user), now=st.clock.now())
    return {"Authorization": f"Bearer {token}"}


def confirmed_titles(st, olga) -> list[str]:  # type: ignore[no-untyped-def]
    ids = weekly_slots(st, olga, [1], count=1)
    _id, token, _created = book(st, ids[0], name="Mei", topic="Async in practice")
    with st.sessions() as session, session.begin():
        booking = bookings.by_token(session, token)
        bookings.confirm(session, session.merge(olga), booking, now=st.clock.now())
    with st.sessions() as session:
        return [f"{p.kind}: {p.title} | {p.body}" for p in
                session.scalars(select(Post).order_by(Post.scheduled_at, Post.id))]


def test_changed_templates_are_what_the_next_confirmation_drafts(st, client, olga, make):
    make.channel()
    headers = bearer_for(st, olga)
    current = client.get(URL, headers=headers).json
    assert current == booking_templates.DEFAULTS and current["moved"]["title"] == "Moved: {topic}"
    wanted = copy.deepcopy(current)
    wanted["announcements"] = [
        {"minutes_before": 30, "title": "Soon in {community}: {topic}",
         "body": "{speaker} at {time}. {{questions welcome}}"},
        {"minutes_before": 2 * 24 * 60, "title": "In two days: {topic}", "body": "Save the date."}]
    wanted["session"]["title"] = " Live: {topic} "
    saved = client.put(URL, headers=headers, json=wanted)
    assert saved.status_code == 200, saved.json
    assert [a["minutes_before"] for a in saved.json["announcements"]] == [2880, 30]  # earliest first
    assert saved.json["session"]["title"] == "Live: {topic}"
    assert client.get(URL, headers=headers).json == saved.json
    with st.sessions() as session, session.begin():
        workspace.put(session, "community_name", "Python learners", actor="test", now=st.clock.now())
    assert confirmed_titles(st, olga) == [
        "announcement: In two days: Async in practice | Save the date.",
        "announcement: Soon in Python learners: Async in practice | "
        "Mei at 2026-11-26 20:00 (Asia/Shanghai). {questions welcome}",
        "guest_session: Live: Async in practice | " + booking_templates.render(
            wanted["session"]["body"], {"speaker": "Mei", "topic": "Async in practice",
                                        "time": "2026-11-26 20:00 (Asia/Shanghai)",
                                        "abstract": "How a one-off script grew up."}),
    ]
    with st.sessions() as session:
        [entry] = [e for e in session.scalars(select(AuditEntry).where(
            AuditEntry.action == "setting.change")) if e.data["key"] == "guest_session_templates"]
        assert entry.actor_label == "olga@example.com" and entry.data["old"] is None


def test_bad_templates_are_refused_field_by_field_and_nothing_is_stored(st, client, olga, make):
    headers = bearer_for(st, olga)
    wanted = copy.deepcopy(booking_templates.DEFAULTS)
    wanted["announcements"][0] |= {"minutes_before": -5, "title": "  "}
    wanted["announcements"][1]["body"] = "Hello {speeker}"
    wanted["session"]["body"] = "Starts at {time"
    wanted["cancellation"]["body"] = "Was at {old_time}"
    wanted["moved"]["title"] = "Moved from {old_time} to {time!r}"
    response = client.put(URL, headers=headers, json=wanted)
    assert response.status_code == 422
    known = "{speaker}, {topic}, {time}, {abstract}, {community}"
    assert response.json["error"]["fields"] == {
        "announcements.0.minutes_before": "whole minutes before the session, 0 to 86400",
        "announcements.0.title": "this text is required",
        "announcements.1.body": f"unknown placeholder {{speeker}}; use {known}",
        "session.body": "a single { or } must be written twice ({{ or }}); placeholders are " + known,
        "cancellation.body": f"unknown placeholder {{old_time}}; use {known}",
        "moved.title": f"unknown placeholder {{time!r}}; use {known}, {{old_time}}",
    }
    assert client.put(URL, headers=headers, json={"session": {}}).status_code == 422
    editor_headers = bearer_for(st, make.user("editor"))
    assert client.get(URL, headers=editor_headers).status_code == 403
    with st.sessions() as session:
        assert workspace.get(session, "guest_session_templates", None) is None
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert set(paths["/api/v1/settings/guest-session-templates"]) == {"get", "put"}


def test_operators_change_the_templates_on_the_settings_page(st, client, auth, olga, make):
    make.channel()
    auth.login("olga@example.com")
    assert 'href="/settings/guest-sessions"' in client.get("/slots").get_data(as_text=True)
    page = client.get("/settings/guest-sessions").get_data(as_text=True)
    assert page.count('name="announcements-') == 3 * 4  # three announcements and a blank row
    assert 'value="Tomorrow: {topic}"' in page
    form = {name: unescape(value) for name, value in re.findall(
        r'name="([\w-]+)"[^>]*value="([^"]*)"', page)}
    form |= {name: unescape(body) for name, body in re.findall(
        r'<textarea[^>]*name="([\w-]+)"[^>]*>\s*([^<]*)</textarea>', page)}
    form |= {"announcements-1-title": "", "announcements-1-body": "",  # removed
             "announcements-3-minutes_before": "10", "announcements-3-title": "Ten minutes: {topic}",
             "announcements-3-body": "Join {community} now."}
    bad = client.post("/settings/guest-sessions", data=form | {"moved-body": "From {whence}"})
    assert bad.status_code == 422
    assert "unknown placeholder {whence}" in bad.get_data(as_text=True)
    saved = client.post("/settings/guest-sessions", data=form, follow_redirects=True)
    assert "Guest session templates saved." in saved.get_data(as_text=True)
    with st.sessions() as session:
        stored = booking_templates.current(session)
    assert [(a["minutes_before"], a["title"]) for a in stored["announcements"]] == [
        (1440, "Tomorrow: {topic}"), (10, "Ten minutes: {topic}"), (0, "Starting now: {topic}")]
    assert "Ten minutes: Async in practice" in "\n".join(confirmed_titles(st, olga))
    client.post("/logout", data={"csrf_token": csrf_from(saved.get_data(as_text=True))})
    auth.login(make.user("editor").email)
    assert client.get("/settings/guest-sessions").status_code == 403
