"""The wechat_mp kind: article HTML, the token cache, draft → publish → poll, and the errcode table."""

from datetime import datetime

import pytest
from sqlalchemy import select

from channels.wechat_mp import WeChatOfficialAccountChannel, seconds_until_quota_reset
from channels.wechat_mp_html import article_html
from channels.wechat_mp_token import COVERS, TOKENS
from planner.channel_api import (
    ChannelContext,
    Message,
    OutcomeUnknownError,
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
from tests.fakes.wechat_mp import FakeWeChat

TITLE = "每周技巧：f-strings"
BODY = "大家好 🎉 用 **f-strings** 格式化字符串。"
P = '<p style="margin:0 0 1em;line-height:1.75">'
GREY = '<span style="color:#888">'
SUBMIT, GET, DRAFT = "/cgi-bin/freepublish/submit", "/cgi-bin/freepublish/get", "/cgi-bin/draft/add"
TOKEN, MATERIAL = "/cgi-bin/stable_token", "/cgi-bin/material/add_material"


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch):
    """Tokens and covers are shared process-wide; each test starts without them, and polls fast."""
    TOKENS.clear()
    COVERS.clear()
    sleeps = []
    monkeypatch.setattr(WeChatOfficialAccountChannel, "sleep", staticmethod(sleeps.append))
    yield sleeps
    TOKENS.clear()
    COVERS.clear()


@pytest.fixture
def mp(fake_platform):
    fake = FakeWeChat()
    fake.server = fake_platform(fake.handle)
    return fake


def settings(mp, **overrides):
    return {"app_id": mp.app_id, "app_secret": mp.app_secret, "api_base": mp.server.url,
            "author": "社区小助手"} | overrides


def kind(mp, tmp_path, **overrides):
    return WeChatOfficialAccountChannel(settings(mp, **overrides),
                                        ChannelContext(instance_path=tmp_path))


def paths(mp):
    return [r.path for r in mp.server.requests]


# ---- rendering ---------------------------------------------------------------------------------

def test_markdown_becomes_article_html_with_inline_styles_only():
    body = ("## 入门\n\n读 [文档](https://docs.python.org/3/)、[上一篇](https://mp.weixin.qq.com/s/abc)"
            " 和 <https://example.com/x>。\n\n"
            "```python\nif a < b:\n    print('你好')\n```\n\n"
            "| 语言 | 年份 |\n|---|---|\n| Python | 1991 |\n\n"
            "![流程图](https://example.com/d.png)")
    assert article_html(body) == (
        '<h2 style="margin:1.2em 0 .6em;font-size:20px;font-weight:bold">入门</h2>'
        f'{P}读 文档{GREY} (https://docs.python.org/3/)</span>、'
        '<a href="https://mp.weixin.qq.com/s/abc">上一篇</a> 和 https://example.com/x。</p>'
        '<pre style="margin:0 0 1em;padding:1em;background:#f6f8fa;border-radius:4px;'
        'overflow-x:auto;white-space:pre-wrap;word-break:break-all;font-size:13px;line-height:1.6">'
        "<code>if a &lt; b:\n    print('你好')\n</code></pre>"
        '<table style="margin:0 0 1em;border-collapse:collapse;width:100%"><thead><tr>'
        '<th style="padding:6px 10px;border:1px solid #dcdcdc;background:#f6f8fa;font-weight:bold">'
        '语言</th><th style="padding:6px 10px;border:1px solid #dcdcdc;background:#f6f8fa;'
        'font-weight:bold">年份</th></tr></thead><tbody><tr>'
        '<td style="padding:6px 10px;border:1px solid #dcdcdc">Python</td>'
        '<td style="padding:6px 10px;border:1px solid #dcdcdc">1991</td></tr></tbody></table>'
        f'{P}{GREY}[图片: 流程图] https://example.com/d.png</span></p>'
    )


