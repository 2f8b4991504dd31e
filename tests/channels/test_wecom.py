"""The ``wecom`` kind against a fake WeCom group-robot webhook: rendering, limits, error codes."""

import socket
from pathlib import Path
from typing import NamedTuple

import pytest
from sqlalchemy import select

from channels.wecom import WeComChannel
from planner.channel_api import (
    ChannelContext,
    ChannelKind,
    Message,
    OutcomeUnknownError,
    PermanentError,
    PostContent,
    Receipt,
    RenderError,
    RetryableError,
    ThrottledError,
)
from planner.channel_text import measure
from planner.models import Delivery
from planner.registry import Registry
from planner.services.channels import create_channel
from planner.worker.dispatcher import Dispatcher
from tests.channels.samples import TUTORIAL
from tests.fakes.server import FakePlatform, json_response
from tests.fakes.wecom import KEY, PATH, FakeWeCom


def wecom(url: str = f"https://qyapi.weixin.qq.com{PATH}?key={KEY}", fmt: str = "markdown"):
    return WeComChannel({"webhook_url": url, "format": fmt}, ChannelContext(instance_path=Path()))


class Robot(NamedTuple):
    fake: FakeWeCom
    server: FakePlatform
    url: str


@pytest.fixture
def robot(fake_platform):
    fake = FakeWeCom()
    server = fake_platform(fake)
    return Robot(fake, server, f"{server.url}{PATH}?key={KEY}")


# ---- rendering ---------------------------------------------------------------------------------

def test_markdown_keeps_what_wecom_shows_and_degrades_the_rest():
    [message] = wecom().render(TUTORIAL)
    assert (message.format, message.part, message.parts) == ("markdown", 1, 1)
    assert message.text == (
        "# 本周技巧：f-strings\n\n"
        "## 为什么用 f-strings\n\n"
        "它们**更快**，也更易读。详见[官方文档](https://docs.python.org/3/tutorial/inputoutput.html)。\n\n"
        "`name = '世界'`\n`print(f'你好, {name}')`\n\n"
        "• 简单 🙂\n• 快速\n  • 比 `%` 快\n\n"
        "**写法** | **速度**\nf-string | 快\nformat() | 慢\n\n"
        "> 记得升级到 Python 3.12\n\n"
        "[示意图](https://example.com/f.png)")


def test_markdown_v2_keeps_lists_code_tables_and_images():
    [message] = wecom(fmt="markdown_v2").render(TUTORIAL)
    assert message.format == "markdown_v2"
    assert message.text == (
        "# 本周技巧：f-strings\n\n"
        "## 为什么用 f-strings\n\n"
        "它们**更快**，也更*易读*。详见[官方文档](https://docs.python.org/3/tutorial/inputoutput.html)。\n\n"
        "```python\nname = '世界'\nprint(f'你好, {name}')\n```\n\n"
        "- 简单 🙂\n- 快速\n    - 比 `%` 快\n\n"
        "| 写法 | 速度 |\n| --- | --- |\n| f-string | 快 |\n| format() | 慢 |\n\n"
        "> 记得升级到 Python 3.12\n\n"
        "![示意图](https://example.com/f.png)")


def test_text_is_plain_with_links_written_out():
    [message] = wecom(fmt="text").render(TUTORIAL)
    assert message.format == "text"
    assert message.text == (
        "本周技巧：f-strings\n\n"
        "为什么用 f-strings\n\n"
        "它们更快，也更易读。详见官方文档 (https://docs.python.org/3/tutorial/inputoutput.html)。\n\n"
        "name = '世界'\nprint(f'你好, {name}')\n\n"
        "• 简单 🙂\n• 快速\n  • 比 % 快\n\n"
        "写法 | 速度\nf-string | 快\nformat() | 慢\n\n"
        "> 记得升级到 Python 3.12\n\n"
        "示意图 https://example.com/f.png")


def test_links_that_cannot_open_from_a_chat_stay_text():
    body = "见[关于我们](/about)和[这里](javascript:alert(1))。![图](data:image/png;base64,xx)"
    for fmt in ("markdown", "markdown_v2", "text"):
        [message] = wecom(fmt=fmt).render(PostContent("share", "", body))
        assert message.text == "见关于我们和这里。图"


