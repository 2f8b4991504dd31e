"""The ``dingtalk`` kind against a fake DingTalk custom-robot webhook: markdown, signing, throttling."""

import socket
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
from sqlalchemy import select

from channels.dingtalk import DingTalkChannel, sign, signed_url
from planner.channel_api import (
    ChannelContext,
    ChannelKind,
    Message,
    PermanentError,
    PostContent,
    Receipt,
    RenderError,
    RetryableError,
    ThrottledError,
)
from planner.models import Channel, Delivery
from planner.registry import Registry
from planner.services.channels import create_channel
from planner.worker.dispatcher import Dispatcher
from tests.channels.samples import TUTORIAL
from tests.fakes.dingtalk import PATH, TOKEN, FakeDingTalk
from tests.fakes.server import FakePlatform

VECTOR_URL = ("https://oapi.dingtalk.com/robot/send?access_token=abc123&timestamp=1700000000000"
              "&sign=7LVwF0dAF3%2F%2BMRRulbpE4y72Ogzykc6bS2nG4I99T4s%3D")


def dingtalk(url: str = f"https://oapi.dingtalk.com{PATH}?access_token={TOKEN}", secret: str = "",
             clock=None):
    kind = DingTalkChannel({"webhook_url": url, "secret": secret},
                           ChannelContext(instance_path=Path(), community_name="Python 学习社区"))
    if clock is not None:
        kind.clock = clock
    return kind


class Robot(NamedTuple):
    fake: FakeDingTalk
    server: FakePlatform
    url: str


@pytest.fixture
def robot(fake_platform):
    fake = FakeDingTalk()
    server = fake_platform(fake)
    return Robot(fake, server, f"{server.url}{PATH}?access_token={TOKEN}")


def hi() -> Message:
    return Message(text="大家好", title="问候")


# ---- rendering ---------------------------------------------------------------------------------

def test_a_post_becomes_titled_markdown_with_line_breaks_dingtalk_keeps():
    [message] = dingtalk().render(TUTORIAL)
    assert (message.title, message.format, message.part, message.parts) == (
        "本周技巧：f-strings", "markdown", 1, 1)
    assert message.text == (
        "# 本周技巧：f-strings\n\n"
        "## 为什么用 f-strings\n\n"
        "它们**更快**，也更*易读*。详见[官方文档](https://docs.python.org/3/tutorial/inputoutput.html)。\n\n"
        "> name = '世界'  \n> print(f'你好, {name}')\n\n"
        "- 简单 🙂  \n- 快速  \n    - 比 % 快\n\n"
        "**写法** | **速度**  \nf-string | 快  \nformat() | 慢\n\n"
        "> 记得升级到 Python 3.12\n\n"
        "![示意图](https://example.com/f.png)")


def test_a_post_without_a_title_uses_the_community_name():
    [message] = dingtalk().render(PostContent("greeting", "", "大家早上好！☀️ 今天也要加油 💪"))
    assert (message.title, message.text) == (
        "Python 学习社区", "# Python 学习社区\n\n大家早上好！☀️ 今天也要加油 💪")


def test_a_long_post_is_split_into_numbered_parts_within_20000_bytes():
    paragraphs = [f"第{i}段：" + "社区运营的每周节奏，包括问候、教程和分享。" * 100 for i in range(4)]
    messages = dingtalk().render(PostContent("share", "长文", "\n\n".join(paragraphs)))
    assert [(m.title, m.text) for m in messages] == [
        ("长文 (1/2)", f"(1/2)\n\n# 长文\n\n{paragraphs[0]}\n\n{paragraphs[1]}\n\n{paragraphs[2]}"),
        ("长文 (2/2)", f"(2/2)\n\n{paragraphs[3]}"),
    ]


def test_a_code_block_too_long_for_one_message_is_refused():
    code = "```\n" + "print('日志')\n" * 2000 + "```"
    with pytest.raises(RenderError, match="code blocks are never cut"):
        dingtalk().render(PostContent("tutorial", "代码", code))


# ---- signing -----------------------------------------------------------------------------------

def test_the_contract_test_vector():
    assert sign(1700000000000, "SECtestsecret") == "7LVwF0dAF3/+MRRulbpE4y72Ogzykc6bS2nG4I99T4s="
    assert signed_url(f"https://oapi.dingtalk.com{PATH}?access_token=abc123", "SECtestsecret",
                      1700000000000) == VECTOR_URL


def test_a_signed_message_is_accepted_by_the_robot(robot, http):
    robot.fake.secret = "SECtestsecret"
    robot.fake.clock = lambda: 1700000000.0 + 60
    kind = dingtalk(robot.url, secret="SECtestsecret", clock=lambda: 1700000000.0)
    [message] = kind.render(TUTORIAL)
    assert kind.send(message, http, "planner-1-1") == Receipt()
    assert robot.fake.queries == [f"access_token={TOKEN}&timestamp=1700000000000"
                                  "&sign=7LVwF0dAF3%2F%2BMRRulbpE4y72Ogzykc6bS2nG4I99T4s%3D"]
    [request] = robot.server.requests
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert robot.fake.messages == [{"msgtype": "markdown", "markdown": {
        "title": "本周技巧：f-strings", "text": message.text}}]


@pytest.mark.parametrize(("secret", "offset", "words"), [
    ("SECwrong", 0, "sign not match"), ("", 0, "invalid timestamp"),
    ("SECtestsecret", 3601, "invalid timestamp"),
])
def test_a_bad_signature_or_clock_is_permanent(robot, http, secret, offset, words):
    robot.fake.secret = "SECtestsecret"
    kind = dingtalk(robot.url, secret=secret)
    robot.fake.clock = lambda: kind.clock() + offset
    with pytest.raises(PermanentError, match=f"DingTalk error 310000: {words}") as raised:
        kind.send(hi(), http, "k")
    assert "SECtestsecret" not in raised.value.message and TOKEN not in raised.value.message


