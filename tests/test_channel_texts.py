"""A channel kind's words (its label, its settings, why it refuses a post) speak the reader's language."""

from __future__ import annotations

import json

import pytest

from channels.outbox import OutboxChannel
from channels.wechat_mp import WeChatOfficialAccountChannel
from planner.channel_api import RenderError
from planner.channel_text import pack
from planner.models import User
from planner.registry import Registry

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}


@pytest.fixture
def wechat(st):  # type: ignore[no-untyped-def]
    st.registry = Registry({"outbox": OutboxChannel, "wechat_mp": WeChatOfficialAccountChannel})


def refusal() -> str:
    with pytest.raises(RenderError) as refused:
        pack(["x" * 50], limit=10, unit="bytes", max_parts=1)
    return str(refused.value)


def test_setting_labels_follow_the_editors_language(st, wechat, make, auth, client):
    operator = make.user("operator")
    auth.login(operator.email)
    english = client.get("/channels/new/wechat_mp", headers=ENGLISH).get_data(as_text=True)
    assert ">Author</label>" in english and "WeChat Official Account (公众号)" in english
    with st.sessions() as session, session.begin():
        session.get(User, operator.id).locale = "zh_Hans_CN"
    chinese = client.get("/channels/new/wechat_mp", headers=ENGLISH).get_data(as_text=True)
    assert ">作者</label>" in chinese and ">Author</label>" not in chinese


def test_a_refusal_is_worded_when_it_is_shown(app):
    english = "the post is 50 bytes after rendering; this channel takes at most 10 bytes in one message"
    assert refusal() == english  # no request (the dispatcher, the CLI): English
    with app.test_request_context(headers=ENGLISH):
        assert refusal() == english
    with app.test_request_context(headers=CHINESE):
        assert "50 字节" in refusal() and "10 字节" in refusal()


def test_kind_descriptions_are_plain_text_in_the_callers_language(wechat, api, make):
    described = WeChatOfficialAccountChannel.describe()
    json.dumps(described)  # plain strings: nothing lazy leaks into JSON
    assert described["label"] == "WeChat Official Account (公众号)"
    editor = make.user("editor")
    kinds = {k["name"]: k for k in api.call("GET", "/channel-kinds", editor, headers=CHINESE).json["items"]}
    author = next(s for s in kinds["wechat_mp"]["settings"] if s["name"] == "author")
    assert author["label"] == "作者" and isinstance(author["help"], str)