def test_emoji_lists_and_quotes_render_and_raw_html_is_sanitised():
    body = ("> 早上好 ☀️ *加油* `code`\n\n- 一\n- 二\n\n"
            '<div class="x" onclick="steal()">保留文字<script>steal()</script>'
            '<iframe src="https://e.com"></iframe></div>')
    assert article_html(body) == (
        '<blockquote style="margin:0 0 1em;padding:.5em 1em;border-left:3px solid #dcdcdc;'
        f'color:#666">{P}早上好 ☀️ <em>加油</em> <code style="padding:2px 4px;background:#f6f8fa;'
        'border-radius:3px;font-size:90%">code</code></p></blockquote>'
        '<ul style="margin:0 0 1em;padding-left:2em"><li style="margin:.25em 0;line-height:1.75">一'
        '</li><li style="margin:.25em 0;line-height:1.75">二</li></ul>保留文字'
    )


def test_titles_authors_and_content_beyond_the_limits_are_refused(tmp_path):
    channel = WeChatOfficialAccountChannel({"app_id": "a", "app_secret": "s", "author": "编辑部"},
                                           ChannelContext(instance_path=tmp_path))
    [message] = channel.render(PostContent("share", " 每周技巧： f-strings ", BODY))
    assert (message.title, message.format) == ("每周技巧： f-strings", "html")
    with pytest.raises(RenderError, match="1 to 32 characters; this one has 33"):
        channel.render(PostContent("share", "长" * 33, BODY))
    with pytest.raises(RenderError, match="under 20000 characters"):
        channel.render(PostContent("share", TITLE, "长" * 19_953))
    assert len(channel.render(PostContent("share", TITLE, "长" * 19_952))[0].text) == 19_999
    with pytest.raises(RenderError, match="no text"):
        channel.render(PostContent("share", TITLE, "<script>x()</script>"))
    wordy = WeChatOfficialAccountChannel({"app_id": "a", "app_secret": "s", "author": "作" * 17},
                                         ChannelContext(instance_path=tmp_path))
    with pytest.raises(RenderError, match="at most 16"):
        wordy.render(PostContent("share", TITLE, BODY))


# ---- sending -----------------------------------------------------------------------------------

def test_an_article_is_drafted_published_and_its_url_polled(mp, http, tmp_path, fresh_caches):
    channel = kind(mp, tmp_path)
    [message] = channel.render(PostContent("tutorial", TITLE, BODY))
    receipt = channel.send(message, http, "planner-1-2-r1")
    [publish_id] = mp.jobs
    assert receipt == Receipt(publish_id, f"https://mp.weixin.qq.com/s/{publish_id}")
    assert paths(mp) == [TOKEN, MATERIAL, DRAFT, SUBMIT, GET, GET]  # publishing, then done
    assert fresh_caches == [2.0, 2.0]
    [article] = mp.published
    assert article["title"] == TITLE and article["author"] == "社区小助手"
    assert article["content"] == f"{P}大家好 🎉 用 <strong>f-strings</strong> 格式化字符串。</p>"
    assert article["thumb_media_id"] in mp.materials
    assert mp.materials[article["thumb_media_id"]].startswith(b"\x89PNG")
    raw = next(r.body for r in mp.server.requests if r.path == DRAFT)
    assert "格式化字符串".encode() in raw and b"\\u" not in raw  # real UTF-8, no escapes
    assert all(r.query.get("access_token") == mp.token for r in mp.server.requests
               if r.path != TOKEN)


def test_the_token_and_cover_are_shared_by_the_next_deliveries(mp, http, tmp_path):
    message = Message(f"{P}第一篇</p>", title=TITLE, format="html")
    kind(mp, tmp_path).send(message, http, "planner-1-2-r1")
    kind(mp, tmp_path).send(message, http, "planner-2-2-r1")  # a new instance, as per delivery
    assert (mp.calls(TOKEN), mp.calls(MATERIAL), mp.calls(SUBMIT)) == (1, 1, 2)


def test_an_expired_token_is_refreshed_and_the_call_made_once_more(mp, http, tmp_path):
    message = Message(f"{P}正文</p>", title=TITLE, format="html")
    kind(mp, tmp_path).send(message, http, "planner-1-2-r1")
    mp.expire_tokens()  # 42001 from now on for the cached token
    kind(mp, tmp_path).send(message, http, "planner-2-2-r1")
    assert paths(mp)[6:] == [DRAFT, TOKEN, DRAFT, SUBMIT, GET, GET]
    assert len(mp.published) == 2


