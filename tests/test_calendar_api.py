"""GET /api/v1/calendar and /calendar/unscheduled: range, filters, permissions, bad input, timezones and
a statement count that does not grow with the number of posts."""

from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import event

from planner.models import Post, User
from planner.services import users

NOV_24 = datetime(2026, 11, 24, tzinfo=UTC)
MONTH = {"start": "2026-11-01T00:00:00+08:00", "end": "2026-12-01T00:00:00+08:00"}


def set_timezone(st, user, name):
    with st.sessions() as session, session.begin():
        session.get(User, user.id).timezone = name


def calendar(api, user, **query):
    response = api("GET", "/calendar", user, query_string=MONTH | query)
    assert response.status_code == 200, response.json
    return response.json


def test_posts_in_range_with_what_the_calendar_needs(st, make, api):
    editor = make.user("editor")
    channel = make.channel(tags=["python-groups"])
    inside = make.post(editor, kind="greeting", title="Good morning", channel_ids=[channel.id],
                       tags=["python-groups", "daily"], scheduled_at=NOV_24 + timedelta(hours=1),
                       expires_at=NOV_24 + timedelta(hours=3))
    make.post(editor, title="Next month", scheduled_at=datetime(2026, 12, 2, tzinfo=UTC))
    make.post(editor, title="No time yet", scheduled_at=None)
    body = calendar(api, editor)
    assert body["timezone"] == "Asia/Shanghai" and body["truncated"] is False
    assert body["items"] == [{
        "id": inside, "kind": "greeting", "title": "Good morning", "status": "draft",
        "scheduled_at": "2026-11-24T09:00:00+08:00", "expires_at": "2026-11-24T11:00:00+08:00",
        "author": {"id": editor.id, "name": editor.name}, "channel_ids": [channel.id],
        "tags": ["daily", "python-groups"], "can_move": True,
    }]


def test_range_is_half_open_and_ordered(st, make, api):
    editor = make.user("editor")
    for hours in (30, 2, 10):
        make.post(editor, title=f"at {hours}", scheduled_at=NOV_24 + timedelta(hours=hours))
    start = (NOV_24 + timedelta(hours=2)).isoformat()
    end = (NOV_24 + timedelta(hours=30)).isoformat()
    items = calendar(api, editor, start=start, end=end)["items"]
    assert [i["title"] for i in items] == ["at 2", "at 10"]


def test_filters(st, make, api):
    erin, ed = make.user("editor"), make.user("editor")
    direct = make.channel("Python learners")
    tagged = make.channel("Go learners", tags=["go-groups"])
    when = NOV_24 + timedelta(hours=1)
    make.post(erin, title="A", kind="tutorial", channel_ids=[direct.id], scheduled_at=when)
    make.post(erin, title="B", kind="share", tags=["go-groups"], scheduled_at=when, status="in_review")
    make.post(ed, title="C", kind="greeting", channel_ids=[tagged.id], scheduled_at=when)

    def titles(**query):
        return [i["title"] for i in calendar(api, erin, **query)["items"]]

    assert titles() == ["A", "B", "C"]
    assert titles(kind="share") == ["B"]
    assert titles(status="in_review") == ["B"]
    assert titles(channel_id=direct.id) == ["A"]
    assert titles(channel_id=tagged.id) == ["B", "C"]  # by name and by the tag the channel carries
    assert titles(tag="go-groups") == ["B"]
    assert titles(author_id=ed.id) == ["C"]
    assert titles(kind="share", author_id=ed.id) == []


