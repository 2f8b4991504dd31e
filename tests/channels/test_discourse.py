"""The discourse kind: Markdown for the forum, topics and replies, errors, and the external-id lookup."""

import pytest
from sqlalchemy import select

from channels.discourse import (
    MIN_TITLE_LENGTH,
    DiscourseChannel,
    discourse_markdown,
    external_id,
)
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
from tests.fakes.discourse import FakeDiscourse

TITLE = "Tip of the week: f-strings"
BODY = "Use **f-strings** for formatting: they are fast and easy to read."


@pytest.fixture
def forum(fake_platform):
    fake = FakeDiscourse()
    fake.server = fake_platform(fake.handle)
    return fake


def settings(forum, **overrides):
    return {"base_url": forum.server.url + "/", "api_key": forum.api_key, "api_username": "system",
            "category_id": "5", "topic_id": None} | overrides


def kind(forum, tmp_path, **overrides):
    return DiscourseChannel(settings(forum, **overrides), ChannelContext(instance_path=tmp_path))


def posted(forum):
    return [r for r in forum.server.requests if (r.method, r.path) == ("POST", "/posts.json")]


# ---- rendering ---------------------------------------------------------------------------------

def test_markdown_passes_through_cleaned_of_what_the_forum_cannot_show(tmp_path):
    body = (
        "## f-strings 入门\n\n"
        "大家好 🎉 read [the docs](https://docs.python.org/3/), not [this](/docs/local) or "
        "[that](javascript:alert(1)).\n\n"
        "<script>alert('x')</script>\n\n"
        "Inline `<script>` stays as code. <!-- a note to self -->\n\n"
        "```python\nname = '世界'\n\nprint(f'你好, {name}')  # <script> in code stays\n```\n\n"
        "| 语言 | 年份 |\n|---|---|\n| Python | 1991 |\n\n"
        "![diagram](https://example.com/d.png) ![local](img/d.png)"
    )
    assert discourse_markdown(body) == (
        "## f-strings 入门\n\n"
        "大家好 🎉 read [the docs](https://docs.python.org/3/), not this or that.\n\n"
        "Inline `<script>` stays as code.\n\n"
        "```python\nname = '世界'\n\nprint(f'你好, {name}')  # <script> in code stays\n```\n\n"
        "| 语言 | 年份 |\n|---|---|\n| Python | 1991 |\n\n"
        "![diagram](https://example.com/d.png) local"
    )


def test_a_new_topic_has_the_title_and_the_raw_markdown(tmp_path):
    channel = DiscourseChannel({"base_url": "https://forum.example.org", "api_key": "k",
                                "category_id": "5"}, ChannelContext(instance_path=tmp_path))
    [message] = channel.render(PostContent("tutorial", "  Tip of the week:\n f-strings ", BODY))
    assert message == Message(text=BODY, title="Tip of the week: f-strings", format="markdown")
    assert channel.capabilities.confirmable and channel.capabilities.titles


def test_a_reply_carries_the_title_as_a_heading_and_is_not_confirmable(tmp_path):
    channel = DiscourseChannel({"base_url": "https://forum.example.org", "api_key": "k",
                                "topic_id": "42"}, ChannelContext(instance_path=tmp_path))
    [message] = channel.render(PostContent("greeting", "早上好", "大家早上好！☀️ 今天也要加油 💪"))
    assert message == Message(text="## 早上好\n\n大家早上好！☀️ 今天也要加油 💪", title=None)
    assert not channel.capabilities.confirmable  # a reply has no external_id to look up
    assert DiscourseChannel.capabilities.confirmable


def test_titles_shorter_than_the_forum_minimum_and_long_bodies_are_refused(tmp_path):
    channel = DiscourseChannel({"base_url": "https://f.example", "api_key": "k"},
                               ChannelContext(instance_path=tmp_path))
    with pytest.raises(RenderError, match=f"at least {MIN_TITLE_LENGTH}"):
        channel.render(PostContent("greeting", "早上好", BODY))
    with pytest.raises(RenderError, match="at most 255"):
        channel.render(PostContent("share", "t" * 256, BODY))
    with pytest.raises(RenderError, match="32001 characters"):
        channel.render(PostContent("share", TITLE, "长" * 32001))
    assert channel.render(PostContent("share", TITLE, "长" * 32000))[0].text == "长" * 32000
    with pytest.raises(RenderError, match="no text"):
        channel.render(PostContent("share", TITLE, "<script>x()</script>"))


def test_external_ids_satisfy_the_forum_constraints():
    assert external_id("planner-12-3-r1") == "planner-12-3-r1"
    long = external_id("planner-test-7-" + "a" * 60)
    odd = external_id("外部 id/1")
    for value in (long, odd):
        assert len(value) <= 50 and all(c.isascii() and (c.isalnum() or c in "-_") for c in value)
    assert long == external_id("planner-test-7-" + "a" * 60)  # stable across resends
    assert long != external_id("planner-test-7-" + "a" * 59 + "b")