def test_missing_keywords_are_permanent(robot, http):
    robot.fake.keywords = ("公告",)
    dingtalk(robot.url).send(Message(text="本周公告", title="公告"), http, "k")
    with pytest.raises(PermanentError, match="310000: keywords not in content"):
        dingtalk(robot.url).send(hi(), http, "k")


# ---- answers -----------------------------------------------------------------------------------

def test_a_throttled_robot_stays_quiet_for_ten_minutes(robot, http):
    now = [1000.0]
    robot.fake.clock = lambda: now[0]
    for _ in range(20):
        dingtalk(robot.url).send(hi(), http, "k")
    with pytest.raises(ThrottledError, match="130101: send too fast") as raised:
        dingtalk(robot.url).send(hi(), http, "k")
    assert raised.value.retry_after == 600
    now[0] += 599
    with pytest.raises(ThrottledError):
        dingtalk(robot.url).send(hi(), http, "k")
    now[0] += 1
    dingtalk(robot.url).send(hi(), http, "k")
    assert len(robot.fake.messages) == 21


def test_a_body_over_20000_bytes_is_too_long(robot, http):
    with pytest.raises(PermanentError, match="460101: message too long"):
        dingtalk(robot.url).send(Message(text="早" * 6700, title="长"), http, "k")


# What each documented errcode must become: (error, retry_after).
EXPECTED = {
    -1: (RetryableError, None),
    130101: (ThrottledError, 600),
    410100: (ThrottledError, 600),
    310000: (PermanentError, None),
    460101: (PermanentError, None),
    300005: (PermanentError, None),
    300001: (PermanentError, None),
    400101: (PermanentError, None),
    400102: (PermanentError, None),
    400105: (PermanentError, None),
    40035: (PermanentError, None),
    43004: (PermanentError, None),
    88: (PermanentError, None),  # undocumented: refused, not retried blindly
}


def test_error_codes_map_as_the_contract_says(robot, http):
    robot.fake.per_minute = len(EXPECTED)
    for errcode, (error, retry_after) in EXPECTED.items():
        robot.fake.script.append({"errcode": errcode, "errmsg": f"words for {errcode}"})
        with pytest.raises(error) as raised:
            dingtalk(robot.url).send(hi(), http, "k")
        assert (type(raised.value), raised.value.retry_after) == (error, retry_after), errcode
        assert raised.value.message == f"DingTalk error {errcode}: words for {errcode}"


def test_an_unknown_token_is_permanent(robot, http):
    with pytest.raises(PermanentError, match="300005: token is not exist"):
        dingtalk(robot.url.replace(TOKEN, "gone")).send(hi(), http, "k")


def test_a_webhook_url_without_its_token_is_refused_before_any_request(robot, http):
    with pytest.raises(PermanentError, match="access_token= parameter"):
        dingtalk(f"{robot.server.url}{PATH}").send(hi(), http, "k")
    assert robot.server.requests == []
    assert DingTalkChannel.check is ChannelKind.check  # no way to validate without posting


def test_a_refused_connection_is_retryable_and_token_and_signature_stay_hidden(http):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kind = dingtalk(f"http://127.0.0.1:{port}{PATH}?access_token={TOKEN}", secret="SECtestsecret",
                    clock=lambda: 1700000000.0)
    with pytest.raises(RetryableError) as raised:
        kind.send(hi(), http, "k")
    assert TOKEN not in raised.value.message and "access_token=***" in raised.value.message
    assert "7LVwF0dAF3" not in raised.value.message


# ---- through the dispatcher ----------------------------------------------------------------------

def add_channel(st, url: str) -> Channel:
    st.registry = Registry({"dingtalk": DingTalkChannel})
    with st.sessions() as session, session.begin():
        return create_channel(session, st.registry, st.secret_box, kind="dingtalk",
                              name="钉钉 Python 群",
                              settings={"webhook_url": url, "secret": "SECtestsecret"},
                              tags=[], actor="test", now=st.clock.now())


def test_the_dispatcher_delivers_a_signed_post_to_the_group(st, make, clock, robot):
    robot.fake.secret = "SECtestsecret"
    channel = add_channel(st, robot.url)
    editor, operator = make.user("editor"), make.user("operator")
    post_id = make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id],
                        title="早上好", body="大家早上好！☀️\n\n- 签到\n- 分享")
    clock.advance(hours=1)
    assert Dispatcher(st, worker_id="w1").tick().outcomes == {"sent": 1}
    with st.sessions() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.post_id == post_id)).one()
        assert (delivery.status, delivery.remote_id, delivery.remote_url) == ("sent", None, None)
    assert robot.fake.messages == [{"msgtype": "markdown", "markdown": {
        "title": "早上好", "text": "# 早上好\n\n大家早上好！☀️\n\n- 签到  \n- 分享"}}]


def test_a_throttled_robot_holds_its_channel_for_the_cool_down(st, make, clock, robot):
    robot.fake.secret = "SECtestsecret"
    robot.fake.per_minute = 0  # already over its 20 this minute
    channel = add_channel(st, robot.url)
    editor, operator = make.user("editor"), make.user("operator")
    post_id = make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id])
    clock.advance(hours=1)
    assert Dispatcher(st, worker_id="w1").tick().outcomes == {"retrying": 1}
    with st.sessions() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.post_id == post_id)).one()
        assert delivery.status == "retrying" and "130101" in delivery.last_error
        assert delivery.next_attempt_at >= clock.now() + timedelta(seconds=600)
        assert session.get(Channel, channel.id).next_send_at == clock.now() + timedelta(seconds=600)
