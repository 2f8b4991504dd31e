"""The series API through HTTP: every endpoint, permission failures, and bad input that writes nothing."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from planner.models import AuditEntry, Post, Series
from tests.conftest import START
from tests.series_helpers import POOL, WEEKDAYS

FIRST = START + timedelta(days=1)


@pytest.fixture
def team(make):
    channel = make.channel("Python learners group 1", tags=["python-groups"])
    return make.user("editor"), make.user("operator"), channel


def body(**overrides):
    return {"kind": "greeting", "title": "Good morning {date}", "rrule": WEEKDAYS,
            "timezone": "Asia/Shanghai", "starts_at": "2026-11-24T08:00:00+08:00",
            "template": "{text}\n\n— {community}", "pool": POOL, "tags": ["python-groups"]} | overrides


def counts(st):
    with st.sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (Series, Post, AuditEntry))


def test_create_list_get_occurrences_patch_approve_and_delete(st, api, team):
    editor, operator, channel = team
    created = api.call("POST", "/series", editor, json=body())
    assert created.status_code == 201, created.json
    series = created.json
    assert (series["status"], series["approved"], series["tags"]) == ("active", False,
                                                                      ["python-groups"])
    assert series["starts_at"] == "2026-11-24T00:00:00Z"
    assert series["next_occurrence_at"] == "2026-12-08T00:00:00Z"
    sid = series["id"]
    assert [s["id"] for s in api.call("GET", "/series", editor).json["items"]] == [sid]
    assert api.call("GET", f"/series/{sid}", editor).json["title"] == "Good morning {date}"

    window = {"start": "2026-12-07T00:00:00+08:00", "end": "2026-12-10T00:00:00+08:00"}
    occurrences = api.call("GET", f"/series/{sid}/occurrences", editor, query_string=window)
    items = occurrences.json["items"]
    assert [(o["occurrence_at"], o["post_status"], o["index"]) for o in items] == [
        ("2026-12-07T00:00:00Z", "in_review", 9), ("2026-12-08T00:00:00Z", None, 10),
        ("2026-12-09T00:00:00Z", None, 11)]
    assert items[0]["post_id"] is not None and items[1]["post_id"] is None
    assert items[1]["title"] == "Good morning December 8, 2026"
    assert items[1]["body"] == "Good morning, Our community!\n\n— Our community"

    denied = api.call("POST", f"/series/{sid}/approve", editor, json={})
    assert denied.status_code == 403
    assert denied.json["error"]["message"] == "this needs the operator role or higher"
    approved = api.call("POST", f"/series/{sid}/approve", operator, json={"comment": "fine"})
    assert approved.status_code == 200 and approved.json["approved"] is True
    post_id = items[0]["post_id"]
    assert api.call("GET", f"/posts/{post_id}", editor).json["status"] == "approved"
    deliveries = api.call("GET", f"/posts/{post_id}/deliveries", editor).json["items"]
    assert [(d["channel_id"], d["status"]) for d in deliveries] == [(channel.id, "pending")]
    assert api.call("POST", f"/series/{sid}/approve", operator, json={}).status_code == 409

    patched = api.call("PATCH", f"/series/{sid}", editor, json={"pool": ["Only this one"]})
    assert patched.status_code == 200 and patched.json["approved"] is False
    assert api.call("GET", f"/posts/{post_id}", editor).json["status"] == "in_review"
    assert api.call("GET", f"/posts/{post_id}", editor).json["body"].startswith("Only this one")

    assert api.call("DELETE", f"/series/{sid}", editor).status_code == 204
    assert api.call("GET", f"/series/{sid}", editor).status_code == 404
    assert api.call("GET", f"/posts/{post_id}", editor).json["status"] == "canceled"


def test_editing_one_occurrence_through_the_posts_api_detaches_it(st, api, team):
    editor, _operator, _channel = team
    sid = api.call("POST", "/series", editor, json=body()).json["id"]
    window = {"start": "2026-11-24T00:00:00Z", "end": "2026-11-26T00:00:00Z"}
    first, second = api.call("GET", f"/series/{sid}/occurrences", editor,
                             query_string=window).json["items"]
    edited = api.call("PATCH", f"/posts/{first['post_id']}", editor, json={"body": "A special morning"})
    assert (edited.json["series_id"], edited.json["occurrence_at"], edited.json["detached"]) == (
        sid, "2026-11-24T00:00:00Z", True)
    api.call("PATCH", f"/series/{sid}", editor, json={"template": "{text} ☀️"})
    first, second = api.call("GET", f"/series/{sid}/occurrences", editor,
                             query_string=window).json["items"]
    assert (first["detached"], first["body"]) == (True, "A special morning")
    assert (second["detached"], second["body"]) == (False, "Good morning, Our community! ☀️")


def test_ending_a_series(st, api, team):
    editor, _operator, _channel = team
    sid = api.call("POST", "/series", editor, json=body()).json["id"]
    ended = api.call("POST", f"/series/{sid}/end", editor)
    assert ended.status_code == 200, ended.json
    assert ended.json["status"] == "ended" and ended.json["next_occurrence_at"] is None
    statuses = {p["status"] for p in api.call("GET", "/posts", editor).json["items"]}
    assert statuses == {"canceled"}
    again = api.call("PATCH", f"/series/{sid}", editor, json={"title": "Hello"})
    assert again.status_code == 409
    assert again.json["error"]["message"] == f"series {sid} has ended; it cannot be changed now"


@pytest.mark.parametrize("overrides, field, message", [
    ({"rrule": "FREQ=SOMETIMES"}, "rrule", "the rule needs FREQ, one of YEARLY, MONTHLY, WEEKLY, "
     "DAILY, HOURLY (e.g. FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR)"),
    ({"rrule": "FREQ=DAILY;BYHOUR=25"}, "rrule",
     "not a valid RRULE (hour must be in 0..23); e.g. FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
    ({"rrule": "FREQ=DAILY;COUNT=2", "starts_at": "2026-11-01T08:00:00+08:00"}, "rrule",
     "the rule has no occurrence after now"),
    ({"starts_at": "2025-11-01T08:00:00+08:00"}, "starts_at",
     "the first occurrence may be at most a year ago"),
    ({"timezone": "Asia/Peking"}, "timezone", "unknown timezone Asia/Peking; use an IANA name "
     "such as Asia/Shanghai or America/New_York"),
    ({"starts_at": "2026-11-24T08:00:00"}, "starts_at", "Input should have timezone info"),
    ({"template": "Hi {name}"}, "template", "unknown variable(s) {name}; use {date}, {weekday}, "
     "{time}, {community}, {text}, and {{ and }} for literal braces"),
    ({"pool": ["fine", "  "]}, "pool", "text 2 of the pool is empty"),
    ({"pool": []}, "pool", "the template uses {text}: add at least one text to the pool"),
    ({"tags": []}, "channel_ids", "choose at least one channel or tag"),
    ({"channel_ids": [999]}, "channel_ids", "unknown channel id(s): 999"),
    ({"kind": "advert"}, "kind", "Input should be 'tutorial', 'share', 'greeting', "
     "'guest_session' or 'announcement'"),
])
def test_bad_input_is_refused_and_writes_nothing(st, api, team, overrides, field, message):
    editor, _operator, _channel = team
    api.token_for(editor)
    before = counts(st)
    response = api.call("POST", "/series", editor, json=body(**overrides))
    assert response.status_code == 422, response.json
    assert response.json["error"]["fields"] == {field: message}
    assert counts(st) == before


def test_bad_patch_and_bad_ranges_write_nothing(st, api, team):
    editor, _operator, _channel = team
    sid = api.call("POST", "/series", editor, json=body()).json["id"]
    before = counts(st)
    response = api.call("PATCH", f"/series/{sid}", editor, json={"rrule": "FREQ=DAILY;INTERVAL=0"})
    assert response.json["error"]["fields"] == {
        "rrule": "INTERVAL must be a whole number of at least 1"}
    assert counts(st) == before
    path = f"/series/{sid}/occurrences"
    for query, field, message in [
        ({"start": "2026-11-24T00:00:00", "end": "2026-11-25T00:00:00Z"}, "start",
         "Input should have timezone info"),
        ({"start": "2026-11-25T00:00:00Z", "end": "2026-11-24T00:00:00Z"}, "end",
         "the end must be after the start"),
        ({"start": "2026-11-24T00:00:00Z", "end": "2028-11-24T00:00:00Z"}, "end",
         "at most 366 days at once"),
        ({"start": "2026-11-24T00:00:00Z"}, "end", "Field required"),
    ]:
        answer = api.call("GET", path, editor, query_string=query)
        assert (answer.status_code, answer.json["error"]["fields"]) == (422, {field: message})


def test_permissions_and_missing_series(st, api, team, make):
    editor, operator, _channel = team
    other = make.user("editor")
    sid = api.call("POST", "/series", editor, json=body()).json["id"]
    for method, path, payload in [("PATCH", f"/series/{sid}", {"title": "Mine now"}),
                                  ("DELETE", f"/series/{sid}", None),
                                  ("POST", f"/series/{sid}/end", None)]:
        answer = api.call(method, path, other, json=payload)
        assert answer.status_code == 403, (method, path)
        assert answer.json["error"]["message"] == f"you may not change series {sid}"
    own = api.call("POST", f"/series/{sid}/approve", operator, json={})
    assert own.status_code == 200
    mine = api.call("POST", "/series", operator, json=body()).json["id"]
    self_approval = api.call("POST", f"/series/{mine}/approve", operator, json={})
    assert self_approval.status_code == 403
    assert self_approval.json["error"]["message"].startswith(f"you wrote series {mine}")
    assert api.call("GET", "/series/999", editor).json["error"] == {
        "code": "not_found", "message": "series 999 does not exist", "fields": {}}
    assert api.call("GET", "/series").status_code == 401


def test_more_permission_failures_write_nothing(st, api, team, make):
    from planner.services import users

    editor, operator, _channel = team
    sid = api.call("POST", "/series", editor, json=body()).json["id"]
    window = {"start": "2026-11-24T00:00:00Z", "end": "2026-11-26T00:00:00Z"}
    with st.sessions() as session, session.begin():
        read_only = users.create_token(session, session.merge(operator), now=st.clock.now(),
                                       scope="read")
    api.token_for(operator)
    before = counts(st)
    for method, path, payload in [("POST", "/series", body()),
                                  ("GET", f"/series/{sid}/occurrences", None),
                                  ("POST", f"/series/{sid}/approve", {}),
                                  ("POST", f"/series/{sid}/end", None)]:
        answer = api.call(method, path, json=payload, query_string=window)
        assert answer.status_code == 401, (method, path)
    scoped = api.call("POST", f"/series/{sid}/approve", operator, token=read_only, json={})
    assert scoped.status_code == 403
    assert scoped.json["error"]["message"].startswith("this token may only read")
    assert api.call("POST", "/series/999/approve", operator, json={}).status_code == 404
    assert counts(st) == before

    # Once approved, only an operator may end it: that cancels approved occurrences.
    assert api.call("POST", f"/series/{sid}/approve", operator, json={}).status_code == 200
    refused = api.call("POST", f"/series/{sid}/end", editor)
    assert (refused.status_code, refused.json["error"]["message"]) == (
        403, f"series {sid} has approved occurrences ahead; only an operator may cancel them")
    assert api.call("GET", f"/series/{sid}", editor).json["status"] == "active"
    assert api.call("POST", f"/series/{sid}/end", operator).json["status"] == "ended"
    ended = api.call("POST", f"/series/{sid}/approve", operator, json={})
    assert ended.status_code == 409


def test_an_operator_may_edit_anyones_series(st, api, team):
    editor, operator, _channel = team
    sid = api.call("POST", "/series", editor, json=body()).json["id"]
    edited = api.call("PATCH", f"/series/{sid}", operator, json={"title": "Hello {weekday}"})
    assert (edited.status_code, edited.json["title"], edited.json["author_id"]) == (
        200, "Hello {weekday}", editor.id)
