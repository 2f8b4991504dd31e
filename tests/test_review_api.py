"""Previews, comments and approval refused by the checks, through the HTTP API."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from planner.models import AuditEntry, Comment, Delivery
from tests.review_helpers import channel, enable_kinds, set_rules


@pytest.fixture
def kinds(st):
    return enable_kinds(st)


def counts(st):
    with st.sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (Comment, Delivery, AuditEntry))


# ---- preview -------------------------------------------------------------------------------------

def test_preview_renders_unsaved_input_for_every_target(st, make, api, kinds):
    editor = make.user("editor")
    fedi = channel(st, "mastodon", "Fediverse")
    channel(st, "wecom", "Python group", tags=["python-groups"])
    channel(st, "outbox", "Disabled")  # not targeted
    when = (st.clock.now() + timedelta(days=1)).isoformat()
    answer = api.call("POST", "/preview", editor, json={
        "kind": "tutorial", "title": "f-strings", "body": "Use **f-strings**: see [docs](https://docs.python.org/3/)",
        "scheduled_at": when, "channel_ids": [fedi.id], "tags": ["python-groups"]})
    assert answer.status_code == 200, answer.json
    result = answer.json
    assert [(t["channel_name"], t["kind"], t["unit"], t["limit"], t["parts"])
            for t in result["targets"]] == [("Fediverse", "mastodon", "characters", 500, 1),
                                            ("Python group", "wecom", "bytes", 4096, 1)]
    fedi_text = result["targets"][0]["messages"][0]["text"]
    assert fedi_text == "f-strings\n\nUse f-strings: see docs (https://docs.python.org/3/)"
    assert result["targets"][0]["length"] == len(fedi_text)
    assert result["targets"][1]["messages"][0]["text"].startswith("# f-strings\n")
    assert result["targets"][1]["length"] == len(result["targets"][1]["messages"][0]["text"].encode())
    assert (result["findings"], result["blocking"]) == ([], False)

    long = api.call("POST", "/preview", editor, json={
        "title": "", "body": "长" * 600, "channel_ids": [fedi.id]}).json
    [target] = long["targets"]
    assert (target["length"], target["parts"], long["blocking"]) == (None, 0, True)
    assert [f["code"] for f in target["findings"]] == ["too_long"]
    assert target["refusal"].startswith("the status is 600 characters")


def test_preview_of_a_saved_post_per_channel(st, make, api, kinds):
    editor = make.user("editor")
    fedi, group = channel(st, "mastodon", "Fediverse"), channel(st, "wecom", "Group")
    post_id = make.post(editor, channel_ids=[fedi.id, group.id])
    both = api.call("GET", f"/posts/{post_id}/preview", editor).json
    assert [t["channel_id"] for t in both["targets"]] == [fedi.id, group.id]
    one = api.call("GET", f"/posts/{post_id}/preview", editor, query_string={"channel_id": group.id})
    assert [t["kind"] for t in one.json["targets"]] == ["wecom"]
    missing = api.call("GET", f"/posts/{post_id}/preview", editor, query_string={"channel_id": 999})
    assert (missing.status_code, missing.json["error"]["message"]) == (404, "channel 999 does not exist")
    assert api.call("GET", "/posts/999/preview", editor).status_code == 404


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"scheduled_at": "2026-11-24T08:00"}, "scheduled_at", "Input should have timezone info"),
    ({"channel_ids": [999]}, "channel_ids", "unknown channel id(s): 999"),
    ({"kind": "advert"}, "kind", None),
    ({"body": "x" * 20_001}, "body", "String should have at most 20000 characters"),
    ({"surprise": 1}, "surprise", "Extra inputs are not permitted"),
])
def test_preview_bad_input_is_422(st, make, api, kinds, body, field, message):
    answer = api.call("POST", "/preview", make.user("editor"), json=body)
    assert answer.status_code == 422
    if message:
        assert answer.json["error"]["fields"][field] == message
    else:
        assert field in answer.json["error"]["fields"]


def test_session_preview_needs_the_csrf_header(st, make, client, auth, kinds):
    editor = make.user("editor")
    auth.login(editor.email)
    refused = client.post("/api/v1/preview", json={"body": "hi"})
    assert refused.status_code == 400
    assert refused.json["error"]["message"].startswith("session requests need an X-CSRFToken header")
    token = auth.token("/posts/new")
    ok = client.post("/api/v1/preview", json={"body": "hi"}, headers={"X-CSRFToken": token})
    assert ok.status_code == 200 and ok.json["targets"] == []


# ---- comments ------------------------------------------------------------------------------------

def test_comments_and_review_decisions_form_one_thread(st, make, api, clock):
    editor, operator = make.user("editor"), make.user("operator")
    group = make.channel()
    post_id = make.post(editor, status="in_review", channel_ids=[group.id])
    clock.advance(minutes=1)
    first = api.call("POST", f"/posts/{post_id}/comments", editor, json={"body": "  Ready for you  "})
    assert first.status_code == 201
    assert (first.json["type"], first.json["body"], first.json["author_id"]) == (
        "comment", "Ready for you", editor.id)
    clock.advance(minutes=1)
    rejected = api.call("POST", f"/posts/{post_id}/reject", operator,
                        json={"comment": "Add an example"})
    assert rejected.status_code == 200
    clock.advance(minutes=1)
    api.call("POST", f"/posts/{post_id}/comments", operator, json={"body": "Thanks!"})
    thread = api.call("GET", f"/posts/{post_id}/comments", editor).json["items"]
    assert [(e["type"], e["author_id"], e["body"], e["decision"]) for e in thread] == [
        ("comment", editor.id, "Ready for you", None),
        ("review", operator.id, "Add an example", "rejected"),
        ("comment", operator.id, "Thanks!", None),
    ]


@pytest.mark.parametrize(("text", "message"), [
    ("   ", "write a comment first"),
    ("字" * 2001, "the comment is 2001 characters; at most 2000"),
])
def test_bad_comments_are_422_and_write_nothing(st, make, api, text, message):
    editor = make.user("editor")
    post_id = make.post(editor)
    api.token_for(editor)
    before = counts(st)
    answer = api.call("POST", f"/posts/{post_id}/comments", editor, json={"body": text})
    assert answer.status_code == 422
    assert answer.json["error"] == {"code": "validation_failed", "message": "the comment was not saved",
                                    "fields": {"body": message}}
    assert counts(st) == before


def test_comment_on_a_missing_post_or_without_a_body(st, make, api):
    editor = make.user("editor")
    before = counts(st)
    assert api.call("POST", "/posts/999/comments", editor, json={"body": "hi"}).status_code == 404
    post_id = make.post(editor)
    missing = api.call("POST", f"/posts/{post_id}/comments", editor, json={})
    assert (missing.status_code, missing.json["error"]["fields"]) == (422, {"body": "Field required"})
    assert counts(st)[0] == before[0] == 0


def test_only_the_author_or_an_operator_deletes_a_comment(st, make, api):
    author, other, operator = make.user("editor"), make.user("editor"), make.user("operator")
    post_id = make.post(author)
    mine = api.call("POST", f"/posts/{post_id}/comments", author, json={"body": "one"}).json["id"]
    theirs = api.call("POST", f"/posts/{post_id}/comments", other, json={"body": "two"}).json["id"]
    refused = api.call("DELETE", f"/comments/{mine}", other)
    assert (refused.status_code, refused.json["error"]["message"]) == (
        403, "only the comment's author or an operator may delete it")
    assert api.call("DELETE", f"/comments/{mine}", author).status_code == 204
    assert api.call("DELETE", f"/comments/{theirs}", operator).status_code == 204
    assert api.call("DELETE", f"/comments/{theirs}", operator).status_code == 404
    assert api.call("GET", f"/posts/{post_id}/comments", author).json["items"] == []
    assert api.call("GET", f"/posts/{post_id}/comments").status_code == 401


# ---- approval and its checks ---------------------------------------------------------------------

def test_approval_refused_by_the_checks_names_each_finding(st, make, api, kinds):
    editor, operator = make.user("editor"), make.user("operator")
    fedi = channel(st, "mastodon", "Fediverse")
    post_id = make.post(editor, status="in_review", channel_ids=[fedi.id],
                        body="Cheap casino tips " + "x" * 600)
    set_rules(st, banned=["casino"])
    for user in (editor, operator):
        api.token_for(user)
    before = counts(st)
    assert api.call("POST", f"/posts/{post_id}/approve", editor, json={}).status_code == 403
    refused = api.call("POST", f"/posts/{post_id}/approve", operator, json={})
    assert refused.status_code == 422
    error = refused.json["error"]
    assert error["message"] == "the post did not pass its pre-publish checks"
    assert sorted(error["fields"]) == ["checks.banned_words", f"checks.too_long.{fedi.id}"]
    assert error["fields"]["checks.banned_words"] == (
        "the post contains words the community's rules forbid: “casino”")
    assert counts(st) == before
    assert api.call("GET", f"/posts/{post_id}", operator).json["status"] == "in_review"


def test_the_openapi_document_describes_previews_and_comments(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert set(paths["/api/v1/posts/{post_id}/comments"]) == {"get", "post"}
    assert set(paths["/api/v1/comments/{comment_id}"]) == {"delete"}
    preview = paths["/api/v1/preview"]["post"]
    assert preview["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PreviewIn"}
    saved = paths["/api/v1/posts/{post_id}/preview"]["get"]
    assert [p["name"] for p in saved["parameters"]] == ["post_id", "channel_id"]


def test_anonymous_and_read_only_callers_change_nothing(st, make, api, client):
    from planner.services import users

    editor = make.user("editor")
    post_id = make.post(editor)
    comment = api.call("POST", f"/posts/{post_id}/comments", editor, json={"body": "mine"}).json["id"]
    with st.sessions() as session, session.begin():
        read_only = users.create_token(session, session.merge(editor), now=st.clock.now(),
                                       scope="read")
    before = counts(st)
    for method, path, payload in [("POST", "/preview", {"body": "hi"}),
                                  ("GET", f"/posts/{post_id}/preview", None),
                                  ("POST", f"/posts/{post_id}/comments", {"body": "hi"}),
                                  ("DELETE", f"/comments/{comment}", None)]:
        answer = api.call(method, path, json=payload)
        assert (answer.status_code, answer.json["error"]["code"]) == (401, "unauthenticated"), path
    headers = {"Authorization": f"Bearer {read_only}"}
    for method, path, payload in [("POST", f"/posts/{post_id}/comments", {"body": "hi"}),
                                  ("DELETE", f"/comments/{comment}", None)]:
        answer = client.open(f"/api/v1{path}", method=method, json=payload, headers=headers)
        assert answer.status_code == 403, path
    assert client.get(f"/api/v1/posts/{post_id}/comments", headers=headers).status_code == 200
    assert api.call("GET", "/posts/999/comments", editor).json["error"] == {
        "code": "not_found", "message": "post 999 does not exist", "fields": {}}
    assert counts(st) == before