# ---- sending -----------------------------------------------------------------------------------

def test_a_new_topic_is_posted_with_headers_category_and_external_id(forum, http, tmp_path):
    channel = kind(forum, tmp_path)
    [message] = channel.render(PostContent("tutorial", TITLE, BODY))
    receipt = channel.send(message, http, "planner-1-2-r1")
    [topic] = forum.topics.values()
    assert receipt == Receipt(str(topic.posts[0].id),
                              f"{forum.server.url}/t/tip-of-the-week-f-strings/{topic.id}")
    [request] = posted(forum)
    assert request.headers["Api-Key"] == forum.api_key
    assert request.headers["Api-Username"] == "system"
    assert request.json == {"title": TITLE, "raw": BODY, "category": 5,
                            "external_id": "planner-1-2-r1"}


def test_a_reply_goes_into_the_topic_and_returns_the_post_url(forum, http, tmp_path):
    topic = forum.add_topic("Daily greetings thread")
    channel = kind(forum, tmp_path, topic_id=str(topic.id))
    [message] = channel.render(PostContent("greeting", "早上好", "大家早上好！☀️ 今天也要加油 💪"))
    receipt = channel.send(message, http, "planner-2-2-r1")
    reply = topic.posts[1]
    assert receipt == Receipt(str(reply.id),
                              f"{forum.server.url}/t/daily-greetings-thread/{topic.id}/2")
    assert posted(forum)[0].json == {"raw": message.text, "topic_id": topic.id}


def test_a_post_held_for_review_counts_as_sent_without_a_url(forum, http, tmp_path):
    forum.review = True
    channel = kind(forum, tmp_path)
    receipt = channel.send(Message(BODY, title=TITLE), http, "planner-3-2-r1")
    assert receipt == Receipt("pending-1", None)
    assert forum.topics == {} and len(forum.pending) == 1


def test_validation_errors_are_permanent_with_the_forums_words(forum, http, tmp_path):
    channel = kind(forum, tmp_path)
    with pytest.raises(PermanentError, match=r"422: Title is too short \(minimum is 15"):
        channel.send(Message(BODY, title="Too short"), http, "planner-4-2-r1")
    forum.add_topic(TITLE)  # someone else's topic with the same title
    with pytest.raises(PermanentError, match="Title has already been used — another topic"):
        channel.send(Message(BODY, title=TITLE), http, "planner-4-2-r2")


def test_a_duplicate_left_by_a_lost_attempt_is_recognised_as_ours(forum, http, tmp_path):
    channel = kind(forum, tmp_path)
    first = channel.send(Message(BODY, title=TITLE), http, "planner-5-2-r1")
    again = channel.send(Message(BODY, title=TITLE), http, "planner-5-2-r1")
    assert again == first and len(forum.topics) == 1


@pytest.mark.parametrize(("setup", "error", "words"), [
    (lambda f: setattr(f, "api_key", "another-key"), PermanentError, "check the API key"),
    (lambda f: setattr(f, "read_only", True), RetryableError, "read only mode"),
    (lambda f: setattr(f, "lose_answers", 1), OutcomeUnknownError, "HTTP 502"),
    (lambda f: setattr(f, "categories", (9,)), PermanentError, "Category can't be blank"),
])
def test_error_answers_map_to_the_contract(forum, http, tmp_path, setup, error, words):
    channel = kind(forum, tmp_path)
    setup(forum)
    with pytest.raises(error, match=words):
        channel.send(Message(BODY, title=TITLE), http, "planner-6-2-r1")


def test_too_many_posts_are_throttled_for_the_time_the_forum_names(forum, http, tmp_path):
    forum.per_minute = 2
    channel = kind(forum, tmp_path)
    for number in (1, 2):
        channel.send(Message(BODY, title=f"{TITLE} number {number}"), http, f"planner-{number}-1-r1")
    with pytest.raises(ThrottledError, match="too many times") as caught:
        channel.send(Message(BODY, title=f"{TITLE} number 3"), http, "planner-3-1-r1")
    assert 50 <= caught.value.retry_after <= 60


def test_a_missing_reply_topic_or_a_bad_setting_is_permanent(forum, http, tmp_path):
    with pytest.raises(PermanentError, match="HTTP 404"):
        kind(forum, tmp_path, topic_id="999").send(Message("## Hi\n\n" + BODY), http, "k-1")
    with pytest.raises(PermanentError, match="category_id setting must be a number"):
        kind(forum, tmp_path, category_id="news").send(Message(BODY, title=TITLE), http, "k-2")


# ---- confirming and checking -------------------------------------------------------------------

class NoRedirects:
    """An HTTP client that leaves redirects unfollowed, as some proxies and clients do."""

    def __init__(self, http):
        self.http = http

    def request(self, method, url, **kwargs):
        return self.http.request(method, url, allow_redirects=False, **kwargs)