@pytest.mark.parametrize(("query", "field", "message"), [
    ({"start": "2026-11-01T00:00:00"}, "start", "Input should have timezone info"),
    ({"end": "2026-12-01"}, "end", "Input should have timezone info"),
    ({"start": None}, "start", "Field required"),
    ({"end": "2026-10-01T00:00:00+08:00"}, "end", "end must be after start"),
    ({"end": "2026-11-01T00:00:00+08:00"}, "end", "end must be after start"),
    ({"end": "2027-02-10T00:00:00+08:00"}, "end",
     "at most 100 days from start; ask for the calendar in parts"),
    ({"kind": "poem"}, "kind", None),
    ({"tag": "Not A Tag"}, "tag", None),
    ({"author_id": "me"}, "author_id",
     "Input should be a valid integer, unable to parse string as an integer"),
    ({"colour": "red"}, "colour", "Extra inputs are not permitted"),
])
def test_bad_input_is_a_422_that_names_the_field(make, api, query, field, message):
    editor = make.user("editor")
    params = {key: value for key, value in (MONTH | query).items() if value is not None}
    response = api("GET", "/calendar", editor, query_string=params)
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "validation_failed" and list(error["fields"]) == [field]
    if message:
        assert error["fields"][field] == message


def test_needs_a_signed_in_caller(api):
    response = api("GET", "/calendar", query_string=MONTH)
    assert response.status_code == 401
    assert response.json["error"]["message"] == "sign in or send a bearer token"
    assert api("GET", "/calendar/unscheduled").status_code == 401


def test_can_move_follows_role_authorship_and_status(st, make, api):
    erin, ed = make.user("editor"), make.user("editor")
    oscar, olga = make.user("operator"), make.user("operator")
    channel = make.channel()
    when = NOV_24 + timedelta(hours=1)
    own_draft = make.post(erin, title="own draft", scheduled_at=when, channel_ids=[channel.id])
    own_review = make.post(erin, title="own review", scheduled_at=when, channel_ids=[channel.id],
                           status="in_review")
    own_approved = make.post(erin, title="own approved", scheduled_at=when, channel_ids=[channel.id],
                             status="approved", reviewer=oscar)
    other = make.post(ed, title="other draft", scheduled_at=when, channel_ids=[channel.id])
    canceled = make.post(olga, title="canceled", scheduled_at=when, channel_ids=[channel.id])
    api("POST", f"/posts/{canceled}/cancel", olga, json={})

    def movable(user):
        return {i["id"]: i["can_move"] for i in calendar(api, user)["items"]}

    assert movable(erin) == {own_draft: True, own_review: True, own_approved: False, other: False,
                             canceled: False}
    assert movable(oscar) == {own_draft: True, own_review: True, own_approved: True, other: True,
                              canceled: False}


def test_times_are_in_the_callers_timezone(st, make, api):
    """16:30 UTC on the 24th is 00:30 on the 25th in Shanghai: the day a post falls on depends on
    who looks."""
    editor, abroad = make.user("editor"), make.user("editor")
    post_id = make.post(editor, scheduled_at=NOV_24 + timedelta(hours=16, minutes=30))
    set_timezone(st, abroad, "UTC")
    shanghai = calendar(api, editor)
    utc = calendar(api, abroad)
    assert (shanghai["timezone"], shanghai["items"][0]["scheduled_at"]) == (
        "Asia/Shanghai", "2026-11-25T00:30:00+08:00")
    assert (utc["timezone"], utc["items"][0]["scheduled_at"]) == ("UTC", "2026-11-24T16:30:00Z")
    assert shanghai["items"][0]["id"] == utc["items"][0]["id"] == post_id


def test_unscheduled_tray_holds_drafts_without_a_time(st, make, api):
    editor, other = make.user("editor"), make.user("editor")
    make.post(editor, title="Scheduled", scheduled_at=NOV_24)
    older = make.post(editor, title="Someday", scheduled_at=None)
    st.clock.advance(minutes=5)
    newer = make.post(other, title="Guest idea", kind="guest_session", scheduled_at=None)
    response = api("GET", "/calendar/unscheduled", editor)
    assert response.status_code == 200
    assert [(i["id"], i["scheduled_at"], i["can_move"]) for i in response.json["items"]] == [
        (newer, None, False), (older, None, True)]
    only = api("GET", "/calendar/unscheduled", editor, query_string={"kind": "guest_session"})
    assert [i["id"] for i in only.json["items"]] == [newer]


