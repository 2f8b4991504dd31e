"""The mastodon kind: plain text counted as the server counts it, idempotent statuses, the dispatcher."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.wrappers import Response

from channels.mastodon import MastodonChannel, count, seconds_until
from channels.outbox import OutboxChannel
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
from planner.models import Delivery, DeliveryAttempt
from planner.registry import Registry
from planner.services.channels import create_channel
from planner.worker.dispatcher import Dispatcher
from tests.fakes.mastodon import TOKEN, FakeMastodon, server_length
from tests.fakes.server import json_response


def mastodon(tmp_path, base_url="https://mastodon.invalid", token=TOKEN, visibility="unlisted"):
    settings = {"base_url": base_url, "access_token": token, "visibility": visibility}
    return MastodonChannel(settings, ChannelContext(instance_path=tmp_path))


def status_text(tmp_path, body, title=""):
    [message] = mastodon(tmp_path).render(PostContent("tutorial", title, body))
    return message.text


# ---- rendering --------------------------------------------------------------------------------

def test_greeting_in_chinese_with_emoji(tmp_path):
    assert status_text(tmp_path, "大家早上好！☀️ 今天也要加油 💪", "早上好") == (
        "早上好\n\n大家早上好！☀️ 今天也要加油 💪")


def test_markdown_becomes_plain_text_with_links(tmp_path):
    body = ("## f-strings\n\nUse **f-strings** & read [the docs](https://docs.python.org/3/) or "
            "https://peps.python.org/pep-0498/.\n\n```python\nif ok:\n    print('你好')\n```\n\n"
            "- one\n- two\n    1. nested\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
            "![diagram](https://example.com/d.png)\n\n> quoted *line*\n\n[relative](/x)")
    assert status_text(tmp_path, body, "Tip of the week") == (
        "Tip of the week\n\n"
        "f-strings\n\n"
        "Use f-strings & read the docs (https://docs.python.org/3/) or https://peps.python.org/pep-0498/."
        "\n\n"
        "if ok:\n    print('你好')\n\n"
        "• one\n• two\n  1. nested\n\n"
        "a | b\n1 | 2\n\n"
        "diagram (https://example.com/d.png)\n\n"
        "> quoted line\n\n"
        "relative")


def test_every_link_counts_23_characters():
    assert count("see https://example.com/" + "a" * 100) == 4 + 23
    assert count("short http://x.io.") == 6 + 23 + 1  # the full stop is not part of the link
    assert count("两个链接 https://a.example/1 https://b.example/2") == 5 + 23 + 1 + 23
    assert count("http://localhost/not-linked") == len("http://localhost/not-linked")


def test_a_status_up_to_500_as_the_server_counts_is_accepted(tmp_path, fake_platform, http):
    fake = FakeMastodon()
    server = fake_platform(fake)
    long_link = "https://example.com/" + "x" * 200
    body = "字" * 476 + " " + long_link  # 221 code points of link, counted as 23: 500 in all
    kind = mastodon(tmp_path, server.url)
    [message] = kind.render(PostContent("share", "", body))
    assert (len(message.text), count(message.text), server_length(message.text)) == (697, 500, 500)
    assert kind.send(message, http, "k1").remote_id == "111234567890123456"
    with pytest.raises(RenderError, match="501 characters as Mastodon counts them"):
        kind.render(PostContent("share", "", "字" * 477 + " " + long_link))


def test_a_long_post_is_refused_rather_than_threaded(tmp_path):
    with pytest.raises(RenderError, match="at most 500"):
        status_text(tmp_path, "\n\n".join("社区运营的每周节奏。" * 10 for _ in range(6)))


# ---- sending ----------------------------------------------------------------------------------

@pytest.fixture
def platform(fake_platform):
    fake = FakeMastodon()
    return fake, fake_platform(fake)


def test_send_posts_with_the_idempotency_key_and_returns_id_and_url(platform, http, tmp_path):
    fake, server = platform
    kind = mastodon(tmp_path, server.url + "/")
    [message] = kind.render(PostContent("greeting", "早上好", "大家好"))
    receipt = kind.send(message, http, "planner-1-2-r1")
    assert (receipt.remote_id, receipt.remote_url) == (
        "111234567890123456", "https://mastodon.example/@planner/111234567890123456")
    again = kind.send(message, http, "planner-1-2-r1")  # a resend after a lost answer
    assert again == receipt and len(fake.statuses) == 1
    request = server.requests[0]
    assert (request.path, request.headers["Authorization"], request.headers["Idempotency-Key"]) == (
        "/api/v1/statuses", f"Bearer {TOKEN}", "planner-1-2-r1")
    assert request.json == {"status": "早上好\n\n大家好", "visibility": "unlisted"}


def test_past_the_statuses_budget_it_waits_until_the_reset(platform, http, tmp_path):
    fake, server = platform
    fake.statuses_limit = 2
    fake.clock = lambda: 1_800_000_000.0
    kind = mastodon(tmp_path, server.url)
    kind.clock = lambda: 1_800_000_000.0 + 600
    for number in range(2):
        kind.send(Message(text=f"status {number}", format="text"), http, f"k{number}")
    with pytest.raises(ThrottledError) as caught:
        kind.send(Message(text="one too many", format="text"), http, "k3")
    assert caught.value.retry_after == pytest.approx(3 * 3600 - 600)
    assert caught.value.message == "Mastodon 429: Too many requests"


@pytest.mark.parametrize(("answer", "raised", "words"), [
    (json_response({"error": "This action is not allowed"}, 403), PermanentError,
     "Mastodon 403: This action is not allowed"),
    (json_response({"error": "Record not found"}, 404), PermanentError, "Record not found"),
    (json_response({"error": "Validation failed: Text can't be blank"}, 422), PermanentError,
     "Mastodon 422: Validation failed"),
    (json_response({"error": "Too many requests"}, 429, {"Retry-After": "30"}), ThrottledError,
     "Mastodon 429"),
    (json_response({"error": "Remote data could not be fetched"}, 503, {"Retry-After": "12"}),
     RetryableError, "Mastodon 503: Remote data could not be fetched"),
    (Response("<html>oops</html>", status=500), RetryableError, "Mastodon 500: <html>oops"),
    (Response("<html>bad gateway</html>", status=502), OutcomeUnknownError, "Mastodon 502"),
    (Response("<html>welcome</html>", status=200), OutcomeUnknownError, "not JSON"),
    (Response("", status=301, headers={"Location": "https://new.example/api/v1/statuses"}),
     PermanentError, "moved to https://new.example/api/v1/statuses"),
])
def test_errors_map_to_the_contract(platform, http, tmp_path, answer, raised, words):
    fake, server = platform
    fake.answers.append(answer)
    with pytest.raises(raised, match=words) as caught:
        mastodon(tmp_path, server.url).send(Message(text="hi", format="text"), http, "k")
    if answer.status_code in (429, 503):
        assert caught.value.retry_after == float(answer.headers["Retry-After"])
    assert fake.statuses == []


def test_the_fake_refuses_what_mastodon_refuses(platform, http, tmp_path):
    fake, server = platform
    with pytest.raises(PermanentError, match="Mastodon 401: The access token is invalid") as caught:
        mastodon(tmp_path, server.url, token="wrong-token").send(
            Message(text="hi", format="text"), http, "k")
    assert "wrong-token" not in caught.value.message
    with pytest.raises(PermanentError, match="character limit of 500 exceeded"):
        mastodon(tmp_path, server.url).send(Message(text="字" * 501, format="text"), http, "k")


def test_reset_times_are_iso_8601_not_epoch_seconds():
    assert seconds_until("2026-01-01T12:05:00.000000Z", 1767268800.0) == 300.0
    assert seconds_until("2026-01-01T12:05:00.000000Z", 1767269200.0) == 0.0  # already past
    assert seconds_until("1767269100", 0.0) is None


def test_check_verifies_credentials_without_posting(platform, http, tmp_path):
    fake, server = platform
    mastodon(tmp_path, server.url).check(http)
    assert server.requests[0].path == "/api/v1/accounts/verify_credentials"
    with pytest.raises(PermanentError, match="access token is invalid"):
        mastodon(tmp_path, server.url, token="revoked").check(http)
    assert fake.statuses == []


# ---- through the dispatcher -------------------------------------------------------------------

def test_a_lost_answer_is_resent_with_the_same_key_and_posted_once(st, make, clock, platform):
    fake, server = platform
    fake.lose_answers = 1
    st.registry = Registry({"outbox": OutboxChannel, "mastodon": MastodonChannel})
    with st.sessions() as session, session.begin():
        channel = create_channel(
            session, st.registry, st.secret_box, kind="mastodon", name="@planner@mastodon.example",
            settings={"base_url": server.url, "access_token": TOKEN}, tags=[], actor="test",
            now=st.clock.now())
    editor, operator = make.user("editor"), make.user("operator")
    post_id = make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id],
                        kind="share", title="本周推荐", body="读一读 [这篇文章](https://example.com/a)")
    clock.advance(hours=1)
    with Dispatcher(st, worker_id="w1") as dispatcher:
        assert dispatcher.tick().outcomes == {"retrying": 1}
        clock.advance(minutes=5)
        assert dispatcher.tick().outcomes == {"sent": 1}
    with st.sessions() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.post_id == post_id)).one()
        outcomes = session.scalars(select(DeliveryAttempt.outcome).order_by(DeliveryAttempt.id)).all()
    assert (delivery.status, delivery.remote_id, delivery.remote_url) == (
        "sent", "111234567890123456", "https://mastodon.example/@planner/111234567890123456")
    assert outcomes == ["retrying", "sent"]
    assert [s["text"] for s in fake.statuses] == ["本周推荐\n\n读一读 这篇文章 (https://example.com/a)"]
    assert [r.headers["Idempotency-Key"] for r in server.requests] == [delivery.idempotency_key] * 2
    assert server.requests[0].json["visibility"] == "public"