def test_a_long_post_is_split_between_paragraphs_within_4096_bytes():
    paragraphs = [f"第{i}段：" + "社区运营的每周节奏。" * 50 for i in range(3)]  # ~1.5 KB each
    messages = wecom().render(PostContent("share", "长文", "\n\n".join(paragraphs)))
    assert [m.text for m in messages] == [
        f"(1/2)\n\n# 长文\n\n{paragraphs[0]}\n\n{paragraphs[1]}",
        f"(2/2)\n\n{paragraphs[2]}",
    ]
    assert [(m.part, m.parts) for m in messages] == [(1, 2), (2, 2)]


@pytest.mark.parametrize(("fmt", "limit"), [("markdown", 4096), ("markdown_v2", 4096), ("text", 2048)])
def test_an_over_long_paragraph_is_cut_at_sentences_never_inside_a_link(fmt, limit):
    link = "[报名表](https://example.com/signup?group=python)"
    body = "欢迎大家参加本周的线上分享会。" * 150 + link + "我们不见不散！" * 30
    messages = wecom(fmt=fmt).render(PostContent("share", "分享会", body))
    assert len(messages) > 1
    for message in messages:
        assert measure(message.text, "bytes") <= limit
        assert message.text.endswith(("。", "！", ")"))
    joined = "".join(m.text for m in messages)
    assert ("https://example.com/signup?group=python" in joined
            and sum("example.com/signup" in m.text for m in messages) == 1)


def test_a_code_block_is_never_cut_and_too_many_parts_are_refused():
    code = "```\n" + "print('日志')\n" * 400 + "```"
    with pytest.raises(RenderError, match="code blocks are never cut"):
        wecom().render(PostContent("tutorial", "代码", code))
    with pytest.raises(RenderError, match="at most 10"):
        wecom(fmt="text").render(PostContent("share", "长", "\n\n".join(["加油。" * 200] * 12)))


# ---- sending -----------------------------------------------------------------------------------

def test_send_posts_utf8_json_to_the_webhook(robot, http):
    [message] = wecom(robot.url).render(PostContent("greeting", "早上好", "大家早上好！☀️ 今天也要加油 💪"))
    assert wecom(robot.url).send(message, http, "planner-1-1") == Receipt()
    [request] = robot.server.requests
    assert request.query == {"key": KEY}
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "早上好".encode() in request.body  # sent as UTF-8, not \u escapes the limit would count
    assert robot.fake.messages == [{"msgtype": "markdown",
                               "markdown": {"content": "# 早上好\n\n大家早上好！☀️ 今天也要加油 💪"}}]


@pytest.mark.parametrize(("fmt", "content"), [("text", "早" * 683), ("markdown", "早" * 1366)])
def test_the_fake_enforces_byte_limits_and_the_kind_reports_them(robot, http, fmt, content):
    message = Message(text=content, format=fmt)  # one character past the limit in bytes
    with pytest.raises(PermanentError, match="WeCom error (45002|40058)"):
        wecom(robot.url).send(message, http, "k")
    shorter = Message(text=content[:-1], format=fmt)
    wecom(robot.url).send(shorter, http, "k")
    assert robot.fake.messages[0][fmt]["content"] == content[:-1]


# What each documented errcode must become: (error, retry_after).
EXPECTED = {
    -1: (RetryableError, None),
    45009: (ThrottledError, 60),
    45033: (ThrottledError, 10),
    93000: (PermanentError, None),
    40058: (PermanentError, None),
    45002: (PermanentError, None),
    40008: (PermanentError, None),
    44004: (PermanentError, None),
    40035: (PermanentError, None),
    40063: (PermanentError, None),
    40007: (PermanentError, None),
    45008: (PermanentError, None),
    12345: (PermanentError, None),  # undocumented: refused, not retried blindly
}


def test_error_codes_map_as_the_contract_says(robot, http):
    robot.fake.per_minute = len(EXPECTED)
    for errcode, (error, retry_after) in EXPECTED.items():
        robot.fake.script.append({"errcode": errcode, "errmsg": f"words for {errcode}"})
        with pytest.raises(error) as raised:
            wecom(robot.url).send(Message(text="hi"), http, "k")
        assert (type(raised.value), raised.value.retry_after) == (error, retry_after), errcode
        assert raised.value.message == f"WeCom error {errcode}: words for {errcode}"


def test_the_21st_message_in_a_minute_is_throttled(robot, http):
    kind = wecom(robot.url)
    for _ in range(20):
        kind.send(Message(text="hi"), http, "k")
    with pytest.raises(ThrottledError, match="45009") as raised:
        kind.send(Message(text="hi"), http, "k")
    assert raised.value.retry_after == 60


