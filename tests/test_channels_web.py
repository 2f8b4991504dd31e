"""The channel pages: set a channel up from its kind's form, try it, disable or delete it; secrets
never come back out of the server, whichever way one looks."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from channels.outbox import OutboxChannel
from planner.channel_api import PermanentError
from planner.models import AuditEntry, Channel
from planner.registry import Registry
from planner.services import users
from planner.worker.dispatcher import Dispatcher
from tests.conftest import csrf_from
from tests.scripted_channel import ScriptedChannel
from tests.test_channels_api import TOKEN, TokenChannel, token_platform


@pytest.fixture
def kinds(st):  # type: ignore[no-untyped-def]
    st.registry = Registry({"outbox": OutboxChannel, "scripted": ScriptedChannel,
                            "token": TokenChannel})
    ScriptedChannel.script = []
    ScriptedChannel.sent = []
    return st.registry


@pytest.fixture
def operator(make, auth):  # type: ignore[no-untyped-def]
    user = make.user("operator")
    auth.login(user.email)
    return user


def secrets_of(st, name):  # type: ignore[no-untyped-def]
    with st.sessions() as session:
        channel = session.scalars(select(Channel).where(Channel.name == name)).one()
        return channel.id, st.secret_box.open(channel.secrets_encrypted)


def form(token_field: str = TOKEN, **overrides):  # type: ignore[no-untyped-def]
    return {"name": "Python learners 1", "tags": "python-groups, Beginners", "enabled": "y",
            "rate_per_minute": "", "setting_base_url": "http://127.0.0.1:9",
            "setting_token": token_field, "setting_signing": "", "setting_style": "plain"
            } | overrides


def flashes(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", m).strip()
            for m in re.findall(r'<div class="flash[^"]*" role="status">(.*?)</div>', html, re.S)]


def input_tag(html: str, name: str) -> str:
    return re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)


def create(client, auth, **overrides):  # type: ignore[no-untyped-def]
    token = auth.token("/channels/new/token")
    return client.post("/channels/new/token", data=form(**overrides) | {"csrf_token": token},
                       follow_redirects=True)


def test_an_operator_chooses_a_kind_and_fills_in_its_form(st, kinds, operator, auth, client):
    chooser = client.get("/channels/new").get_data(as_text=True)
    for kind in ("outbox", "scripted", "token"):
        assert f'href="/channels/new/{kind}"' in chooser
    page = client.get("/channels/new/token").get_data(as_text=True)
    for name in ("setting_token", "setting_signing"):
        assert 'type="password"' in input_tag(page, name)
        assert 'value=""' in input_tag(page, name)
    assert "where the bot API lives" in page
    assert 'name="kind"' not in page  # the kind is in the address, fixed from here on

    created = create(client, auth)
    html = created.get_data(as_text=True)
    assert flashes(html) == ["Channel “Python learners 1” saved. Send it a test message to see "
                             "it work."]
    channel_id, secrets = secrets_of(st, "Python learners 1")
    assert secrets == {"token": TOKEN}
    assert created.request.path == f"/channels/{channel_id}/edit"
    with st.sessions() as session:
        channel = session.get(Channel, channel_id)
        assert (channel.kind, channel.tags, channel.enabled, channel.rate_per_minute) == (
            "token", ["beginners", "python-groups"], True, None)
    assert "saved — leave empty to keep" in html
    assert "Check credentials" in html and "Send test message" in html
    assert 'name="clear_signing"' not in html  # nothing saved to remove
    assert client.get("/channels/new/carrier-pigeon").status_code == 404


def test_form_errors_are_shown_beside_their_fields_and_nothing_is_saved(st, kinds, operator,
                                                                        auth, client):
    token = auth.token("/channels/new/token")
    response = client.post("/channels/new/token", data=form(
        token_field="", setting_style="loud", tags="Not A Tag!", rate_per_minute="0",
        csrf_token=token))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="setting_token-error"' in html and "Bot token is required" in html
    assert 'id="setting_style-error"' in html
    assert 'id="rate_per_minute-error"' in html
    response = client.post("/channels/new/token", data=form(tags="Not A Tag!", csrf_token=token))
    assert response.status_code == 422
    assert "not a tag: &#39;not a tag!&#39;" in response.get_data(as_text=True)
    response = client.post("/channels/new/token", data=form(
        name="<b>bold</b>", tags="<i>", csrf_token=token))
    assert "&#39;&lt;i&gt;&#39;" in response.get_data(as_text=True)  # quoted input is escaped
    with st.sessions() as session:
        assert session.scalars(select(Channel)).all() == []


def test_editing_keeps_the_saved_secret_unless_a_new_one_is_typed(st, kinds, operator, auth,
                                                                  client):
    create(client, auth, setting_signing="first-signing-secret")
    channel_id, _ = secrets_of(st, "Python learners 1")
    edit = f"/channels/{channel_id}/edit"
    page = client.get(edit).get_data(as_text=True)
    assert TOKEN not in page and "first-signing-secret" not in page
    assert page.count("saved — leave empty to keep") >= 2
    assert 'name="clear_signing"' in page
    assert 'value="http://127.0.0.1:9"' in input_tag(page, "setting_base_url")
    assert 'placeholder="saved — leave empty to keep"' in input_tag(page, "setting_token")
    assert 'value=""' in input_tag(page, "setting_token")

    token = csrf_from(page)
    saved = client.post(edit, data=form(token_field="", name="Python 1", csrf_token=token),
                        follow_redirects=True)
    assert flashes(saved.get_data(as_text=True)) == ["Saved."]
    assert secrets_of(st, "Python 1")[1] == {"token": TOKEN, "signing": "first-signing-secret"}

    client.post(edit, data=form(token_field="a-new-token", name="Python 1", clear_signing="y",
                                csrf_token=token), follow_redirects=True)
    assert secrets_of(st, "Python 1")[1] == {"token": "a-new-token"}
    same = client.post(edit, data=form(token_field="", name="Python 1", csrf_token=token),
                       follow_redirects=True)
    assert flashes(same.get_data(as_text=True)) == ["Nothing changed."]
    bad = client.post(edit, data=form(token_field="", name="", csrf_token=token))
    assert bad.status_code == 422 and 'id="name-error"' in bad.get_data(as_text=True)


def test_check_and_test_message_buttons_flash_the_outcome(st, kinds, operator, auth, client,
                                                           fake_platform):
    platform = token_platform(fake_platform)
    create(client, auth, setting_base_url=platform.url)
    channel_id, _ = secrets_of(st, "Python learners 1")
    token = auth.token("/channels")

    def press(action, back="edit"):  # type: ignore[no-untyped-def]
        page = client.post(f"/channels/{channel_id}/test", follow_redirects=True,
                           data={"csrf_token": token, "action": action, "back": back})
        return page.request.path, flashes(page.get_data(as_text=True))

    assert press("check") == (f"/channels/{channel_id}/edit",
                              ["Python learners 1: The credentials were accepted."])
    assert press("message", back="index") == (
        "/channels", ["Python learners 1: Test message sent: https://chat.example/m/1"])
    assert [(r.method, r.path) for r in platform.requests] == [("GET", "/me"), ("POST", "/send")]

    edit = f"/channels/{channel_id}/edit"
    client.post(edit, data=form(token_field="expired-token-99", setting_base_url=platform.url,
                                csrf_token=token), follow_redirects=True)
    assert press("message")[1] == [
        "Python learners 1: The platform refused: Unauthorized: bad token ••••"]
    assert client.post(f"/channels/{channel_id}/test", data={"action": "check"}).status_code == 400


def test_index_shows_how_each_channel_is_doing(st, kinds, make, operator, client, clock):
    editor = make.user("editor")
    channel = make.channel("Scripted group", kind="scripted", tags=["python-groups"])
    make.channel("Quiet group")
    make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id])
    clock.advance(hours=1)
    Dispatcher(st, worker_id="w1").tick()
    make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id])
    ScriptedChannel.script = [PermanentError("Forbidden: bot was kicked from the group chat")]
    clock.advance(hours=1)
    Dispatcher(st, worker_id="w1").tick()

    html = client.get("/channels").get_data(as_text=True)
    row = re.search(rf'<tr id="channel-{channel.id}">(.*?)</tr>', html, re.S).group(1)
    assert "Forbidden: bot was kicked from the group chat" in row
    assert "(latest outcome)" in row and "never" not in row
    assert "#python-groups" in row
    quiet = re.search(r'<tr id="channel-\d+">((?:(?!</tr>).)*Quiet group.*?)</tr>', html, re.S)
    assert "never" in quiet.group(1) and "none" in quiet.group(1)
    detail = client.get(f"/channels/{channel.id}/edit").get_data(as_text=True)
    assert "Forbidden: bot was kicked from the group chat" in detail


def test_a_channel_with_deliveries_is_disabled_not_deleted(st, kinds, make, operator, auth,
                                                           client):
    editor = make.user("editor")
    used, unused = make.channel("Used group"), make.channel("Unused group")
    make.post(editor, status="approved", reviewer=operator, channel_ids=[used.id])
    token = auth.token("/channels")

    refused = client.post(f"/channels/{used.id}/delete", data={"csrf_token": token},
                          follow_redirects=True)
    assert flashes(refused.get_data(as_text=True)) == [
        "Used group has 1 delivery on record, so it cannot be deleted (its history would be "
        "lost): disable it instead"]
    disabled = client.post(f"/channels/{used.id}/disable", data={"csrf_token": token},
                           follow_redirects=True)
    assert flashes(disabled.get_data(as_text=True)) == [
        "Used group is disabled: its deliveries wait until it is enabled again (or expire)."]
    assert f'action="/channels/{used.id}/enable"' in disabled.get_data(as_text=True)
    enabled = client.post(f"/channels/{used.id}/enable", data={"csrf_token": token},
                          follow_redirects=True)
    assert flashes(enabled.get_data(as_text=True)) == [
        "Used group is enabled: deliveries go out again."]
    deleted = client.post(f"/channels/{unused.id}/delete", data={"csrf_token": token},
                          follow_redirects=True)
    assert flashes(deleted.get_data(as_text=True)) == ["Channel “Unused group” deleted."]
    with st.sessions() as session:
        assert [c.name for c in session.scalars(select(Channel))] == ["Used group"]
        assert session.get(Channel, used.id).enabled is True
        actions = session.scalars(select(AuditEntry.action).where(
            AuditEntry.subject_type == "channel").order_by(AuditEntry.id)).all()
    assert actions == ["channel.create", "channel.create", "channel.update", "channel.update",
                       "channel.delete"]


def test_editors_cannot_manage_channels(st, kinds, make, auth, client):
    editor = make.user("editor")
    channel = make.channel()
    auth.login(editor.email)
    token = auth.token("/")
    for path in ("/channels/new", "/channels/new/outbox", f"/channels/{channel.id}/edit"):
        assert client.get(path).status_code == 403, path
    for action in ("test", "disable", "delete"):
        response = client.post(f"/channels/{channel.id}/{action}", data={"csrf_token": token})
        assert response.status_code == 403, action


def test_a_secret_never_leaves_the_server(st, kinds, make, operator, auth, client, caplog,
                                          fake_platform):
    """Every page, endpoint, audit row and log line, greped for a known secret."""
    caplog.set_level(logging.DEBUG)
    platform = token_platform(fake_platform)
    seen: list[str] = []

    def keep(response):  # type: ignore[no-untyped-def]
        seen.append(response.get_data(as_text=True))
        seen.append(str(response.headers))
        return response

    keep(create(client, auth, setting_base_url=platform.url, setting_signing="signing-" + TOKEN))
    channel_id, secrets = secrets_of(st, "Python learners 1")
    assert secrets["token"] == TOKEN
    token = auth.token("/channels")
    for path in ("/channels", "/channels/new", "/channels/new/token",
                 f"/channels/{channel_id}/edit"):
        keep(client.get(path))
    keep(client.post(f"/channels/{channel_id}/edit", follow_redirects=True, data=form(
        token_field="", setting_base_url=platform.url, name="Python 1", csrf_token=token)))
    keep(client.post(f"/channels/{channel_id}/edit", data=form(
        token_field="", setting_base_url="", name="", csrf_token=token)))  # a 422 page
    for action in ("check", "message"):
        keep(client.post(f"/channels/{channel_id}/test", follow_redirects=True,
                         data={"csrf_token": token, "action": action}))

    with st.sessions() as session, session.begin():
        bearer = users.create_token(session, session.merge(operator), now=st.clock.now())
    headers = {"Authorization": f"Bearer {bearer}"}
    for method, path, body in [
        ("GET", "/channel-kinds", None), ("GET", "/channels", None),
        ("GET", f"/channels/{channel_id}", None),
        ("PATCH", f"/channels/{channel_id}", {"settings": {"token": ""}, "tags": ["a"]}),
        ("PATCH", f"/channels/{channel_id}", {"settings": {"style": "loud"}}),
        ("POST", f"/channels/{channel_id}/test", {"action": "check"}),
        ("POST", f"/channels/{channel_id}/test", {"action": "message"}),
        ("POST", "/channels", {"kind": "token", "name": "Python 1",
                               "settings": {"base_url": "x", "token": TOKEN}}),
    ]:
        keep(client.open(f"/api/v1{path}", method=method, headers=headers, json=body))
    # The platform now refuses the token and quotes it back: the message must still be clean.
    secret_url = f"{platform.url}/?key={TOKEN}"
    keep(client.open(f"/api/v1/channels/{channel_id}", method="PATCH", headers=headers,
                     json={"settings": {"token": secret_url}}))
    keep(client.open(f"/api/v1/channels/{channel_id}/test", method="POST", headers=headers,
                     json={}))
    keep(client.post(f"/channels/{channel_id}/test", follow_redirects=True,
                     data={"csrf_token": token, "action": "check"}))
    keep(client.post(f"/channels/{channel_id}/delete", follow_redirects=True,
                     data={"csrf_token": token}))

    assert any("Unauthorized: bad token" in page for page in seen)  # the refusal was shown
    assert [r.headers["Authorization"] for r in platform.requests][-2:] == [
        f"Bearer {secret_url}"] * 2  # and the platform really got the secret
    with st.sessions() as session:
        audit = [str(row.data) for row in session.scalars(select(AuditEntry))]
    assert len(audit) >= 8
    for where, texts in (("responses", seen), ("audit rows", audit), ("logs", [caplog.text])):
        leaked = [text for text in texts if TOKEN in text]
        assert leaked == [], f"the secret leaked into {where}"
