"""Workers that die at the worst moments: nothing is published twice, nothing is lost.

Each case kills a real ``planner worker`` with ``os._exit`` at a failpoint, starts a fresh one, and then
checks the invariants against what the fake platforms received.
"""

import itertools
import random
import time

import pytest
from sqlalchemy import select

from planner.models import Alert, Channel, Delivery
from planner.registry import Registry
from planner.services import workspace
from planner.services.channels import create_channel
from planner.worker.failpoints import DISPATCH, EXIT_CODE
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.fakes.webhook import SECRET, FakeReceiver
from tests.processes import due_now, start_worker, stop, wait_until, worker_env

FINAL = {"sent", "failed", "expired", "unconfirmed"}
CHAT = -1001234567890


@pytest.fixture(autouse=True)
def kinds(st):
    st.registry = Registry.from_entry_points(only=["outbox", "telegram", "webhook"])


@pytest.fixture
def platforms(fake_platform):
    telegram, receiver = FakeTelegram(per_minute=10_000), FakeReceiver()
    return telegram, fake_platform(telegram), receiver, fake_platform(receiver)


def add_channel(st, kind, name, settings):
    with st.sessions() as session, session.begin():
        return create_channel(session, st.registry, st.secret_box, kind=kind, name=name,
                              settings=settings, tags=[], actor="test", now=st.clock.now(),
                              rate_per_minute=6000).id


def statuses(st):
    with st.sessions() as session:
        return {d.id: (d.status, session.get(Channel, d.channel_id).kind)
                for d in session.scalars(select(Delivery))}


def settled(st):
    return all(status in FINAL for status, _kind in statuses(st).values())


@pytest.mark.parametrize("failpoint", DISPATCH)
def test_a_worker_killed_at_a_failpoint_loses_and_repeats_nothing(
        st, make, database_url, tmp_path, platforms, failpoint):
    telegram, telegram_server, receiver, receiver_server = platforms
    editor, operator = make.user("editor"), make.user("operator")
    group = add_channel(st, "telegram", "Python learners",
                        {"bot_token": TOKEN, "chat_id": str(CHAT), "api_base": telegram_server.url})
    bridge = add_channel(st, "webhook", "In-house bridge",
                         {"url": receiver_server.url + "/hooks", "secret": SECRET})
    alerts_channel = make.channel("Operators")
    with st.sessions() as session, session.begin():
        workspace.put(session, "alerts_channel_id", alerts_channel.id, actor="test",
                      now=st.clock.now())
    for n in range(3):
        make.post(editor, status="approved", reviewer=operator, title=f"Lesson {n}",
                  body=f"Lesson number {n}", channel_ids=[group, bridge])
    due_now(st)
    log = tmp_path / "worker.log"

    crashed = start_worker(worker_env(st, database_url, failpoint=failpoint), log)
    assert crashed.wait(timeout=30) == EXIT_CODE, log.read_text()
    survivor = start_worker(worker_env(st, database_url), log)
    try:
        wait_until(lambda: settled(st), 30, "every delivery to settle")
    finally:
        assert stop(survivor) == 0, log.read_text()

    # Nobody in the group saw a lesson twice; the bridge deduplicated any resend by its id.
    texts = [text for _chat, text in telegram.sent]
    assert len(texts) == len(set(texts))
    assert len(receiver.events) == 3 and receiver.rejected == []
    by_kind = {kind: sorted(status for status, k in statuses(st).values() if k == kind)
               for kind in ("telegram", "webhook")}
    assert by_kind["webhook"] == ["sent"] * 3
    # Telegram cannot deduplicate: what the dead worker held is unconfirmed, never resent.
    assert set(by_kind["telegram"]) <= {"sent", "unconfirmed"}
    assert len(texts) >= by_kind["telegram"].count("sent")
    with st.sessions() as session:
        unconfirmed = session.scalars(select(Delivery.id).where(
            Delivery.status == "unconfirmed")).all()
        alerted = session.scalars(select(Alert.delivery_id)).all()
    assert sorted(unconfirmed) == sorted(alerted)
    if failpoint != "after_claim":
        assert unconfirmed, "the crash should have caught a telegram send in flight"


