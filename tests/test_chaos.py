"""Platforms misbehaving, through the real dispatcher and real HTTP: every answer lands correctly."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.wrappers import Response

from planner.models import Channel, Delivery, DeliveryAttempt, Post
from planner.registry import Registry
from planner.services.channels import create_channel
from tests.fakes import telegram as telegram_fake
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.fakes.webhook import SECRET, FakeReceiver
from tests.fakes.wecom import KEY, PATH, FakeWeCom

CHAT = -1001234567890


@pytest.fixture(autouse=True)
def kinds(st):
    st.registry = Registry.from_entry_points(only=["outbox", "webhook", "telegram", "wecom"])
    st.config["HTTP_READ_TIMEOUT"] = 0.5


@pytest.fixture
def people(make):
    return make.user("editor"), make.user("operator")


def channel(st, kind, settings):
    with st.sessions() as session, session.begin():
        return create_channel(session, st.registry, st.secret_box, kind=kind, name=f"{kind} group",
                              settings=settings, tags=[], actor="test", now=st.clock.now()).id


def webhook_channel(st, server):
    return channel(st, "webhook", {"url": server.url + "/hooks", "secret": SECRET})


def telegram_channel(st, server):
    return channel(st, "telegram", {"bot_token": TOKEN, "chat_id": str(CHAT),
                                    "api_base": server.url})


def delivery(st, post_id):
    with st.sessions() as session:
        return session.scalars(select(Delivery).where(Delivery.post_id == post_id)).one()


def outcomes(st):
    with st.sessions() as session:
        return [a.outcome for a in session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id))]


def test_server_errors_then_success(st, make, people, clock, tick, fake_platform):
    receiver = FakeReceiver(answers=[Response("oops", status=500), Response("oops", status=503)])
    target = webhook_channel(st, fake_platform(receiver))
    post_id = make.post(people[0], status="approved", reviewer=people[1], channel_ids=[target])
    clock.advance(hours=1)
    for _ in range(3):
        tick()
        clock.advance(minutes=10)
    assert delivery(st, post_id).status == "sent"
    assert outcomes(st) == ["retrying", "retrying", "sent"]
    assert len(receiver.events) == 1


def test_429_with_retry_after_cools_the_target_down(st, make, people, clock, tick, fake_platform):
    telegram = FakeTelegram(answers=[telegram_fake.error(
        429, "Too Many Requests: retry after 45", {"retry_after": 45})])
    target = telegram_channel(st, fake_platform(telegram))
    post_id = make.post(people[0], status="approved", reviewer=people[1], channel_ids=[target])
    clock.advance(hours=1)
    tick()
    waiting = delivery(st, post_id)
    assert waiting.status == "retrying" and "retry after 45" in waiting.last_error
    assert waiting.next_attempt_at >= clock.now() + timedelta(seconds=45)
    with st.sessions() as session:
        assert session.get(Channel, target).next_send_at == clock.now() + timedelta(seconds=45)
    clock.advance(seconds=44)
    assert tick().sent == 0
    clock.set(waiting.next_attempt_at + timedelta(seconds=1))
    tick()
    assert delivery(st, post_id).status == "sent" and len(telegram.sent) == 1


def test_throttle_code_inside_http_200(st, make, people, clock, tick, fake_platform):
    wecom = FakeWeCom(script=[{"errcode": 45009, "errmsg": "api freq out of limit"}])
    server = fake_platform(wecom)
    target = channel(st, "wecom", {"webhook_url": f"{server.url}{PATH}?key={KEY}"})
    post_id = make.post(people[0], status="approved", reviewer=people[1], channel_ids=[target])
    clock.advance(hours=1)
    tick()
    waiting = delivery(st, post_id)
    assert waiting.status == "retrying" and "45009" in waiting.last_error
    assert KEY not in waiting.last_error
    clock.set(waiting.next_attempt_at + timedelta(seconds=1))
    tick()
    assert delivery(st, post_id).status == "sent" and len(wecom.messages) == 1


@pytest.mark.parametrize("token, kicked, status", [
    ("123:wrong-token", False, 401),
    (TOKEN, True, 403),
])
def test_refusals_fail_at_once_with_the_platforms_words(st, make, people, clock, tick, fake_platform,
                                                        token, kicked, status):
    telegram = FakeTelegram(kicked={CHAT} if kicked else set())
    server = fake_platform(telegram)
    target = channel(st, "telegram", {"bot_token": token, "chat_id": str(CHAT),
                                      "api_base": server.url})
    post_id = make.post(people[0], status="approved", reviewer=people[1], channel_ids=[target])
    clock.advance(hours=1)
    tick()
    failed = delivery(st, post_id)
    assert failed.status == "failed" and failed.attempt_count == 1
    assert ("Unauthorized" if status == 401 else "kicked") in failed.last_error
    assert token not in failed.last_error
    with st.sessions() as session:
        assert session.get(Post, post_id).status == "failed"


def slow(handler, release):
    def answer(request):
        response = handler(request)  # the platform acts on the request...
        release.wait(5)  # ...but its answer comes after the read timeout
        return response
    return answer


def test_a_slow_answer_past_the_timeout(st, make, people, clock, tick, fake_platform):
    release = threading.Event()
    receiver, telegram = FakeReceiver(), FakeTelegram()
    hook = webhook_channel(st, fake_platform(slow(receiver, release)))
    group = telegram_channel(st, fake_platform(slow(telegram, release)))
    post_id = make.post(people[0], status="approved", reviewer=people[1], channel_ids=[hook, group])
    clock.advance(hours=1)
    try:
        tick()
    finally:
        release.set()
    with st.sessions() as session:
        by_kind = {session.get(Channel, d.channel_id).kind: d for d in
                   session.scalars(select(Delivery).where(Delivery.post_id == post_id))}
    assert by_kind["webhook"].status == "retrying"  # resent with the same id: deduplicated
    assert by_kind["telegram"].status == "unconfirmed"  # never resent blindly
    clock.advance(minutes=10)
    tick()
    assert delivery_status(st, by_kind["webhook"].id) == "sent"
    assert len(receiver.events) == 1 and receiver.duplicates == [receiver.events[0]["id"]]
    assert len(telegram.sent) == 1


def delivery_status(st, delivery_id):
    with st.sessions() as session:
        return session.get(Delivery, delivery_id).status


def test_a_502_after_the_platform_accepted_the_post(st, make, people, clock, tick, fake_platform):
    receiver, telegram = FakeReceiver(lose_answers=1), FakeTelegram()

    def accept_then_502(request):
        telegram(request)
        return Response("<html>502 Bad Gateway</html>", status=502)

    hook = webhook_channel(st, fake_platform(receiver))
    group = telegram_channel(st, fake_platform(accept_then_502))
    post_id = make.post(people[0], status="approved", reviewer=people[1], channel_ids=[hook, group])
    clock.advance(hours=1)
    tick()
    clock.advance(minutes=10)
    tick()
    with st.sessions() as session:
        by_kind = {session.get(Channel, d.channel_id).kind: d.status for d in
                   session.scalars(select(Delivery).where(Delivery.post_id == post_id))}
    assert by_kind == {"webhook": "sent", "telegram": "unconfirmed"}
    assert len(receiver.events) == 1 and len(receiver.duplicates) == 1
    assert len(telegram.sent) == 1