@pytest.mark.parametrize("follow", [True, False])
def test_confirm_finds_the_topic_by_its_external_id(forum, http, tmp_path, follow):
    channel = kind(forum, tmp_path)
    client = http if follow else NoRedirects(http)
    message = Message(BODY, title=TITLE)
    assert channel.confirm(message, client, "planner-7-2-r1") is None
    sent = channel.send(message, http, "planner-7-2-r1")
    assert channel.confirm(message, client, "planner-7-2-r1") == sent
    assert channel.confirm(message, client, "PLANNER-7-2-R1") == sent  # ids are case-insensitive


def test_confirm_says_when_the_forum_cannot_be_asked(forum, http, tmp_path):
    channel = kind(forum, tmp_path)
    forum.api_key = "rotated"
    with pytest.raises(PermanentError, match="could not ask the forum"):
        channel.confirm(Message(BODY, title=TITLE), http, "planner-8-2-r1")


def test_check_proves_the_key_and_the_category_without_posting(forum, http, tmp_path):
    kind(forum, tmp_path).check(http)
    assert [r.path for r in forum.server.requests] == ["/session/current.json", "/c/5/show.json"]
    with pytest.raises(PermanentError, match="category 7 does not exist"):
        kind(forum, tmp_path, category_id="7").check(http)
    with pytest.raises(PermanentError, match="did not accept the API key for user 'alice'"):
        kind(forum, tmp_path, api_username="alice").check(http)
    assert posted(forum) == []


# ---- through the dispatcher --------------------------------------------------------------------

@pytest.fixture
def forum_channel(st, forum):
    st.registry = Registry({"discourse": DiscourseChannel})
    with st.sessions() as session, session.begin():
        return create_channel(session, st.registry, st.secret_box, kind="discourse",
                              name="Python forum", settings=settings(forum, topic_id=""), tags=[],
                              actor="test", now=st.clock.now())


def delivery_of(st, post_id):
    with st.sessions() as session:
        return session.scalars(select(Delivery).where(Delivery.post_id == post_id)).one()


def test_an_approved_post_becomes_a_topic(st, make, clock, tick, forum, forum_channel):
    editor, operator = make.user("editor"), make.user("operator")
    post_id = make.post(editor, status="approved", reviewer=operator,
                        channel_ids=[forum_channel.id], title=TITLE, body=BODY)
    clock.advance(hours=1)
    assert tick().outcomes == {"sent": 1}
    delivery = delivery_of(st, post_id)
    [topic] = forum.topics.values()
    assert (delivery.status, delivery.remote_id, delivery.remote_url) == (
        "sent", str(topic.posts[0].id), f"{forum.server.url}/t/{topic.slug}/{topic.id}")
    assert topic.external_id == delivery.idempotency_key
    assert topic.posts[0].raw == BODY


def test_a_lost_answer_is_confirmed_on_the_next_tick_not_posted_again(
        st, make, clock, tick, forum, forum_channel):
    editor, operator = make.user("editor"), make.user("operator")
    post_id = make.post(editor, status="approved", reviewer=operator,
                        channel_ids=[forum_channel.id], title=TITLE, body=BODY)
    forum.lose_answers = 1  # the forum creates the topic, the proxy answers 502
    clock.advance(hours=1)
    assert tick().outcomes == {"retrying": 1}
    assert delivery_of(st, post_id).status == "retrying"

    clock.advance(minutes=5)
    assert tick().outcomes == {"sent": 1}
    delivery = delivery_of(st, post_id)
    [topic] = forum.topics.values()
    assert (delivery.status, delivery.remote_id, delivery.remote_url) == (
        "sent", str(topic.posts[0].id), f"{forum.server.url}/t/{topic.slug}/{topic.id}")
    assert len(posted(forum)) == 1
    assert [r.path for r in forum.server.requests if r.method == "GET"][0] == \
        f"/t/external_id/{delivery.idempotency_key}.json"


def test_a_lost_reply_is_left_to_an_operator(st, make, clock, tick, forum):
    topic = forum.add_topic("Daily greetings thread")
    st.registry = Registry({"discourse": DiscourseChannel})
    with st.sessions() as session, session.begin():
        channel = create_channel(session, st.registry, st.secret_box, kind="discourse",
                                 name="Greetings thread", settings=settings(forum, topic_id=topic.id),
                                 tags=[], actor="test", now=st.clock.now())
    editor, operator = make.user("editor"), make.user("operator")
    post_id = make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id],
                        title="早上好", body="大家早上好！☀️ 今天也要加油 💪")
    forum.lose_answers = 1
    clock.advance(hours=1)
    assert tick().outcomes == {"unconfirmed": 1}
    clock.advance(minutes=30)
    assert tick().sent == 0
    assert delivery_of(st, post_id).status == "unconfirmed"
    assert len(posted(forum)) == 1 and len(topic.posts) == 2
