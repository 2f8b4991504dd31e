"""The telegram kind: HTML rendering within 4096 visible characters, the Bot API's answers, the dispatcher."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.wrappers import Response

from channels.outbox import OutboxChannel
from channels.telegram import TelegramChannel
from channels.telegram_html import units
from planner.channel_api import (
    ChannelContext,
    Message,
    OutcomeUnknownError,
    PermanentError,
    PostContent,
    RenderError,
    RetryableError,
    ThrottledError,
)
from planner.models import Delivery
from planner.registry import Registry
from planner.services.channels import create_channel
from planner.worker.dispatcher import Dispatcher
from tests.fakes.telegram import TOKEN, FakeTelegram, error, utf16_length, visible_text

GROUP = "-1001234567890"  # a private supergroup of the fake
PUBLIC = -1009876543210  # a public one, @rustlearners


def telegram(tmp_path, api_base="https://api.telegram.invalid", chat_id=GROUP, token=TOKEN):
    settings = {"bot_token": token, "chat_id": chat_id, "api_base": api_base}
    return TelegramChannel(settings, ChannelContext(instance_path=tmp_path))


def texts(tmp_path, body, title=""):
    return [m.text for m in telegram(tmp_path).render(PostContent("tutorial", title, body))]


def assert_valid(messages):
    """Every part is HTML Telegram accepts, within 4096 visible characters."""
    for text in messages:
        assert utf16_length(visible_text(text)) <= 4096


# ---- rendering --------------------------------------------------------------------------------

def test_greeting_in_chinese_with_emoji(tmp_path):
    assert texts(tmp_path, "大家早上好！☀️ 今天也要加油 💪", "早上好") == [
        "<b>早上好</b>\n\n大家早上好！☀️ 今天也要加油 💪"]


def test_tutorial_degrades_what_telegram_cannot_show(tmp_path):
    body = ("## f-strings\n\nUse **f-strings** & read [the *docs*](https://docs.python.org/3/?a=1&b=2)."
            "\n\n```python\nname = '世界'\nprint(f'<{name}>')\n```\n\n- one\n- two `x<y`\n\n"
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n![diagram](https://example.com/d.png)\n\n"
            "> quoted *line*\n\n1. first\n2. second")
    [text] = texts(tmp_path, body, "Tip <of> the week")
    assert text == (
        "<b>Tip &lt;of&gt; the week</b>\n\n"
        "<b>f-strings</b>\n\n"
        'Use <b>f-strings</b> &amp; read <a href="https://docs.python.org/3/?a=1&amp;b=2">the docs</a>.'
        "\n\n"
        "<pre><code class=\"language-python\">name = '世界'\nprint(f'&lt;{name}&gt;')</code></pre>\n\n"
        "• one\n• two <code>x&lt;y</code>\n\n"
        "<b>a</b> | <b>b</b>\n1 | 2\n\n"
        '<a href="https://example.com/d.png">diagram</a>\n\n'
        "<blockquote>quoted <i>line</i></blockquote>\n\n"
        "1. first\n2. second")
    assert_valid([text])


def test_only_links_a_chat_can_follow_and_no_unknown_tags(tmp_path):
    [text] = texts(tmp_path, "See [the page](/relative) and <span>raw</span> <script>x()</script>"
                             "<u>under</u> ~~not strike~~ <del>gone</del>")
    assert text == "See the page and raw <u>under</u> ~~not strike~~ <s>gone</s>"
    assert_valid([text])


def test_nested_and_loose_lists(tmp_path):
    [text] = texts(tmp_path, "- loose\n\n- list **x**\n\n    - nested [a](https://x.example)\n"
                             "    - n2\n\n3. three\n4. four")
    assert text == ("• loose\n• list <b>x</b>\n  • nested <a href=\"https://x.example\">a</a>\n"
                    "  • n2\n\n3. three\n4. four")


def test_long_post_splits_between_paragraphs_into_numbered_parts(tmp_path):
    paragraphs = [f"第{i}段：" + "社区运营的每周节奏。" * 100 for i in range(9)]  # 1004 each
    messages = telegram(tmp_path).render(PostContent("share", "每周节奏", "\n\n".join(paragraphs)))
    assert [(m.part, m.parts) for m in messages] == [(1, 3), (2, 3), (3, 3)]
    assert messages[0].text.startswith("(1/3)\n<b>每周节奏</b>\n\n第0段：")
    assert messages[1].text.startswith("(2/3)\n第4段：")  # title + 4 paragraphs fill part 1
    assert messages[2].text.startswith("(3/3)\n第8段：")
    assert all(m.text.endswith("节奏。") for m in messages)
    assert_valid(m.text for m in messages)


def test_a_long_bold_paragraph_is_cut_with_its_tags_closed_and_reopened(tmp_path):
    body = "**" + "加油！" * 1500 + "**"  # 4500 visible characters, all bold
    first, second = texts(tmp_path, body)
    assert first.startswith("(1/2)\n<b>加油！") and first.endswith("加油！</b>")
    assert second.startswith("(2/2)\n<b>加油！") and second.endswith("加油！</b>")
    assert_valid([first, second])
    assert visible_text(first)[6:] + visible_text(second)[6:] == "加油！" * 1500


def test_emoji_count_as_two_and_links_are_never_cut(tmp_path):
    link = "[文档](https://docs.python.org/3/library/string.html#f-strings)"
    body = ("😀" * 1500 + " " + link + " ") * 2
    messages = texts(tmp_path, body)
    assert_valid(messages)
    assert all(units(visible_text(t)) <= 4096 for t in messages)
    joined = "".join(messages)
    assert joined.count('<a href="https://docs.python.org/3/library/string.html#f-strings">文档</a>') == 2


def test_code_blocks_are_never_cut_and_parts_are_capped(tmp_path):
    with pytest.raises(RenderError, match="code blocks are never cut"):
        texts(tmp_path, "intro\n\n```\n" + "print('x')\n" * 500 + "```")
    with pytest.raises(RenderError, match="needs 11 Telegram messages; at most 10"):
        texts(tmp_path, "\n\n".join("字" * 4000 for _ in range(11)))


# ---- sending ----------------------------------------------------------------------------------

@pytest.fixture
def platform(fake_platform):
    fake = FakeTelegram()
    server = fake_platform(fake)
    return fake, server


def test_send_returns_the_message_id_and_a_link_only_for_public_chats(platform, http, tmp_path):
    fake, server = platform
    [message] = telegram(tmp_path, server.url).render(PostContent("greeting", "早上好", "大家好 <3"))
    receipt = telegram(tmp_path, server.url).send(message, http, "k1")
    assert (receipt.remote_id, receipt.remote_url) == ("321", None)
    public = telegram(tmp_path, server.url, chat_id=str(PUBLIC)).send(message, http, "k2")
    assert public.remote_url == "https://t.me/rustlearners/322"
    by_name = telegram(tmp_path, server.url, chat_id="@rustlearners").send(message, http, "k3")
    assert by_name.remote_url == "https://t.me/rustlearners/323"
    request = server.requests[0]
    assert request.path == f"/bot{TOKEN}/sendMessage"
    assert request.json == {"chat_id": int(GROUP), "text": "<b>早上好</b>\n\n大家好 &lt;3",
                            "parse_mode": "HTML"}


def test_flood_control_after_twenty_a_minute_is_throttled_with_retry_after(platform, http, tmp_path):
    fake, server = platform
    now = [1000.0]
    fake.clock = lambda: now[0]
    kind = telegram(tmp_path, server.url)
    message = Message(text="hi", format="html")
    for _ in range(20):
        kind.send(message, http, "k")
    now[0] += 25
    with pytest.raises(ThrottledError) as caught:
        kind.send(message, http, "k")
    assert caught.value.retry_after == 35
    assert caught.value.message == "Telegram 429: Too Many Requests: retry after 35"
    now[0] += 35
    assert kind.send(message, http, "k").remote_id == "341"


@pytest.mark.parametrize(("answer", "raised", "words"), [
    (error(400, "Bad Request: chat not found"), PermanentError, "Telegram 400: Bad Request: chat not found"),
    (error(403, "Forbidden: bot was blocked by the user"), PermanentError, "bot was blocked"),
    (error(400, "Bad Request: message is too long"), PermanentError, "message is too long"),
    (error(500, "Internal Server Error"), RetryableError, "Telegram 500: Internal Server Error"),
    (Response("<html>bad gateway</html>", status=502), OutcomeUnknownError, "HTTP 502"),
    (Response("<html>unavailable</html>", status=503, headers={"Retry-After": "7"}), RetryableError,
     "HTTP 503"),
    (Response("not json", status=200), OutcomeUnknownError, "not JSON"),
])
def test_errors_map_to_the_contract(platform, http, tmp_path, answer, raised, words):
    fake, server = platform
    fake.answers.append(answer)
    with pytest.raises(raised, match=words):
        telegram(tmp_path, server.url).send(Message(text="hi", format="html"), http, "k")
    assert fake.sent == []


def test_the_fake_refuses_what_telegram_refuses(platform, http, tmp_path):
    fake, server = platform
    kind = telegram(tmp_path, server.url)
    with pytest.raises(PermanentError, match="can't parse entities: Unsupported start tag \"h1\""):
        kind.send(Message(text="<h1>x</h1>", format="html"), http, "k")
    with pytest.raises(PermanentError, match="message is too long"):
        kind.send(Message(text="😀" * 2049, format="html"), http, "k")
    fake.kicked.add(int(GROUP))
    with pytest.raises(PermanentError, match="Forbidden: bot was kicked"):
        kind.send(Message(text="hi", format="html"), http, "k")


def test_a_migrated_group_is_sent_to_its_supergroup_once(platform, http, tmp_path):
    fake, server = platform
    fake.migrated[-4001] = int(GROUP)
    receipt = telegram(tmp_path, server.url, chat_id="-4001").send(
        Message(text="hi", format="html"), http, "k")
    assert receipt.remote_id == "321"
    assert [r.json["chat_id"] for r in server.requests] == [-4001, int(GROUP)]


def test_the_token_never_appears_in_errors(platform, http, tmp_path):
    fake, server = platform
    with pytest.raises(PermanentError) as caught:
        telegram(tmp_path, server.url, token="999:WRONG-token").send(
            Message(text="hi", format="html"), http, "k")
    assert caught.value.message == "Telegram 401: Unauthorized"
    with pytest.raises(RetryableError) as refused:
        telegram(tmp_path, "http://127.0.0.1:9").send(Message(text="hi", format="html"), http, "k")
    assert TOKEN not in str(refused.value) and "<bot token>" in str(refused.value)
    assert refused.value.__cause__ is None and refused.value.__suppress_context__


def test_check_asks_get_me_and_get_chat(platform, http, tmp_path):
    fake, server = platform
    telegram(tmp_path, server.url).check(http)
    assert [r.path.rsplit("/", 1)[1] for r in server.requests] == ["getMe", "getChat"]
    with pytest.raises(PermanentError, match="chat not found"):
        telegram(tmp_path, server.url, chat_id="-100555").check(http)
    with pytest.raises(PermanentError, match="Unauthorized"):
        telegram(tmp_path, server.url, token="1:bad").check(http)
    assert fake.sent == []


# ---- through the dispatcher -------------------------------------------------------------------

def test_dispatcher_sends_a_two_part_post_and_records_the_first_message(st, make, clock, platform):
    fake, server = platform
    st.registry = Registry({"outbox": OutboxChannel, "telegram": TelegramChannel})
    with st.sessions() as session, session.begin():
        channel = create_channel(
            session, st.registry, st.secret_box, kind="telegram", name="Rust 学习群",
            settings={"bot_token": TOKEN, "chat_id": "@rustlearners", "api_base": server.url},
            tags=[], actor="test", now=st.clock.now())
    editor, operator = make.user("editor"), make.user("operator")
    body = "第一段：" + "欢迎新朋友。" * 500 + "\n\n第二段：" + "下周见！" * 300
    post_id = make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id],
                        kind="announcement", title="本周公告", body=body)
    clock.advance(hours=1)
    with Dispatcher(st, worker_id="w1") as dispatcher:
        assert dispatcher.tick().outcomes == {"sent": 1}
    with st.sessions() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.post_id == post_id)).one()
        assert (delivery.status, delivery.remote_id, delivery.remote_url, delivery.parts_sent) == (
            "sent", "321", "https://t.me/rustlearners/321", 2)
    assert [text[:6] for _, text in fake.sent] == ["(1/2)\n", "(2/2)\n"]
    assert fake.sent[0][1].startswith("(1/2)\n<b>本周公告</b>\n\n第一段：欢迎新朋友。")
    assert fake.sent[1][1] == "(2/2)\n第二段：" + "下周见！" * 300
