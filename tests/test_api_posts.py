"""The posts API through HTTP: the happy path, and bad input that must write nothing."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from planner.models import AuditEntry, Post


def counts(st):
    with st.sessions() as session:
        return (session.scalar(select(func.count()).select_from(Post)),
                session.scalar(select(func.count()).select_from(AuditEntry)))


def body(st, targets, **overrides):
    return {"kind": "tutorial", "title": "Tip of the week", "body": "Use *f-strings*.",
            "scheduled_at": (st.clock.now() + timedelta(hours=2)).isoformat(),
            "channel_ids": targets} | overrides


def test_write_submit_approve_through_the_api(st, make, api):
    editor, operator = make.user("editor"), make.user("operator")
    channel = make.channel()
    created = api.call("POST", "/posts", editor, json=body(st, [channel.id]))
    assert created.status_code == 201, created.json
    post = created.json
    assert (post["status"], post["channel_ids"]) == ("draft", [channel.id])
    assert post["scheduled_at"].endswith("Z") or post["scheduled_at"].endswith("+00:00")

    submitted = api.call("POST", f"/posts/{post['id']}/submit", editor, json={})
    assert submitted.json["status"] == "in_review"
    approved = api.call("POST", f"/posts/{post['id']}/approve", operator, json={"comment": "ok"})
    assert approved.status_code == 200 and approved.json["status"] == "approved"
    deliveries = api.call("GET", f"/posts/{post['id']}/deliveries", operator).json["items"]
    assert [(d["channel_id"], d["status"]) for d in deliveries] == [(channel.id, "pending")]


def test_list_filters(st, make, api):
    editor = make.user("editor")
    channel = make.channel()
    other = make.channel()
    now = st.clock.now()
    make.post(editor, kind="greeting", scheduled_at=now + timedelta(hours=1), channel_ids=[channel.id])
    make.post(editor, kind="tutorial", scheduled_at=now + timedelta(days=3), channel_ids=[other.id])
    def titles(query):
        return [p["kind"] for p in api.call("GET", "/posts", editor, query_string=query).json["items"]]
    assert titles({}) == ["greeting", "tutorial"]
    assert titles({"kind": "tutorial"}) == ["tutorial"]
    assert titles({"channel_id": channel.id}) == ["greeting"]
    assert titles({"end": (now + timedelta(days=1)).isoformat()}) == ["greeting"]
    assert api.call("GET", "/posts", editor, query_string={"start": "2026-11-23T00:00"}).status_code == 422


def test_patch_changes_only_given_fields(st, make, api):
    editor = make.user("editor")
    post_id = make.post(editor, channel_ids=[make.channel().id])
    response = api.call("PATCH", f"/posts/{post_id}", editor, json={"title": "New title"})
    assert response.status_code == 200
    assert (response.json["title"], response.json["body"]) == ("New title", "Use **f-strings**.")


@pytest.mark.parametrize("overrides, field", [
    ({"title": ""}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"body": ""}, "body"),
    ({"body": "x" * 20_001}, "body"),
    ({"kind": "advert"}, "kind"),
    ({"scheduled_at": "2026-11-30T08:00:00"}, "scheduled_at"),
    ({"scheduled_at": "next tuesday"}, "scheduled_at"),
    ({"channel_ids": [9999]}, "channel_ids"),
    ({"tags": ["Not A Tag"]}, "tags.0"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_fields_are_422_with_the_field_named_and_nothing_written(st, make, api, overrides, field):
    editor = make.user("editor")
    channel = make.channel()
    api.token_for(editor)
    before = counts(st)
    response = api.call("POST", "/posts", editor, json=body(st, [channel.id], **overrides))
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "validation_failed"
    assert field in error["fields"], error
    assert counts(st) == before


def test_a_post_scheduled_in_the_past_is_refused(st, make, api):
    editor = make.user("editor")
    past = (st.clock.now() - timedelta(minutes=1)).isoformat()
    response = api.call("POST", "/posts", editor, json=body(st, [make.channel().id], scheduled_at=past))
    assert response.status_code == 422
    assert "past" in response.json["error"]["fields"]["scheduled_at"]


def test_expiry_before_publish_time_is_refused(st, make, api):
    editor = make.user("editor")
    expires = (st.clock.now() + timedelta(minutes=30)).isoformat()
    response = api.call("POST", "/posts", editor, json=body(st, [make.channel().id], expires_at=expires))
    assert response.json["error"]["fields"]["expires_at"] == "the expiry must be after the publish time"


@pytest.mark.parametrize("payload, code", [
    ("{not json", "bad_request"),
    ("[1, 2]", "validation_failed"),
])
def test_malformed_bodies_are_client_errors(st, make, api, payload, code):
    editor = make.user("editor")
    api.token_for(editor)
    before = counts(st)
    response = api.call("POST", "/posts", editor, data=payload,
                        headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 422)
    assert response.json["error"]["code"] == code
    assert counts(st) == before


def test_authentication_and_roles(st, make, api, client):
    editor, operator = make.user("editor"), make.user("operator")
    post_id = make.post(editor, status="in_review", channel_ids=[make.channel().id])
    assert api.call("GET", "/posts").status_code == 401
    bad = api.call("GET", "/posts", headers={"Authorization": "Bearer plnr_nope"})
    assert (bad.status_code, bad.json["error"]["code"]) == (401, "unauthenticated")
    forbidden = api.call("POST", f"/posts/{post_id}/approve", editor, json={})
    assert (forbidden.status_code, forbidden.json["error"]["code"]) == (403, "forbidden")
    assert forbidden.json["error"]["message"] == "this needs the operator role or higher"
    mine = make.post(operator, status="in_review", channel_ids=[make.channel().id])
    own = api.call("POST", f"/posts/{mine}/approve", operator, json={})
    assert (own.status_code, own.json["error"]["code"]) == (403, "forbidden")
    assert own.json["error"]["message"] == (
        f"you wrote post {mine}; another operator must review it "
        "(or an admin allows self-approval in the settings)")
    assert api.call("GET", f"/posts/{mine}", operator).json["status"] == "in_review"
    assert api.call("POST", f"/posts/{post_id}/approve", operator, json={}).status_code == 200
    again = api.call("POST", f"/posts/{post_id}/approve", operator, json={})
    assert (again.status_code, again.json["error"]["code"]) == (409, "conflict")
    assert api.call("GET", "/posts/424242", editor).json["error"]["code"] == "not_found"
    assert api.call("GET", "/no-such-endpoint", editor).status_code == 404


def test_session_callers_need_a_csrf_header_for_changes(st, make, api, auth, client):
    editor = make.user("editor")
    auth.login(editor.email)
    assert client.get("/api/v1/me").json["email"] == editor.email
    channel = make.channel()
    before = counts(st)
    refused = client.post("/api/v1/posts", json=body(st, [channel.id]))
    assert refused.status_code == 400 and "CSRF" in refused.json["error"]["message"]
    assert counts(st) == before
    accepted = client.post("/api/v1/posts", json=body(st, [channel.id]),
                           headers={"X-CSRFToken": auth.token()})
    assert accepted.status_code == 201


def test_revoked_tokens_stop_working_and_use_is_recorded(st, make, api):
    from planner.models import ApiToken

    editor = make.user("editor")
    token = api.token_for(editor)
    assert api.call("GET", "/me", editor).status_code == 200
    with st.sessions() as session, session.begin():
        row = session.scalars(select(ApiToken)).one()
        assert row.last_used_at == st.clock.now()
        assert row.token_hash != token and token not in row.token_hash
        row.revoked_at = st.clock.now()
    assert api.call("GET", "/me", editor, token=token).status_code == 401


def test_openapi_document_is_generated_from_the_request_schemas(client):
    document = client.get("/api/v1/openapi.json").json
    post = document["paths"]["/api/v1/posts"]["post"]
    schema_ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert schema["properties"]["title"]["maxLength"] == 200
    assert schema["additionalProperties"] is False
    assert {"submit", "approve", "reject", "cancel"} <= {
        path.rsplit("/", 1)[1] for path in document["paths"] if "{post_id}/" in path}
    assert document["paths"]["/api/v1/posts/{post_id}"]["get"]["parameters"][0]["name"] == "post_id"
