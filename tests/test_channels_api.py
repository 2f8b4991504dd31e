"""The channels API: create, read, change, delete and try channels; secret settings are write-only."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from channels.outbox import OutboxChannel
from planner.channel_api import (
    Capabilities,
    ChannelKind,
    Limits,
    Message,
    PermanentError,
    PostContent,
    Receipt,
    Setting,
)
from planner.channel_http import call, json_body, raise_for_status
from planner.models import AuditEntry, Channel, Delivery
from planner.registry import Registry
from planner.worker.dispatcher import Dispatcher
from tests.fakes.server import json_response
from tests.scripted_channel import ScriptedChannel

TOKEN = "s3cr3t-TOKEN-value-0123456789"


class TokenChannel(ChannelKind):
    """A small kind with a secret token, an optional signing secret and a choice, talking HTTP."""

    name = "token"
    label = "Token bot (tests)"
    settings_schema = (
        Setting("base_url", "Base URL", help="where the bot API lives"),
        Setting("token", "Bot token", secret=True),
        Setting("signing", "Signing secret", secret=True, required=False),
        Setting("style", "Style", required=False, default="plain", choices=("plain", "fancy")),
    )
    limits = Limits(max_length=1000, per_minute=30)
    capabilities = Capabilities(remote_url=True, titles=True)

    def render(self, post: PostContent) -> list[Message]:
        return [Message(text=post.body, title=post.title)]

    def send(self, message: Message, http: Any, idempotency_key: str) -> Receipt:
        response = call(http, "POST", f"{self.settings['base_url']}/send", headers=self._auth(),
                        json={"title": message.title, "text": message.text, "key": idempotency_key})
        body = json_body(response)
        raise_for_status(response, body.get("description"))
        return Receipt(str(body["id"]), body["url"])

    def check(self, http: Any) -> None:
        response = call(http, "GET", f"{self.settings['base_url']}/me", headers=self._auth())
        raise_for_status(response, json_body(response).get("description"))

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings['token']}"}


def token_platform(fake_platform, *, throttle: bool = False):  # type: ignore[no-untyped-def]
    """A bot API that, like some real ones, quotes the rejected token back in its error."""
    sent: list[int] = []

    def handler(request):  # type: ignore[no-untyped-def]
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token != TOKEN:
            return json_response({"ok": False, "description": f"Unauthorized: bad token {token}"},
                                 401)
        if throttle:
            return json_response({"ok": False, "description": "Too Many Requests: retry after 7"},
                                 429, {"Retry-After": "7"})
        if request.path == "/me":
            return json_response({"ok": True, "username": "planner_bot"})
        sent.append(len(sent) + 1)
        return json_response({"ok": True, "id": sent[-1], "url": f"https://chat.example/m/{sent[-1]}"})

    return fake_platform(handler)


@pytest.fixture
def kinds(st):  # type: ignore[no-untyped-def]
    st.registry = Registry({"outbox": OutboxChannel, "scripted": ScriptedChannel,
                            "token": TokenChannel})
    ScriptedChannel.script = []
    ScriptedChannel.sent = []
    return st.registry


def counts(st):  # type: ignore[no-untyped-def]
    with st.sessions() as session:
        return (session.scalar(select(func.count()).select_from(Channel)),
                session.scalar(select(func.count()).select_from(AuditEntry)))


def stored_secrets(st, channel_id):  # type: ignore[no-untyped-def]
    with st.sessions() as session:
        return st.secret_box.open(session.get(Channel, channel_id).secrets_encrypted)


def audit_rows(st, action):  # type: ignore[no-untyped-def]
    with st.sessions() as session:
        return session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                               .order_by(AuditEntry.id)).all()


def token_body(url: str = "http://127.0.0.1:9", **overrides):  # type: ignore[no-untyped-def]
    return {"kind": "token", "name": "Python learners 1",
            "settings": {"base_url": url, "token": TOKEN}, "tags": ["python-groups"]} | overrides


def test_channel_kinds_describe_settings_limits_and_whether_they_can_check(kinds, make, api):
    items = {k["name"]: k for k in api.call("GET", "/channel-kinds", make.user("editor"))
             .json["items"]}
    assert sorted(items) == ["outbox", "scripted", "token"]
    token = items["token"]
    assert [(s["name"], s["secret"], s["required"]) for s in token["settings"]] == [
        ("base_url", False, True), ("token", True, True), ("signing", True, False),
        ("style", False, False)]
    assert token["settings"][0]["help"] == "where the bot API lives"
    assert token["settings"][3]["choices"] == ["plain", "fancy"]
    assert (token["can_check"], items["outbox"]["can_check"]) == (True, False)
    assert token["limits"] == {"max_length": 1000, "unit": "characters", "per_minute": 30,
                               "max_parts": 1}


def test_create_read_and_list_never_return_secrets(st, kinds, make, api):
    operator = make.user("operator")
    created = api.call("POST", "/channels", operator, json=token_body(rate_per_minute=12))
    assert created.status_code == 201, created.json
    channel = created.json
    assert channel["settings"] == {"base_url": "http://127.0.0.1:9", "style": "plain"}
    assert (channel["saved_secrets"], channel["tags"], channel["enabled"]) == (
        ["token"], ["python-groups"], True)
    assert (channel["rate_per_minute"], channel["rate_per_minute_override"]) == (12, 12)
    assert (channel["last_success"], channel["last_failure"]) == (None, None)

    editor = make.user("editor")  # editors may see channels, to target posts
    one = api.call("GET", f"/channels/{channel['id']}", editor)
    listed = api.call("GET", "/channels", editor)
    assert one.json == channel and listed.json["items"] == [channel]
    for response in (created, one, listed):
        assert TOKEN not in response.get_data(as_text=True)
    with st.sessions() as session:
        row = session.get(Channel, channel["id"])
        assert TOKEN not in row.secrets_encrypted and TOKEN not in str(row.settings)
    assert stored_secrets(st, channel["id"]) == {"token": TOKEN}
    [entry] = audit_rows(st, "channel.create")
    assert (entry.actor_id, entry.data["secret_settings"]) == (operator.id, ["token"])


@pytest.mark.parametrize("overrides, field", [
    ({"kind": "carrier-pigeon"}, "kind"),
    ({"name": ""}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"settings": {"base_url": "http://127.0.0.1:9"}}, "settings.token"),
    ({"settings": {"base_url": "http://127.0.0.1:9", "token": "   "}}, "settings.token"),
    ({"settings": {"token": TOKEN}}, "settings.base_url"),
    ({"settings": {"base_url": "u", "token": TOKEN, "style": "loud"}}, "settings.style"),
    ({"settings": {"base_url": "u", "token": TOKEN, "colour": "red"}}, "settings.colour"),
    ({"settings": {"base_url": {"nested": 1}, "token": TOKEN}}, "settings.base_url"),
    ({"settings": {"base_url": "u" * 4001, "token": TOKEN}}, "settings.base_url"),
    ({"tags": ["Not A Tag"]}, "tags.0"),
    ({"rate_per_minute": 0}, "rate_per_minute"),
    ({"enabled": "perhaps"}, "enabled"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_channels_are_422_with_the_field_named_and_nothing_written(st, kinds, make, api,
                                                                       overrides, field):
    operator = make.user("operator")
    api.call("GET", "/me", operator)
    before = counts(st)
    response = api.call("POST", "/channels", operator, json=token_body() | overrides)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "validation_failed"
    assert field in response.json["error"]["fields"], response.json
    assert counts(st) == before


def test_a_taken_name_is_a_conflict(st, kinds, make, api):
    operator = make.user("operator")
    assert api.call("POST", "/channels", operator, json=token_body()).status_code == 201
    again = api.call("POST", "/channels", operator, json=token_body())
    assert (again.status_code, again.json["error"]["fields"]) == (409, {"name": "already taken"})


def test_editing_keeps_a_secret_left_empty_and_replaces_one_given(st, kinds, make, api):
    operator = make.user("operator")
    channel_id = api.call("POST", "/channels", operator, json=token_body()).json["id"]

    def patch(**body):  # type: ignore[no-untyped-def]
        return api.call("PATCH", f"/channels/{channel_id}", operator, json=body)

    moved = patch(settings={"base_url": "http://127.0.0.1:10", "token": ""}, name="Python 1")
    assert moved.status_code == 200, moved.json
    assert (moved.json["name"], moved.json["settings"]["base_url"]) == ("Python 1",
                                                                         "http://127.0.0.1:10")
    assert patch(settings={"token": None}).status_code == 200
    assert patch(tags=["python-groups", "beginners"], enabled=False).json["enabled"] is False
    assert stored_secrets(st, channel_id) == {"token": TOKEN}

    signed = patch(settings={"token": "new-token-value", "signing": "sign-me-please"})
    assert signed.json["saved_secrets"] == ["signing", "token"]
    assert stored_secrets(st, channel_id) == {"token": "new-token-value",
                                              "signing": "sign-me-please"}
    assert patch(clear_secrets=["signing"]).json["saved_secrets"] == ["token"]

    changes = [row.data["changed"] for row in audit_rows(st, "channel.update")]
    assert changes == [["settings.base_url", "name"], ["tags", "enabled"],
                       ["secret.signing", "secret.token"], ["secret.signing"]]
    assert all("new-token-value" not in str(row.data) for row in audit_rows(st, "channel.update"))


@pytest.mark.parametrize("body, field", [
    ({"kind": "outbox"}, "kind"),
    ({"clear_secrets": ["token"]}, "settings.token"),
    ({"clear_secrets": ["base_url"]}, "settings.base_url"),
    ({"settings": {"base_url": ""}}, "settings.base_url"),
    ({"settings": {"style": "loud"}}, "settings.style"),
    ({"rate_per_minute": 6001}, "rate_per_minute"),
    ({"name": "  "}, "name"),
])
def test_bad_edits_change_nothing(st, kinds, make, api, body, field):
    operator = make.user("operator")
    channel = api.call("POST", "/channels", operator, json=token_body()).json
    before = counts(st)
    response = api.call("PATCH", f"/channels/{channel['id']}", operator, json=body)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"], response.json
    assert counts(st) == before
    assert api.call("GET", f"/channels/{channel['id']}", operator).json == channel


def test_the_kind_is_fixed_but_may_be_repeated_and_the_rate_can_go_back_to_the_kinds(
        st, kinds, make, api):
    operator = make.user("operator")
    channel = api.call("POST", "/channels", operator, json=token_body(rate_per_minute=5)).json
    same = api.call("PATCH", f"/channels/{channel['id']}", operator,
                    json={"kind": "token", "rate_per_minute": None})
    assert same.status_code == 200
    assert (same.json["rate_per_minute"], same.json["rate_per_minute_override"]) == (30, None)


def test_a_channel_with_deliveries_cannot_be_deleted_only_disabled(st, kinds, make, api):
    editor, operator = make.user("editor"), make.user("operator")
    used, unused = make.channel("Used group"), make.channel("Unused group")
    make.post(editor, status="approved", reviewer=operator, channel_ids=[used.id])
    draft = make.post(editor, channel_ids=[unused.id, used.id])

    refused = api.call("DELETE", f"/channels/{used.id}", operator)
    assert (refused.status_code, refused.json["error"]["code"]) == (409, "conflict")
    assert refused.json["error"]["message"] == (
        "Used group has 1 delivery on record, so it cannot be deleted (its history would be "
        "lost): disable it instead")
    disabled = api.call("PATCH", f"/channels/{used.id}", operator, json={"enabled": False})
    assert disabled.json["enabled"] is False

    assert api.call("DELETE", f"/channels/{unused.id}", operator).status_code == 204
    assert api.call("GET", f"/channels/{unused.id}", operator).status_code == 404
    [entry] = audit_rows(st, "channel.delete")
    assert (entry.subject_id, entry.data["removed_from_posts"]) == (unused.id, [draft])
    post = api.call("GET", f"/posts/{draft}", editor).json
    assert post["channel_ids"] == [used.id]


def test_last_success_and_last_failure_come_from_the_deliveries(st, kinds, make, api, clock):
    editor, operator = make.user("editor"), make.user("operator")
    channel = make.channel("Scripted group", kind="scripted")
    quiet = make.channel("Quiet group", kind="scripted")
    first = make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id])
    clock.advance(hours=1)
    Dispatcher(st, worker_id="w1").tick()
    second = make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id],
                       title="Second")
    ScriptedChannel.script = [PermanentError("Bad Request: chat not found")]
    clock.advance(hours=1)
    Dispatcher(st, worker_id="w1").tick()

    shown = api.call("GET", f"/channels/{channel.id}", operator).json
    with st.sessions() as session:
        sent = session.scalars(select(Delivery).where(Delivery.post_id == first)).one()
        failed = session.scalars(select(Delivery).where(Delivery.post_id == second)).one()
    assert shown["last_success"] == {"delivery_id": sent.id, "post_id": first,
                                     "at": shown["last_success"]["at"], "remote_id": "1",
                                     "remote_url": "https://example.test/1"}
    assert shown["last_failure"]["delivery_id"] == failed.id
    assert shown["last_failure"]["status"] == "failed"
    assert shown["last_failure"]["message"] == "Bad Request: chat not found"
    listed = {c["id"]: c for c in api.call("GET", "/channels", operator).json["items"]}
    assert listed[channel.id]["last_failure"] == shown["last_failure"]
    assert (listed[quiet.id]["last_success"], listed[quiet.id]["last_failure"]) == (None, None)


def test_a_test_message_is_rendered_by_the_kind_and_posted_with_a_fresh_key(
        st, kinds, make, api, fake_platform):
    platform = token_platform(fake_platform)
    operator = make.user("operator")
    channel_id = api.call("POST", "/channels", operator, json=token_body(platform.url)).json["id"]

    first = api.call("POST", f"/channels/{channel_id}/test", operator, json={})
    assert first.status_code == 200, first.json
    assert first.json == {"action": "message", "ok": True, "checked": True,
                          "message": "Test message sent: https://chat.example/m/1",
                          "remote_id": "1", "remote_url": "https://chat.example/m/1",
                          "error": None}
    second = api.call("POST", f"/channels/{channel_id}/test", operator, json={"action": "message"})
    assert second.json["remote_id"] == "2"
    posted = [r.json for r in platform.requests]
    titles = [p["title"] for p in posted]
    assert all(t.startswith("planner test message ") for t in titles)
    assert titles[0] != titles[1]  # forums refuse a title they have already seen
    assert "Python learners 1" in posted[0]["text"] and "**test message**" in posted[0]["text"]
    assert posted[0]["key"].startswith(f"planner-test-{channel_id}-")
    assert posted[0]["key"] != posted[1]["key"]
    [row, _] = audit_rows(st, "channel.test")
    assert (row.actor_id, row.data["test"], row.data["outcome"], row.data["remote_id"]) == (
        operator.id, "message", "sent", "1")


def test_checking_credentials_never_posts(st, kinds, make, api, fake_platform):
    platform = token_platform(fake_platform)
    operator = make.user("operator")
    channel_id = api.call("POST", "/channels", operator, json=token_body(platform.url)).json["id"]
    checked = api.call("POST", f"/channels/{channel_id}/test", operator, json={"action": "check"})
    assert checked.json | {"message": ""} == {
        "action": "check", "ok": True, "checked": True, "message": "", "remote_id": None,
        "remote_url": None, "error": None}
    assert [(r.method, r.path) for r in platform.requests] == [("GET", "/me")]

    outbox = make.channel("Outbox group")
    cannot = api.call("POST", f"/channels/{outbox.id}/test", operator, json={"action": "check"})
    assert (cannot.json["ok"], cannot.json["checked"]) == (True, False)
    assert "cannot check its credentials without posting" in cannot.json["message"]
    assert [r.data["outcome"] for r in audit_rows(st, "channel.test")] == ["valid", "not_supported"]


def test_a_refusal_is_reported_with_the_platforms_words_and_no_secret(st, kinds, make, api,
                                                                     fake_platform):
    platform = token_platform(fake_platform)
    operator = make.user("operator")
    channel_id = api.call("POST", "/channels", operator, json=token_body(platform.url)).json["id"]
    wrong = "wrong-token-abcdef-123456"
    api.call("PATCH", f"/channels/{channel_id}", operator, json={"settings": {"token": wrong}})
    for action in ("check", "message"):
        refused = api.call("POST", f"/channels/{channel_id}/test", operator, json={"action": action})
        assert refused.status_code == 200
        assert refused.json["ok"] is False
        assert refused.json["error"] == {"type": "permanent", "retry_after": None,
                                         "message": "Unauthorized: bad token ••••"}
        assert refused.json["message"] == "The platform refused: Unauthorized: bad token ••••"
    assert len(platform.requests) == 2  # it really asked the platform, and quoted it safely
    assert all(wrong not in str(r.data) for r in audit_rows(st, "channel.test"))


def test_a_throttled_test_says_when_to_try_again(st, kinds, make, api, fake_platform):
    platform = token_platform(fake_platform, throttle=True)
    operator = make.user("operator")
    channel_id = api.call("POST", "/channels", operator, json=token_body(platform.url)).json["id"]
    throttled = api.call("POST", f"/channels/{channel_id}/test", operator, json={})
    assert throttled.json["error"] == {"type": "throttled", "retry_after": 7.0,
                                       "message": "Too Many Requests: retry after 7"}
    assert throttled.json["message"].startswith("The platform asked to slow down (try again in 7 s)")


def test_an_unreachable_platform_is_retryable_and_keys_in_urls_are_redacted(st, make, api):
    class HookChannel(TokenChannel):
        name = "hook"
        settings_schema = (Setting("webhook_url", "Webhook URL", secret=True),)

        def send(self, message: Message, http: Any, idempotency_key: str) -> Receipt:
            response = call(http, "POST", self.settings["webhook_url"], json={"text": message.text})
            raise_for_status(response)
            return Receipt()

    st.registry = Registry({"hook": HookChannel})
    operator = make.user("operator")
    url = "http://127.0.0.1:1/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    created = api.call("POST", "/channels", operator,
                       json={"kind": "hook", "name": "Hooked", "settings": {"webhook_url": url}})
    result = api.call("POST", f"/channels/{created.json['id']}/test", operator, json={})
    assert result.json["error"]["type"] == "retryable"
    assert result.json["error"]["message"].startswith("could not connect")
    assert result.json["message"].startswith("The platform could not be reached or had a problem")
    assert "693a91f6" not in result.get_data(as_text=True)


def test_roles_editors_read_operators_change(st, kinds, make, api):
    editor, operator = make.user("editor"), make.user("operator")
    channel = make.channel()
    assert api.call("GET", "/channels").status_code == 401
    assert api.call("GET", "/channel-kinds").status_code == 401
    assert api.call("GET", f"/channels/{channel.id}", editor).status_code == 200
    for method, path, body in [("POST", "/channels", token_body()),
                               ("PATCH", f"/channels/{channel.id}", {"enabled": False}),
                               ("DELETE", f"/channels/{channel.id}", None),
                               ("POST", f"/channels/{channel.id}/test", {})]:
        forbidden = api.call(method, path, editor, json=body)
        assert (forbidden.status_code, forbidden.json["error"]["code"]) == (403, "forbidden")
    assert api.call("GET", "/channels/4242", operator).json["error"]["code"] == "not_found"
    assert api.call("PATCH", "/channels/4242", operator, json={}).status_code == 404
    assert api.call("POST", "/channels/4242/test", operator, json={}).status_code == 404
    with st.sessions() as session:
        assert session.get(Channel, channel.id).enabled is True


def test_the_openapi_document_describes_the_channel_endpoints(client):
    document = client.get("/api/v1/openapi.json").json
    paths = document["paths"]
    assert set(paths["/api/v1/channels"]) == {"get", "post"}
    assert set(paths["/api/v1/channels/{channel_id}"]) == {"get", "patch", "delete"}
    test = paths["/api/v1/channels/{channel_id}/test"]["post"]
    assert test["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ChannelTestIn"}
    schemas = document["components"]["schemas"]
    assert "clear_secrets" in schemas["ChannelPatch"]["properties"]
    assert "write-only" in schemas["ChannelIn"]["properties"]["settings"]["description"]