def test_statement_count_does_not_grow_with_the_posts(st, make, api):
    editor = make.user("editor")
    channels = [make.channel(tags=["python-groups"]).id for _ in range(3)]
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    def measured():
        statements.clear()
        event.listen(st.engine, "before_cursor_execute", count)
        try:
            items = calendar(api, editor)["items"]
        finally:
            event.remove(st.engine, "before_cursor_execute", count)
        posts = [s for s in statements if "FROM posts" in s]
        return len(items), len(statements), len(posts)

    make.post(editor, scheduled_at=NOV_24, channel_ids=channels, tags=["python-groups"])
    calendar(api, editor)  # the token's first use is noted once; measure after it
    few = measured()
    for hours in range(1, 30):
        make.post(editor, scheduled_at=NOV_24 + timedelta(hours=hours), channel_ids=channels,
                  tags=["python-groups", f"t{hours}"])
    many = measured()
    assert (few[0], many[0]) == (1, 30)
    assert few[1:] == many[1:], (few, many)
    assert few[2] == 1  # one query reads the posts, with their channels, tags and authors


def test_a_range_over_the_cap_is_marked_truncated(st, make, api, auth, client, monkeypatch):
    from planner.services import calendar as calendar_service

    monkeypatch.setattr(calendar_service, "MAX_ITEMS", 2)  # 5,000 in production
    editor = make.user("editor")
    for hours in (1, 2, 3):
        make.post(editor, title=f"at {hours}", scheduled_at=NOV_24 + timedelta(hours=hours))
    body = calendar(api, editor)
    assert body["truncated"] is True and [i["title"] for i in body["items"]] == ["at 1", "at 2"]
    later = calendar(api, editor, start=(NOV_24 + timedelta(hours=2)).isoformat())
    assert later["truncated"] is False and len(later["items"]) == 2

    # The calendar page carries the notice the script shows; the plain list shows it itself.
    auth.login(editor.email)
    page = client.get("/").get_data(as_text=True)
    assert 'id="calendar-truncated"' in page
    notice = ("This range holds more than 2 posts; only the first 2 are shown. Narrow it with the "
              "filters or a shorter view.")
    assert notice in unescape(page)
    listed = unescape(client.get("/?view=list&start=2026-11-24").get_data(as_text=True))
    assert notice in listed
    assert notice not in unescape(client.get("/?view=list&start=2026-11-26").get_data(as_text=True))


def test_a_read_only_token_reads_the_calendar_but_moves_nothing(st, make, client):
    editor = make.user("editor")
    post_id = make.post(editor, scheduled_at=NOV_24 + timedelta(hours=1))
    with st.sessions() as session, session.begin():
        token = users.create_token(session, session.merge(editor), now=st.clock.now(), scope="read")
    headers = {"Authorization": f"Bearer {token}"}
    read = client.get("/api/v1/calendar", query_string=MONTH, headers=headers)
    assert read.status_code == 200 and [i["id"] for i in read.json["items"]] == [post_id]
    assert client.get("/api/v1/calendar/unscheduled", headers=headers).status_code == 200
    moved = client.post(f"/api/v1/posts/{post_id}/move", headers=headers,
                        json={"scheduled_at": "2026-11-27T10:00:00+08:00"})
    assert moved.status_code == 403
    assert moved.json["error"]["message"].startswith("this token may only read")
    unknown = client.get("/api/v1/calendar", query_string=MONTH,
                         headers={"Authorization": "Bearer plnr_nope"})
    assert (unknown.status_code, unknown.json["error"]["message"]) == (
        401, "the API token is unknown or revoked")
    with st.sessions() as session:
        assert session.get(Post, post_id).scheduled_at == NOV_24 + timedelta(hours=1)