def test_a_refused_token_still_handed_out_is_force_refreshed(mp, http, tmp_path):
    message = Message(f"{P}正文</p>", title=TITLE, format="html")
    kind(mp, tmp_path).send(message, http, "planner-1-2-r1")
    mp.revoke_token()  # 40001, yet the normal stable_token call returns the same token
    kind(mp, tmp_path).send(message, http, "planner-2-2-r1")
    forced = [r.json["force_refresh"] for r in mp.server.requests if r.path == TOKEN]
    assert forced == [False, False, True] and len(mp.published) == 2


def test_a_token_refused_twice_is_retryable(mp, http, tmp_path):
    mp.fail_next[DRAFT] = [40001, 40001]
    with pytest.raises(RetryableError, match="40001.*even with a new token"):
        kind(mp, tmp_path).send(Message(f"{P}正文</p>", title=TITLE), http, "planner-1-2-r1")
    assert mp.calls(SUBMIT) == 0


def test_a_deleted_cover_is_uploaded_again(mp, http, tmp_path):
    message = Message(f"{P}正文</p>", title=TITLE, format="html")
    kind(mp, tmp_path).send(message, http, "planner-1-2-r1")
    mp.materials.clear()  # an operator cleaned up the material library
    kind(mp, tmp_path).send(message, http, "planner-2-2-r1")
    assert mp.calls(MATERIAL) == 2 and len(mp.published) == 2


def test_a_job_still_publishing_is_sent_without_a_url(mp, http, tmp_path, fresh_caches):
    mp.publishing_polls = 99
    receipt = kind(mp, tmp_path).send(Message(f"{P}正文</p>", title=TITLE), http, "planner-1-2-r1")
    [publish_id] = mp.jobs
    assert receipt == Receipt(publish_id, None)
    assert mp.calls(GET) == WeChatOfficialAccountChannel.polls == len(fresh_caches)


def test_a_failed_poll_never_turns_into_a_resend(mp, http, tmp_path):
    mp.fail_next[GET] = [-1]
    receipt = kind(mp, tmp_path).send(Message(f"{P}正文</p>", title=TITLE), http, "planner-1-2-r1")
    assert receipt.remote_id and receipt.remote_url is None and mp.calls(SUBMIT) == 1


def test_a_job_rejected_by_review_fails(mp, http, tmp_path):
    mp.final_status = 4
    with pytest.raises(PermanentError, match="rejected by review"):
        kind(mp, tmp_path).send(Message(f"{P}正文</p>", title=TITLE), http, "planner-1-2-r1")


def test_a_lost_submit_answer_is_an_unknown_outcome_but_a_lost_draft_is_retried(mp, http, tmp_path):
    message = Message(f"{P}正文</p>", title=TITLE, format="html")
    mp.lose_answers = {DRAFT}
    with pytest.raises(RetryableError, match="nothing was published"):
        kind(mp, tmp_path).send(message, http, "planner-1-2-r1")
    mp.lose_answers = {SUBMIT}
    with pytest.raises(OutcomeUnknownError, match="HTTP 502"):
        kind(mp, tmp_path).send(message, http, "planner-1-2-r1")
    assert len(mp.jobs) == 1  # it was published, though the answer never came


@pytest.mark.parametrize(("code", "error", "words"), [
    (-1, RetryableError, "system error rid: .* — the platform is busy"),
    (45009, ThrottledError, "daily quota is used up"),
    (45011, ThrottledError, "per-minute quota"),
    (40164, PermanentError, "not in the account's IP allowlist"),
    (48001, PermanentError, "not authorised for this API"),
    (44003, PermanentError, "the article is empty"),
    (53503, PermanentError, "failed the publishing check"),
])
def test_errcodes_map_to_the_contract(mp, http, tmp_path, code, error, words):
    mp.fail_next[SUBMIT] = [code]
    with pytest.raises(error, match=words) as caught:
        kind(mp, tmp_path).send(Message(f"{P}正文</p>", title=TITLE), http, "planner-1-2-r1")
    assert f"errcode {code}: " in caught.value.message and "rid: " in caught.value.message
    if code == 45011:
        assert caught.value.retry_after == 60
    assert mp.jobs == {}


