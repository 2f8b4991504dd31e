"""The webhook kind: Standard Webhooks signatures, the receiver's answers, the dispatcher."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from werkzeug.wrappers import Response

from channels.outbox import OutboxChannel
from channels.webhook import WebhookChannel, sign, signing_key
from planner.channel_api import (
    ChannelContext,
    OutcomeUnknownError,
    PermanentError,
    PostContent,
    Receipt,
    RetryableError,
    ThrottledError,
)
from planner.models import Delivery, DeliveryAttempt
from planner.registry import Registry
from planner.services.channels import create_channel
from planner.worker.dispatcher import Dispatcher
from tests.fakes.webhook import SECRET, FakeReceiver, Unverified, verify

VECTOR = {"id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "timestamp": 1614265330,
          "body": b'{"test": 2432232314}', "signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
TUTORIAL = PostContent("tutorial", "Tip of the week",
                       "Use **f-strings**:\n\n```python\nprint(f'你好 {name}')\n```")


def webhook(tmp_path, url="https://receiver.invalid/hooks", secret=SECRET, now=None):
    kind = WebhookChannel({"url": url, "secret": secret}, ChannelContext(instance_path=tmp_path))
    if now is not None:
        kind.clock = lambda: now
    return kind


def test_signature_matches_the_reference_test_vector():
    key = signing_key(SECRET)
    assert sign(key, VECTOR["id"], VECTOR["timestamp"], VECTOR["body"]) == VECTOR["signature"]
    assert signing_key(SECRET.removeprefix("whsec_")) == key  # the prefix is optional
    with pytest.raises(ValueError, match="not whsec_ followed by Base64"):
        signing_key("whsec_not base64!")


def test_the_fake_receiver_verifies_the_same_vector():
    headers = {"webhook-id": VECTOR["id"], "webhook-timestamp": str(VECTOR["timestamp"]),
               "webhook-signature": "v1,wrong= " + VECTOR["signature"]}  # one of several entries
    assert verify(SECRET, headers, VECTOR["body"], VECTOR["timestamp"] + 299) == VECTOR["id"]
    with pytest.raises(Unverified, match="timestamp"):
        verify(SECRET, headers, VECTOR["body"], VECTOR["timestamp"] + 301)
    with pytest.raises(Unverified, match="no matching signature"):
        verify(SECRET, headers, b'{"test": 2432232315}', VECTOR["timestamp"])


def test_render_keeps_the_whole_post_with_its_html(tmp_path):
    [message] = webhook(tmp_path).render(TUTORIAL)
    assert (message.title, message.text, message.parts) == ("Tip of the week", TUTORIAL.body, 1)
    assert message.extra == {
        "kind": "tutorial",
        "html": "<p>Use <strong>f-strings</strong>:</p>\n"
                "<pre><code class=\"language-python\">print(f'你好 {name}')\n</code></pre>"}


# ---- sending ----------------------------------------------------------------------------------

@pytest.fixture
def platform(fake_platform):
    fake = FakeReceiver()
    return fake, fake_platform(fake)


def test_send_posts_a_signed_json_event(platform, http, tmp_path):
    fake, server = platform
    kind = webhook(tmp_path, server.url + "/hooks/publish")
    [message] = kind.render(TUTORIAL)
    assert kind.send(message, http, "planner-7-3-r1") == Receipt()
    [request] = server.requests
    timestamp = int(request.headers["Webhook-Timestamp"])
    assert request.path == "/hooks/publish"
    assert request.headers["Webhook-Id"] == "planner-7-3-r1"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Webhook-Signature"] == sign(
        signing_key(SECRET), "planner-7-3-r1", timestamp, request.body)
    assert request.json["type"] == "post.published"
    assert request.json["data"] == {
        "title": "Tip of the week", "kind": "tutorial", "markdown": TUTORIAL.body,
        "html": message.extra["html"], "part": 1, "parts": 1}
    assert fake.rejected == [] and [e["id"] for e in fake.events] == ["planner-7-3-r1"]


def test_timestamp_comes_from_the_channel_clock(platform, http, tmp_path):
    fake, server = platform
    fake.clock = lambda: 1_800_000_100.0
    kind = webhook(tmp_path, server.url, now=1_800_000_000.0)
    kind.send(kind.render(TUTORIAL)[0], http, "k1")
    [request] = server.requests
    assert request.headers["Webhook-Timestamp"] == "1800000000"
    assert request.json["timestamp"] == "2027-01-15T08:00:00Z"
    assert fake.events and fake.rejected == []


def test_a_resend_keeps_the_id_and_signs_again(platform, http, tmp_path):
    fake, server = platform
    fake.clock = lambda: 1_800_000_000.0
    message = webhook(tmp_path).render(TUTORIAL)[0]
    webhook(tmp_path, server.url, now=1_800_000_000.0).send(message, http, "k1")
    webhook(tmp_path, server.url, now=1_800_000_030.0).send(message, http, "k1")
    first, second = server.requests
    assert first.headers["Webhook-Id"] == second.headers["Webhook-Id"] == "k1"
    assert first.headers["Webhook-Signature"] != second.headers["Webhook-Signature"]
    assert (len(fake.events), fake.duplicates) == (1, ["k1"])


@pytest.mark.parametrize(("answer", "raised", "words"), [
    (Response("gone", status=410), PermanentError, "410 Gone"),
    (Response("no such hook", status=404), PermanentError, "HTTP 404 from the receiver: no such hook"),
    (Response(status=400), PermanentError, "^HTTP 400 from the receiver$"),
    (Response("", status=302, headers={"Location": "https://elsewhere.example/"}), PermanentError,
     "redirected"),
    (Response("slow down", status=429, headers={"Retry-After": "20"}), ThrottledError, "HTTP 429"),
    (Response("busy", status=503, headers={"Retry-After": "9"}), RetryableError, "HTTP 503"),
    (Response("oops", status=500), RetryableError, "HTTP 500 from the receiver: oops"),
    (Response("timeout", status=504), OutcomeUnknownError, "HTTP 504"),
])
def test_receiver_answers_map_to_the_contract(platform, http, tmp_path, answer, raised, words):
    fake, server = platform
    fake.answers.append(answer)
    with pytest.raises(raised, match=words) as caught:
        webhook(tmp_path, server.url).send(webhook(tmp_path).render(TUTORIAL)[0], http, "k")
    if "Retry-After" in answer.headers:
        assert caught.value.retry_after == float(answer.headers["Retry-After"])


def test_a_wrong_secret_is_refused_by_the_receiver_and_never_echoed(platform, http, tmp_path):
    fake, server = platform
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
    with pytest.raises(PermanentError, match="HTTP 401") as caught:
        webhook(tmp_path, server.url, secret=other).send(webhook(tmp_path).render(TUTORIAL)[0],
                                                         http, "k")
    assert fake.rejected == ["no matching signature"] and other not in caught.value.message
    with pytest.raises(PermanentError, match="not whsec_ followed by Base64") as bad:
        webhook(tmp_path, server.url, secret="whsec_top secret!").check(http)
    assert "top secret" not in bad.value.message and bad.value.__cause__ is None
    with pytest.raises(PermanentError, match="must start with http"):
        webhook(tmp_path, "ftp://receiver.example").check(http)
    webhook(tmp_path, server.url).check(http)
    assert len(server.requests) == 1  # check never calls the receiver


# ---- through the dispatcher -------------------------------------------------------------------

def test_a_lost_answer_is_resent_with_the_same_id_and_the_receiver_keeps_one(
        st, make, clock, platform):
    fake, server = platform
    fake.lose_answers = 1
    st.registry = Registry({"outbox": OutboxChannel, "webhook": WebhookChannel})
    with st.sessions() as session, session.begin():
        channel = create_channel(
            session, st.registry, st.secret_box, kind="webhook", name="Community site",
            settings={"url": server.url + "/hooks", "secret": SECRET}, tags=[], actor="test",
            now=st.clock.now())
    editor, operator = make.user("editor"), make.user("operator")
    post_id = make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id],
                        kind="guest_session", title="嘉宾分享：Rust 入门", body="周六晚上 **8 点** 🎉")
    clock.advance(hours=1)
    with Dispatcher(st, worker_id="w1") as dispatcher:
        assert dispatcher.tick().outcomes == {"retrying": 1}
        clock.advance(minutes=5)
        assert dispatcher.tick().outcomes == {"sent": 1}
    with st.sessions() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.post_id == post_id)).one()
        outcomes = session.scalars(select(DeliveryAttempt.outcome).order_by(DeliveryAttempt.id)).all()
    assert (delivery.status, delivery.remote_id, delivery.remote_url) == ("sent", None, None)
    assert outcomes == ["retrying", "sent"]
    assert [r.headers["Webhook-Id"] for r in server.requests] == [delivery.idempotency_key] * 2
    assert fake.rejected == [] and fake.duplicates == [delivery.idempotency_key]
    [event] = fake.events
    assert event["data"] == {"title": "嘉宾分享：Rust 入门", "kind": "guest_session",
                             "markdown": "周六晚上 **8 点** 🎉",
                             "html": "<p>周六晚上 <strong>8 点</strong> 🎉</p>", "part": 1, "parts": 1}
    assert "周六晚上" in server.requests[0].body.decode("utf-8")  # UTF-8 JSON, not \\u escapes
    assert json.loads(server.requests[1].body)["data"] == event["data"]