def test_a_wrong_key_is_permanent_and_never_shown(fake_platform, http):
    fake = FakeWeCom()
    server = fake_platform(fake)
    fake.script.append({"errcode": 93000, "errmsg": "invalid webhook url wrong-key-123, hint: [x]"})
    fake.keys.add("wrong-key-123")
    with pytest.raises(PermanentError) as raised:
        wecom(f"{server.url}{PATH}?key=wrong-key-123").send(Message(text="hi"), http, "k")
    assert "93000" in raised.value.message and "wrong-key-123" not in raised.value.message
    assert raised.value.__cause__ is None


def test_http_statuses_map_like_every_kind(fake_platform, http):
    server = fake_platform(lambda request: json_response(
        {"errcode": -1, "errmsg": "oops"}, int(request.args["status"])))
    for status, error in {500: RetryableError, 503: RetryableError, 429: ThrottledError,
                          502: OutcomeUnknownError, 504: OutcomeUnknownError,
                          404: PermanentError}.items():
        with pytest.raises(error, match=f"HTTP {status}: oops"):
            wecom(f"{server.url}{PATH}?key={KEY}&status={status}").send(Message(text="hi"), http, "k")


def test_an_answer_that_is_not_json_is_an_unknown_outcome(fake_platform, http):
    from werkzeug.wrappers import Response

    server = fake_platform(lambda request: Response("<html>gateway</html>"))
    with pytest.raises(OutcomeUnknownError):
        wecom(f"{server.url}{PATH}?key={KEY}").send(Message(text="hi"), http, "k")


def test_a_refused_connection_is_retryable_and_the_key_stays_hidden(http):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the request: nobody listens
    with pytest.raises(RetryableError) as raised:
        wecom(f"http://127.0.0.1:{port}{PATH}?key={KEY}").send(Message(text="hi"), http, "k")
    assert KEY not in raised.value.message and "key=***" in raised.value.message
    assert raised.value.__cause__ is None


@pytest.mark.parametrize("url", ["", "qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x",
                                 "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"])
def test_a_webhook_url_without_its_key_is_refused_before_any_request(http, url):
    with pytest.raises(PermanentError, match="key= parameter"):
        wecom(url).send(Message(text="hi"), http, "k")


def test_credentials_cannot_be_checked_without_posting():
    assert WeComChannel.check is ChannelKind.check


# ---- through the dispatcher ----------------------------------------------------------------------

def test_the_dispatcher_delivers_an_approved_post_to_the_group(st, make, clock, robot, http):
    st.registry = Registry({"wecom": WeComChannel})
    with st.sessions() as session, session.begin():
        channel = create_channel(session, st.registry, st.secret_box, kind="wecom",
                                 name="Python 学习群", settings={"webhook_url": robot.url},
                                 tags=[], actor="test", now=st.clock.now())
    editor, operator = make.user("editor"), make.user("operator")
    post_id = make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id],
                        title="早上好", body="大家早上好！☀️ 今天学习 **f-strings**。")
    clock.advance(hours=1)
    assert Dispatcher(st, worker_id="w1").tick().outcomes == {"sent": 1}
    with st.sessions() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.post_id == post_id)).one()
        assert (delivery.status, delivery.remote_id, delivery.remote_url) == ("sent", None, None)
    assert robot.fake.messages == [{"msgtype": "markdown", "markdown": {
        "content": "# 早上好\n\n大家早上好！☀️ 今天学习 **f-strings**。"}}]


def test_a_removed_robot_fails_the_delivery_without_leaking_its_key(st, make, clock, robot, http):
    st.registry = Registry({"wecom": WeComChannel})
    gone = robot.url.replace(KEY, "removed-robot-key")
    with st.sessions() as session, session.begin():
        channel = create_channel(session, st.registry, st.secret_box, kind="wecom", name="旧群",
                                 settings={"webhook_url": gone, "format": "text"}, tags=[],
                                 actor="test", now=st.clock.now())
    editor, operator = make.user("editor"), make.user("operator")
    post_id = make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id])
    clock.advance(hours=1)
    assert Dispatcher(st, worker_id="w1").tick().outcomes == {"failed": 1}
    with st.sessions() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.post_id == post_id)).one()
        assert delivery.status == "failed"
        assert "WeCom error 93000" in delivery.last_error
        assert "removed-robot-key" not in delivery.last_error
