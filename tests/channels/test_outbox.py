"""The outbox kind, and the registry that loads every kind from the ``planner.channels`` entry points."""

import json

import pytest

from channels.outbox import OutboxChannel, read_outbox
from planner.channel_api import ChannelContext, PostContent
from planner.registry import Registry, UnknownKind


def test_builtins_load_through_entry_points():
    registry = Registry.from_entry_points()
    assert registry.get("outbox") is OutboxChannel
    assert Registry.from_entry_points(only=[]).names() == []
    with pytest.raises(UnknownKind):
        registry.get("carrier-pigeon")


def test_channel_kinds_api_describes_the_contract(st, make, client):
    from planner.services import users

    editor = make.user("editor")
    with st.sessions() as session, session.begin():
        token = users.create_token(session, session.merge(editor), now=st.clock.now())
    kinds = client.get("/api/v1/channel-kinds", headers={"Authorization": f"Bearer {token}"}).json
    [outbox] = kinds["items"]
    assert outbox["name"] == "outbox"
    assert outbox["capabilities"]["idempotency_key"] is True
    assert set(outbox["limits"]) == {"max_length", "unit", "per_minute", "max_parts"}


def test_outbox_writes_one_file_per_idempotency_key(tmp_path):
    kind = OutboxChannel({}, ChannelContext(instance_path=tmp_path))
    [message] = kind.render(PostContent(kind="greeting", title="早上好", body="大家早上好！"))
    kind.send(message, http=None, idempotency_key="planner-1-2-r1")
    kind.send(message, http=None, idempotency_key="planner-1-2-r1")
    files = list((tmp_path / "outbox").glob("*.json"))
    assert [f.name for f in files] == ["planner-1-2-r1.json"]
    assert json.loads(files[0].read_text(encoding="utf-8"))["message"]["text"] == "大家早上好！"
    [entry] = read_outbox(tmp_path)
    assert (entry.title, entry.text) == ("早上好", "大家早上好！")
