"""The ``feishu`` kind against a fake Feishu custom-bot webhook: rich-text posts, signing, limits."""

import json
import socket
from pathlib import Path
from typing import NamedTuple

import pytest
from sqlalchemy import select

from channels.feishu import FeishuChannel, sign
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
from planner.models import Delivery
from planner.registry import Registry
from planner.services.channels import create_channel
from planner.worker.dispatcher import Dispatcher
from tests.channels.samples import TUTORIAL
from tests.fakes.feishu import PATH, TOKEN, FakeFeishu
from tests.fakes.server import FakePlatform, json_response


def text(value: str) -> list[dict[str, str]]:
    return [{"tag": "text", "text": value}]


BLANK = text("")


def feishu(url: str = f"https://open.feishu.cn{PATH}{TOKEN}", secret: str = "", clock=None):
    kind = FeishuChannel({"webhook_url": url, "secret": secret}, ChannelContext(instance_path=Path()))
    if clock is not None:
        kind.clock = clock
    return kind


class Bot(NamedTuple):
    fake: FakeFeishu
    server: FakePlatform
    url: str


@pytest.fixture
def bot(fake_platform):
    fake = FakeFeishu()
    server = fake_platform(fake)
    return Bot(fake, server, f"{server.url}{PATH}{TOKEN}")


# ---- rendering ---------------------------------------------------------------------------------

def test_a_post_becomes_a_titled_rich_text_message():
    [message] = feishu().render(TUTORIAL)
    assert (message.title, message.format, message.part, message.parts) == (
        "本周技巧：f-strings", "post", 1, 1)
    assert message.extra == {"msg_type": "post", "content": {"post": {"zh_cn": {
        "title": "本周技巧：f-strings",
        "content": [
            text("为什么用 f-strings"), BLANK,
            [{"tag": "text", "text": "它们更快，也更易读。详见"},
             {"tag": "a", "text": "官方文档", "href": "https://docs.python.org/3/tutorial/inputoutput.html"},
             {"tag": "text", "text": "。"}], BLANK,
            text("name = '世界'"), text("print(f'你好, {name}')"), BLANK,
            text("• 简单 🙂"), text("• 快速"), text("  • 比 % 快"), BLANK,
            text("写法 | 速度"), text("f-string | 快"), text("format() | 慢"), BLANK,
            text("> 记得升级到 Python 3.12"), BLANK,
            [{"tag": "a", "text": "示意图", "href": "https://example.com/f.png"}],  # no img from a URL
        ]}}}}
    assert message.text.endswith("> 记得升级到 Python 3.12\n\n示意图 (https://example.com/f.png)")


def test_emoji_and_marks_of_its_own_are_plain_text():
    [message] = feishu().render(PostContent("greeting", "早上好", "大家早上好！☀️ \ue000加油\ue002 💪"))
    assert message.extra["content"]["post"]["zh_cn"] == {
        "title": "早上好", "content": [text("大家早上好！☀️ 加油 💪")]}


def test_a_long_post_is_split_into_numbered_titles_within_20_kb():
    paragraphs = [f"第{i}段：" + "社区运营的每周节奏，包括问候、教程和分享。" * 100 for i in range(4)]
    messages = feishu().render(PostContent("share", "长文", "\n\n".join(paragraphs)))
    assert [m.title for m in messages] == ["长文 (1/2)", "长文 (2/2)"]
    assert [m.extra["content"]["post"]["zh_cn"]["content"] for m in messages] == [
        [text(paragraphs[0]), BLANK, text(paragraphs[1]), BLANK, text(paragraphs[2])],
        [text(paragraphs[3])],
    ]


def test_text_full_of_characters_json_escapes_still_fits():
    body = "\n\n".join(['"路径" C:\\\\temp\\\\' * 60] * 30)
    messages = feishu().render(PostContent("tutorial", "转义", body))
    for message in messages:
        size = len(json.dumps(message.extra, ensure_ascii=False, separators=(",", ":")).encode())
        assert size + 100 <= 20_000  # room left for timestamp and sign
    assert len(messages) > 1