def test_the_daily_quota_waits_until_midnight_in_beijing(mp, http, tmp_path):
    mp.daily_quota[SUBMIT] = 1
    message = Message(f"{P}正文</p>", title=TITLE, format="html")
    kind(mp, tmp_path).send(message, http, "planner-1-2-r1")
    with pytest.raises(ThrottledError) as caught:
        kind(mp, tmp_path).send(message, http, "planner-2-2-r1")
    assert 0 < caught.value.retry_after <= 24 * 3600
    assert seconds_until_quota_reset(datetime.fromisoformat("2026-11-23T23:30:00+08:00")) == 1800
    assert seconds_until_quota_reset(datetime.fromisoformat("2026-11-23T15:30:00+00:00")) == 1800


def test_secrets_never_appear_in_errors(mp, http, tmp_path):
    channel = kind(mp, tmp_path)
    channel.check(http)
    token = mp.token
    mp.server.stop()  # nothing listens any more: the connect error names the URL
    with pytest.raises(RetryableError) as caught:
        channel.send(Message(f"{P}正文</p>", title=TITLE), http, "planner-1-2-r1")
    assert "access_token=••••" in caught.value.message
    assert token not in caught.value.message and mp.app_secret not in caught.value.message


def test_check_validates_the_app_id_secret_and_ip_allowlist(mp, http, tmp_path):
    kind(mp, tmp_path).check(http)
    with pytest.raises(PermanentError, match="AppSecret is wrong") as caught:
        kind(mp, tmp_path, app_secret="not-the-secret").check(http)
    assert "not-the-secret" not in caught.value.message
    with pytest.raises(PermanentError, match="AppID is not valid"):
        kind(mp, tmp_path, app_id="wx-unknown").check(http)
    mp.ip_allowed = False
    with pytest.raises(PermanentError, match="IP allowlist"):
        kind(mp, tmp_path).check(http)
    assert mp.calls(DRAFT) == 0


# ---- through the dispatcher --------------------------------------------------------------------

@pytest.fixture
def account(st, mp):
    st.registry = Registry({"wechat_mp": WeChatOfficialAccountChannel})
    with st.sessions() as session, session.begin():
        return create_channel(session, st.registry, st.secret_box, kind="wechat_mp",
                              name="Community account", settings=settings(mp), tags=[],
                              actor="test", now=st.clock.now())


def delivery_of(st, post_id):
    with st.sessions() as session:
        return session.scalars(select(Delivery).where(Delivery.post_id == post_id)).one()


def test_an_approved_post_becomes_a_published_article(st, make, clock, tick, mp, account):
    editor, operator = make.user("editor"), make.user("operator")
    post_id = make.post(editor, status="approved", reviewer=operator, channel_ids=[account.id],
                        title=TITLE, body=BODY)
    clock.advance(hours=1)
    assert tick().outcomes == {"sent": 1}
    delivery = delivery_of(st, post_id)
    [publish_id] = mp.jobs
    assert (delivery.status, delivery.remote_id, delivery.remote_url) == (
        "sent", publish_id, f"https://mp.weixin.qq.com/s/{publish_id}")
    assert [a["title"] for a in mp.published] == [TITLE]


def test_a_lost_publish_answer_is_left_to_an_operator(st, make, clock, tick, mp, account):
    editor, operator = make.user("editor"), make.user("operator")
    post_id = make.post(editor, status="approved", reviewer=operator, channel_ids=[account.id],
                        title=TITLE, body=BODY)
    mp.lose_answers = {SUBMIT}
    clock.advance(hours=1)
    assert tick().outcomes == {"unconfirmed": 1}
    clock.advance(minutes=30)
    assert tick().sent == 0
    assert delivery_of(st, post_id).status == "unconfirmed"
    assert mp.calls(SUBMIT) == 1 and len(mp.published) == 1