def test_sigterm_finishes_the_send_in_flight_and_stops_cleanly(
        st, make, database_url, tmp_path, fake_platform):
    from threading import Event

    from werkzeug.wrappers import Response

    arrived, release = Event(), Event()

    def slow_receiver(request):
        arrived.set()
        release.wait(10)
        return Response(status=204)

    server = fake_platform(slow_receiver)
    editor, operator = make.user("editor"), make.user("operator")
    bridge = add_channel(st, "webhook", "Slow bridge", {"url": server.url, "secret": SECRET})
    post_id = make.post(editor, status="approved", reviewer=operator, channel_ids=[bridge])
    due_now(st)
    log = tmp_path / "worker.log"
    worker = start_worker(worker_env(st, database_url), log)
    wait_until(arrived.is_set, 20, "the send to start")
    worker.terminate()
    release.set()
    assert worker.wait(timeout=20) == 0, log.read_text()
    with st.sessions() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.post_id == post_id)).one()
        assert (delivery.status, delivery.lease_owner) == ("sent", None)
        from planner.models import WorkerHeartbeat

        beat = session.scalars(select(WorkerHeartbeat)).one()
        assert beat.stopped_at is not None


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_random_kills_across_three_workers_on_postgresql(
        st, make, database_url, tmp_path, platforms):
    """1,000 deliveries through 3 workers on PostgreSQL while workers are SIGKILLed and restarted."""
    telegram, telegram_server, receiver, receiver_server = platforms
    chats = {}
    for n in range(25):
        chat_id = -1005000000000 - n
        telegram.chats[chat_id] = type(next(iter(telegram.chats.values())))(chat_id, f"Group {n}")
        chats[chat_id] = add_channel(st, "telegram", f"Group {n}",
                                     {"bot_token": TOKEN, "chat_id": str(chat_id),
                                      "api_base": telegram_server.url})
    bridges = [add_channel(st, "webhook", f"Bridge {n}",
                           {"url": f"{receiver_server.url}/hooks/{n}", "secret": SECRET})
               for n in range(25)]
    editor, operator = make.user("editor"), make.user("operator")
    for n in range(20):
        make.post(editor, status="approved", reviewer=operator, title=f"Session {n}",
                  body=f"Weekly session {n}", channel_ids=[*chats.values(), *bridges])
    due_now(st)
    env = worker_env(st, database_url, dispatch_concurrency="4")
    logs = [tmp_path / f"worker{n}.log" for n in range(3)]
    workers = [start_worker(env, log) for log in logs]
    chooser = random.Random(7)
    try:
        for round_number in itertools.count():
            if settled(st) or round_number >= 40:
                break
            victim = chooser.randrange(3)
            workers[victim].kill()
            workers[victim].wait(timeout=10)
            workers[victim] = start_worker(env, logs[victim])
            time.sleep(chooser.uniform(0.05, 0.3))  # let the storm flow a little between kills
        wait_until(lambda: settled(st), 60, "every delivery to settle")
    finally:
        for worker in workers:
            stop(worker)
    sent_per_chat = {}
    for chat, text in telegram.sent:
        sent_per_chat.setdefault((chat, text), 0)
        sent_per_chat[(chat, text)] += 1
    assert max(sent_per_chat.values()) == 1, "a group received a post twice"
    assert len(receiver.events) == 500
    results = statuses(st)
    assert len(results) == 1000
    assert {status for status, kind in results.values() if kind == "webhook"} == {"sent"}
    telegram_statuses = [status for status, kind in results.values() if kind == "telegram"]
    assert set(telegram_statuses) <= {"sent", "unconfirmed"}
    assert len(telegram_statuses) == 500
    assert len(telegram.sent) >= telegram_statuses.count("sent")