def test_too_many_parts_are_refused():
    with pytest.raises(RenderError, match="at most 5"):
        feishu().render(PostContent("share", "太长", "\n\n".join(["加油。" * 1000] * 12)))


# ---- sending -----------------------------------------------------------------------------------

def test_the_contract_test_vector():
    assert sign("1599360473", "demo") == "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8="


def test_a_signed_post_is_accepted_by_the_bot(bot, http):
    bot.fake.secret = "demo"
    bot.fake.clock = lambda: 1599360473.0 + 1800  # within the hour the signature is good for
    kind = feishu(bot.url, secret="demo", clock=lambda: 1599360473.0)
    [message] = kind.render(TUTORIAL)
    assert kind.send(message, http, "planner-1-1") == Receipt()
    [request] = bot.server.requests
    assert request.json["timestamp"] == "1599360473"
    assert request.json["sign"] == "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8="
    assert "官方文档".encode() in request.body
    assert bot.fake.messages[0]["content"] == message.extra["content"]


@pytest.mark.parametrize(("secret", "offset"), [("wrong", 0), ("demo", 3601), ("", 0)])
def test_a_bad_signature_or_clock_is_permanent(bot, http, secret, offset):
    bot.fake.secret = "demo"
    kind = feishu(bot.url, secret=secret)
    bot.fake.clock = lambda: kind.clock() + offset
    with pytest.raises(PermanentError, match="Feishu error 19021: sign match fail") as raised:
        kind.send(Message(text="", extra={"msg_type": "text", "content": {"text": "hi"}}), http, "k")
    assert "demo" not in raised.value.message and TOKEN not in raised.value.message


def test_every_part_of_a_long_post_is_accepted_within_the_body_limit(bot, http):
    bot.fake.secret = "demo"
    body = "\n\n".join(f"第{i}段：" + "社区运营的每周节奏。" * 200 for i in range(8))
    kind = feishu(bot.url, secret="demo")
    messages = kind.render(PostContent("share", "长文", body))
    for message in messages:
        kind.send(message, http, "k")
    assert len(bot.fake.messages) == len(messages) > 1
    assert max(len(r.body) for r in bot.server.requests) <= 20_000


def test_a_body_over_20_kb_is_a_bad_request(bot, http):
    huge = {"msg_type": "text", "content": {"text": "早" * 7000}}
    with pytest.raises(PermanentError, match="Feishu error 9499: Bad Request"):
        feishu(bot.url).send(Message(text="", extra=huge), http, "k")


def test_missing_keywords_are_reported_in_the_bots_words(bot, http):
    bot.fake.keywords = ("公告",)
    kind = feishu(bot.url)
    [message] = kind.render(PostContent("share", "分享", "[公告](https://example.com/公告)"))
    kind.send(message, http, "k")  # the link's text has the keyword
    [message] = kind.render(PostContent("share", "分享", "[看这里](https://example.com/公告)"))
    with pytest.raises(PermanentError, match="19024: Key Words Not Found"):
        kind.send(message, http, "k")  # a keyword only in a link target does not count


# What each documented code must become: (error, retry_after).
EXPECTED = {
    9499: (PermanentError, None),
    19001: (PermanentError, None),
    19021: (PermanentError, None),
    19022: (PermanentError, None),
    19024: (PermanentError, None),
    11232: (ThrottledError, 60),
    19036: (PermanentError, None),  # undocumented: refused, not retried blindly
}


def test_error_codes_map_as_the_contract_says(bot, http):
    bot.fake.per_second = len(EXPECTED)
    [message] = feishu().render(PostContent("greeting", "早上好", "早"))
    for code, (error, retry_after) in EXPECTED.items():
        bot.fake.script.append({"code": code, "data": {}, "msg": f"words for {code}"})
        with pytest.raises(error) as raised:
            feishu(bot.url).send(message, http, "k")
        assert (type(raised.value), raised.value.retry_after) == (error, retry_after), code
        assert raised.value.message == f"Feishu error {code}: words for {code}"


def test_the_legacy_envelope_alone_is_understood(bot, http):
    [message] = feishu().render(PostContent("greeting", "早上好", "早"))
    bot.fake.script.append({"StatusCode": 0, "StatusMessage": "success"})
    assert feishu(bot.url).send(message, http, "k") == Receipt()
    bot.fake.script.append({"StatusCode": 19001, "StatusMessage": "param invalid"})
    with pytest.raises(PermanentError, match="Feishu error 19001: param invalid"):
        feishu(bot.url).send(message, http, "k")


def test_the_sixth_message_in_a_second_is_throttled(bot, http):
    [message] = feishu().render(PostContent("greeting", "早上好", "早"))
    now = [1000.0]
    bot.fake.clock = lambda: now[0]
    for _ in range(5):
        feishu(bot.url).send(message, http, "k")
    with pytest.raises(ThrottledError, match="11232: frequency limited") as raised:
        feishu(bot.url).send(message, http, "k")
    assert raised.value.retry_after == 60
    now[0] += 1
    for _ in range(94):  # the rest of the minute's 100 (refusals count), four a second
        feishu(bot.url).send(message, http, "k")
        now[0] += 0.25
    with pytest.raises(ThrottledError):
        feishu(bot.url).send(message, http, "k")
    assert len(bot.fake.messages) == 99


def test_a_webhook_url_without_a_token_is_refused_before_any_request(http):
    with pytest.raises(PermanentError, match="/hook/<token>"):
        feishu("https://open.feishu.cn/open-apis/bot/v2/").send(Message(text="hi"), http, "k")
    assert FeishuChannel.check is ChannelKind.check  # no way to validate without posting


def test_a_refused_connection_is_retryable_and_the_token_stays_hidden(http):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(RetryableError) as raised:
        feishu(f"http://127.0.0.1:{port}{PATH}{TOKEN}").send(Message(text="hi"), http, "k")
    assert TOKEN not in raised.value.message and "/hook/***" in raised.value.message


def test_an_http_error_carries_the_bots_words(fake_platform, http):
    server = fake_platform(lambda request: json_response({"code": 9499, "msg": "Bad Request"}, 400))
    with pytest.raises(PermanentError, match="HTTP 400: Bad Request"):
        feishu(f"{server.url}{PATH}{TOKEN}").send(Message(text="hi"), http, "k")


# ---- through the dispatcher ----------------------------------------------------------------------

def test_the_dispatcher_delivers_a_signed_post_to_the_group(st, make, clock, bot, http):
    st.registry = Registry({"feishu": FeishuChannel})
    bot.fake.secret = "SECRET-demo"
    with st.sessions() as session, session.begin():
        channel = create_channel(session, st.registry, st.secret_box, kind="feishu",
                                 name="飞书 Python 群",
                                 settings={"webhook_url": bot.url, "secret": "SECRET-demo"},
                                 tags=[], actor="test", now=st.clock.now())
    editor, operator = make.user("editor"), make.user("operator")
    post_id = make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id],
                        title="早上好", body="大家早上好！☀️ 今天学习 [f-strings](https://docs.python.org/3/)。")
    clock.advance(hours=1)
    assert Dispatcher(st, worker_id="w1").tick().outcomes == {"sent": 1}
    with st.sessions() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.post_id == post_id)).one()
        assert (delivery.status, delivery.remote_id, delivery.remote_url) == ("sent", None, None)
    assert bot.fake.messages[0]["content"]["post"]["zh_cn"] == {"title": "早上好", "content": [[
        {"tag": "text", "text": "大家早上好！☀️ 今天学习 "},
        {"tag": "a", "text": "f-strings", "href": "https://docs.python.org/3/"},
        {"tag": "text", "text": "。"}]]}
