"""The dispatcher: on time, never twice, never lost; every outcome recorded."""

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from channels.outbox import OutboxChannel
from planner.channel_api import (
    OutcomeUnknownError,
    PermanentError,
    Receipt,
    RetryableError,
    Setting,
    ThrottledError,
)
from planner.models import Channel, Delivery, DeliveryAttempt, Post
from planner.registry import Registry
from planner.worker.claim import claim_due
from planner.worker.dispatcher import Dispatcher
from planner.worker.runner import DispatcherAlreadyRunning, SingleDispatcherLock
from tests.scripted_channel import ScriptedChannel


@pytest.fixture
def scripted(st):
    st.registry = Registry({"outbox": OutboxChannel, "scripted": ScriptedChannel})
    ScriptedChannel.script = []
    ScriptedChannel.sent = []
    ScriptedChannel.parts = 1
    yield ScriptedChannel
    ScriptedChannel.parts = 1


@pytest.fixture
def people(make):
    return make.user("editor"), make.user("operator")


def delivery(st, post_id):
    with st.sessions() as session:
        return session.scalars(select(Delivery).where(Delivery.post_id == post_id)).one()


def post_status(st, post_id):
    with st.sessions() as session:
        return session.get(Post, post_id).status


def attempts(st):
    with st.sessions() as session:
        return session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).all()


def test_approved_post_goes_out_at_its_time_through_the_outbox(st, make, people, clock, tick):
    editor, operator = people
    channel = make.channel("Python learners group 1")
    post_id = make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id],
                        title="Tip of the week", body="Use **f-strings**.")
    dispatcher = Dispatcher(st, worker_id="w1")

    assert dispatcher.tick().sent == 0  # not due yet
    assert delivery(st, post_id).status == "pending"

    clock.advance(hours=1)
    report = dispatcher.tick()
    assert report.outcomes == {"sent": 1}
    sent = delivery(st, post_id)
    assert (sent.status, sent.sent_at, sent.attempt_count) == ("sent", clock.now(), 1)
    assert post_status(st, post_id) == "published"
    files = list((st.instance_path / "outbox").glob("*.json"))
    assert len(files) == 1
    record = json.loads(files[0].read_text())
    assert record["message"]["title"] == "Tip of the week"
    assert record["idempotency_key"] == sent.idempotency_key
    assert [(a.worker, a.outcome) for a in attempts(st)] == [("w1", "sent")]

    clock.advance(minutes=5)
    assert dispatcher.tick().sent == 0  # nothing twice
    assert len(list((st.instance_path / "outbox").glob("*.json"))) == 1


def test_retryable_error_backs_off_with_jitter_then_succeeds(st, make, people, clock, scripted, tick):
    editor, operator = people
    channel = make.channel(kind="scripted")
    post_id = make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id])
    clock.advance(hours=1)
    scripted.script = [RetryableError("HTTP 502 from the platform")]
    tick()
    waiting = delivery(st, post_id)
    assert waiting.status == "retrying"
    assert waiting.last_error == "HTTP 502 from the platform"
    delay = waiting.next_attempt_at - clock.now()
    assert timedelta(seconds=15) <= delay <= timedelta(seconds=30)

    assert tick().sent == 0  # not before its time
    clock.advance(seconds=31)
    tick()
    done = delivery(st, post_id)
    assert (done.status, done.attempt_count, done.remote_url) == ("sent", 2, "https://example.test/1")
    assert [a.outcome for a in attempts(st)] == ["retrying", "sent"]


def test_throttle_honours_retry_after_for_the_whole_target_only(st, make, people, clock, scripted, tick):
    editor, operator = people
    busy = make.channel(kind="scripted")
    calm = make.channel(kind="outbox")
    first = make.post(editor, status="approved", reviewer=operator, channel_ids=[busy.id])
    second = make.post(editor, status="approved", reviewer=operator, channel_ids=[busy.id])
    other = make.post(editor, status="approved", reviewer=operator, channel_ids=[calm.id])
    clock.advance(hours=1)
    scripted.script = [ThrottledError("too many requests", retry_after=120)]
    tick()
    assert delivery(st, first).status == "retrying"
    assert delivery(st, first).next_attempt_at >= clock.now() + timedelta(seconds=120)
    assert delivery(st, second).status == "pending"  # the target is cooling down
    assert delivery(st, other).status == "sent"  # other targets are not held up
    with st.sessions() as session:
        assert session.get(Channel, busy.id).next_send_at == clock.now() + timedelta(seconds=120)
    clock.advance(seconds=119)
    assert tick().sent == 0


def test_permanent_error_fails_the_delivery_and_the_post(st, make, people, clock, scripted, tick):
    editor, operator = people
    post_id = make.post(editor, status="approved", reviewer=operator,
                        channel_ids=[make.channel(kind="scripted").id])
    clock.advance(hours=1)
    scripted.script = [PermanentError("errcode 93000: invalid webhook url")]
    tick()
    failed = delivery(st, post_id)
    assert (failed.status, failed.last_error) == ("failed", "errcode 93000: invalid webhook url")
    assert post_status(st, post_id) == "failed"


def test_lost_response_is_unconfirmed_where_the_platform_cannot_deduplicate(
        st, make, people, clock, scripted, tick):
    editor, operator = people
    post_id = make.post(editor, status="approved", reviewer=operator,
                        channel_ids=[make.channel(kind="scripted").id])
    clock.advance(hours=1)
    scripted.script = [OutcomeUnknownError("read timeout after sending")]
    tick()
    assert delivery(st, post_id).status == "unconfirmed"
    clock.advance(hours=1)
    tick()
    assert scripted.sent == []  # never resent blindly
    assert post_status(st, post_id) == "approved"  # waiting for an operator


def test_retries_stop_at_the_expiry(st, make, people, clock, scripted, tick):
    editor, operator = people
    now = clock.now()
    post_id = make.post(editor, status="approved", reviewer=operator, kind="greeting",
                        channel_ids=[make.channel(kind="scripted").id],
                        scheduled_at=now + timedelta(minutes=10),
                        expires_at=now + timedelta(minutes=10, seconds=10))
    clock.advance(minutes=10)
    scripted.script = [RetryableError("HTTP 503")]
    tick()
    expired = delivery(st, post_id)
    assert expired.status == "expired"
    assert "HTTP 503" in expired.last_error
    assert post_status(st, post_id) == "failed"


def test_catch_up_after_downtime_sends_what_is_still_worth_sending(st, make, people, clock, tick):
    editor, operator = people
    channel = make.channel()
    now = clock.now()
    tutorial = make.post(editor, status="approved", reviewer=operator, kind="tutorial",
                         channel_ids=[channel.id], scheduled_at=now + timedelta(hours=1))
    greeting = make.post(editor, status="approved", reviewer=operator, kind="greeting",
                         channel_ids=[channel.id], scheduled_at=now + timedelta(hours=2))
    clock.advance(hours=7)  # the machine was off; a greeting is worthless after 4 hours
    tick()
    assert delivery(st, tutorial).status == "sent"
    assert delivery(st, greeting).status == "expired"
    assert post_status(st, greeting) == "failed"


def test_rate_limit_spaces_sends_to_one_target(st, make, people, clock, tick):
    editor, operator = people
    channel = make.channel(rate_per_minute=2)
    ids = [make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id])
           for _ in range(3)]
    clock.advance(hours=1)
    tick()
    assert [delivery(st, i).status for i in ids] == ["sent", "pending", "pending"]
    clock.advance(seconds=29)
    assert tick().sent == 0
    clock.advance(seconds=1)
    tick()
    assert [delivery(st, i).status for i in ids] == ["sent", "sent", "pending"]


def test_fan_out_reaches_every_target_in_one_tick(st, make, people, clock, tick):
    editor, operator = people
    for _ in range(30):
        make.channel(tags=["python-groups"])
    post_id = make.post(editor, status="approved", reviewer=operator, tags=["python-groups"])
    clock.advance(hours=1)
    assert tick().outcomes == {"sent": 30}
    assert post_status(st, post_id) == "published"


def test_expired_lease_is_resent_where_the_platform_deduplicates(st, make, people, clock, scripted, tick):
    editor, operator = people
    idempotent = make.post(editor, status="approved", reviewer=operator,
                           channel_ids=[make.channel(kind="outbox").id])
    plain = make.post(editor, status="approved", reviewer=operator,
                      channel_ids=[make.channel(kind="scripted").id])
    clock.advance(hours=1)
    assert len(claim_due(st, "crashed-worker", clock.now(), 10)) == 2  # then the worker died
    clock.advance(seconds=st.config["LEASE_SECONDS"] + 1)
    tick(worker_id="survivor")
    assert delivery(st, idempotent).status == "sent"
    assert delivery(st, plain).status == "unconfirmed"
    outcomes = sorted((a.worker, a.outcome) for a in attempts(st))
    assert outcomes == [("crashed-worker", "lease_expired"), ("crashed-worker", "lease_expired"),
                        ("survivor", "sent")]


def test_an_outcome_is_not_recorded_without_the_lease(st, make, people, clock):
    from planner.services import delivery_outcomes
    from planner.services.delivery_outcomes import Finished, Outcome

    editor, operator = people
    post_id = make.post(editor, status="approved", reviewer=operator,
                        channel_ids=[make.channel().id])
    clock.advance(hours=1)
    [delivery_id] = claim_due(st, "slow-worker", clock.now(), 10)
    with st.sessions() as session, session.begin():
        session.execute(update(Delivery).values(lease_owner="someone-else"))
    with st.sessions() as session, session.begin():
        assert not delivery_outcomes.record_outcomes(
            session, "slow-worker", [Finished(delivery_id, Outcome("sent"), clock.now())], max_attempts=8)
    assert delivery(st, post_id).status == "sending"


def test_stopping_releases_claimed_but_unsent_deliveries(st, make, people, clock):
    editor, operator = people
    channel = make.channel()
    post_id = make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id])
    clock.advance(hours=1)
    dispatcher = Dispatcher(st, worker_id="w1")
    claimed = claim_due(st, "w1", clock.now(), 10)
    dispatcher._release(claimed)
    released = delivery(st, post_id)
    assert (released.status, released.attempt_count, released.lease_owner) == ("pending", 0, None)
    assert [a.outcome for a in attempts(st)] == ["released"]


def test_two_dispatchers_at_once_never_send_twice(st, make, people, clock, tick):
    editor, operator = people
    channels = [make.channel() for _ in range(8)]
    ids = [make.post(editor, status="approved", reviewer=operator,
                     channel_ids=[c.id for c in channels]) for _ in range(5)]
    clock.advance(hours=1)
    errors = []

    def work(name):
        try:
            for _ in range(10):
                tick(worker_id=name)
                clock.advance(seconds=1)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with st.sessions() as session:
        assert session.scalar(select(func.count()).select_from(DeliveryAttempt)) == 40
        statuses = set(session.scalars(select(Delivery.status)))
    assert statuses == {"sent"}
    assert {post_status(st, i) for i in ids} == {"published"}
    assert len(list((st.instance_path / "outbox").glob("*.json"))) == 40


def test_only_one_dispatcher_may_run_on_sqlite(tmp_path):
    from planner import create_app
    from planner.state import state

    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x",
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'one.sqlite3'}"})
    first, second = SingleDispatcherLock(state(app)), SingleDispatcherLock(state(app))
    first.acquire()
    try:
        with pytest.raises(DispatcherAlreadyRunning, match="exactly one"):
            second.acquire()
    finally:
        first.release()
    second.acquire()
    second.release()
    state(app).engine.dispose()


def test_heartbeat_shows_on_healthz_and_goes_stale(st, client, clock):
    assert client.get("/healthz").json["worker"]["alive"] is False
    dispatcher = Dispatcher(st, worker_id="w1")
    dispatcher.heartbeat()
    health = client.get("/healthz").json
    assert health["worker"] == {"alive": True, "last_heartbeat": clock.now().isoformat(),
                                "worker_id": "w1"}
    assert (health["status"], health["db"]["ok"]) == ("ok", True)
    clock.advance(minutes=2)
    assert client.get("/healthz").json["worker"]["alive"] is False
    dispatcher.heartbeat(stopped=True)
    assert client.get("/healthz").json["worker"]["worker_id"] is None


def test_operator_retries_and_resolves_through_the_api(st, make, people, clock, scripted, client, tick):
    from planner.services import users

    editor, operator = people
    failed = make.post(editor, status="approved", reviewer=operator,
                       channel_ids=[make.channel(kind="scripted").id])
    unknown = make.post(editor, status="approved", reviewer=operator,
                        channel_ids=[make.channel(kind="scripted").id],
                        scheduled_at=clock.now() + timedelta(hours=2))
    clock.advance(hours=1)
    scripted.script = [PermanentError("chat not found")]
    tick()
    clock.advance(hours=1)
    scripted.script = [OutcomeUnknownError("connection reset")]
    tick()
    with st.sessions() as session, session.begin():
        token = users.create_token(session, session.merge(operator), now=clock.now())
    headers = {"Authorization": f"Bearer {token}"}

    retried = client.post(f"/api/v1/deliveries/{delivery(st, failed).id}/retry", headers=headers)
    assert retried.json["status"] == "retrying"
    scripted.script = [Receipt("9", "https://example.test/9")]
    clock.advance(seconds=1)  # the target's rate limit spaces sends
    tick()
    assert (delivery(st, failed).status, post_status(st, failed)) == ("sent", "published")

    resolved = client.post(f"/api/v1/deliveries/{delivery(st, unknown).id}/resolve",
                           headers=headers, json={"outcome": "sent"})
    assert resolved.json["status"] == "sent"
    assert post_status(st, unknown) == "published"
    again = client.post(f"/api/v1/deliveries/{delivery(st, unknown).id}/resolve",
                        headers=headers, json={"outcome": "sent"})
    assert again.status_code == 409
    bad = client.post(f"/api/v1/deliveries/{delivery(st, unknown).id}/resolve",
                      headers=headers, json={"outcome": "maybe"})
    assert bad.status_code == 422 and "outcome" in bad.json["error"]["fields"]


@pytest.fixture
def confirming(st):
    from tests.scripted_channel import ConfirmingChannel

    st.registry = Registry({"outbox": OutboxChannel, "confirming": ConfirmingChannel})
    ConfirmingChannel.script, ConfirmingChannel.sent = [], []
    ConfirmingChannel.published, ConfirmingChannel.asked = {}, []
    return ConfirmingChannel


@pytest.mark.parametrize("got_through", [True, False])
def test_confirmable_platform_is_asked_before_a_resend(st, make, people, clock, confirming,
                                                       got_through, tick):
    editor, operator = people
    post_id = make.post(editor, status="approved", reviewer=operator,
                        channel_ids=[make.channel(kind="confirming").id])
    clock.advance(hours=1)
    confirming.script = [OutcomeUnknownError("HTTP 502 after the forum accepted the post")]
    tick()
    waiting = delivery(st, post_id)
    assert waiting.status == "retrying"
    if got_through:
        confirming.published[waiting.idempotency_key] = Receipt("567", "https://forum.test/t/567")
    clock.advance(minutes=5)
    tick()
    done = delivery(st, post_id)
    assert confirming.asked == [done.idempotency_key]
    assert done.status == "sent"
    if got_through:
        assert confirming.sent == [] and done.remote_url == "https://forum.test/t/567"
    else:
        assert [key for key, _text in confirming.sent] == [done.idempotency_key]


def test_a_split_post_uses_the_targets_rate_for_every_part(st, make, people, clock, scripted, tick):
    editor, operator = people
    channel = make.channel(kind="scripted", rate_per_minute=20)  # one message every 3 seconds
    first = make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id])
    second = make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id])
    clock.advance(hours=1)
    scripted.parts = 3
    tick()
    assert delivery(st, first).parts_sent == 3 and delivery(st, first).status == "sent"
    assert [key for key, _text in scripted.sent] == [
        f"{delivery(st, first).idempotency_key}-p{n}" for n in (1, 2, 3)]
    clock.advance(seconds=8)  # three messages need nine seconds at this rate
    assert tick().sent == 0 and delivery(st, second).status == "pending"
    clock.advance(seconds=1)
    tick()
    assert delivery(st, second).status == "sent"


def test_a_failed_part_resumes_after_the_parts_already_sent(st, make, people, clock, scripted, tick):
    editor, operator = people
    post_id = make.post(editor, status="approved", reviewer=operator,
                        channel_ids=[make.channel(kind="scripted").id])
    clock.advance(hours=1)
    scripted.parts = 3
    scripted.script = [Receipt("1"), RetryableError("HTTP 503 on part 2")]
    tick()
    assert (delivery(st, post_id).status, delivery(st, post_id).parts_sent) == ("retrying", 1)
    clock.advance(minutes=5)
    tick()
    key = delivery(st, post_id).idempotency_key
    assert delivery(st, post_id).status == "sent"
    assert [k for k, _text in scripted.sent] == [f"{key}-p1", f"{key}-p2", f"{key}-p3"]


class KeyedChannel(ScriptedChannel):
    name = "keyed"
    settings_schema = (Setting("webhook_url", "Webhook URL", secret=True),)


def keyed_channel(st, clock):
    from planner.services.channels import create_channel

    st.registry = Registry({"outbox": OutboxChannel, "keyed": KeyedChannel})
    with st.sessions() as session, session.begin():
        return create_channel(
            session, st.registry, st.secret_box, kind="keyed", name="Keyed group",
            settings={"webhook_url": "https://robot.test/send?key=s3cr3t-robot-key-1234"},
            tags=[], actor="test", now=clock.now())


def test_platform_messages_that_quote_a_secret_are_stored_redacted(st, make, people, clock,
                                                                   scripted, tick):
    editor, operator = people
    channel = keyed_channel(st, clock)
    post_id = make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id])
    clock.advance(hours=1)
    scripted.script = [PermanentError(
        "errcode 93000: invalid webhook url https://robot.test/send?key=s3cr3t-robot-key-1234")]
    tick()
    stored = delivery(st, post_id)
    assert stored.status == "failed" and "s3cr3t-robot-key-1234" not in stored.last_error
    with st.sessions() as session:
        attempt_messages = [a.message for a in session.scalars(select(DeliveryAttempt))]
    assert not any("s3cr3t-robot-key-1234" in (m or "") for m in attempt_messages)


def test_a_plugin_bug_is_logged_redacted_with_its_delivery(st, make, people, clock, scripted, tick,
                                                           caplog):
    """A plugin that calls ``requests`` itself leaks the webhook URL, key and all, in its error."""
    import requests

    editor, operator = people
    channel = keyed_channel(st, clock)
    post_id = make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id])
    clock.advance(hours=1)
    scripted.script = [requests.ConnectionError(
        "HTTPSConnectionPool(host='robot.test', port=443): Max retries exceeded with url: "
        "/send?key=s3cr3t-robot-key-1234")]
    with caplog.at_level("INFO"):
        tick()
    stored = delivery(st, post_id)
    assert stored.status == "unconfirmed"  # it may have posted: a person decides
    assert "Max retries exceeded" in stored.last_error
    assert "s3cr3t-robot-key-1234" not in caplog.text + stored.last_error  # nor any traceback
    [logged] = [r for r in caplog.records if "unexpected error" in r.getMessage()]
    assert f"delivery {stored.id}" in logged.getMessage() and logged.exc_info is None


def test_a_fan_out_is_rendered_once_per_kind_and_rendering_settings(st, make, people, clock,
                                                                    scripted, tick):
    renders = []

    class Counted(ScriptedChannel):
        name = "counted"
        render_settings = ("format",)  # reads this setting only

        def render(self, post):
            renders.append(self.settings.get("format"))
            return super().render(post)

    class PerChannel(Counted):
        name = "per-channel"
        render_settings = None  # may read any setting: rendered for each channel

    Counted.settings_schema = (Setting("format", "Format", required=False),)
    st.registry = Registry({"outbox": OutboxChannel, "counted": Counted, "per-channel": PerChannel})
    editor, operator = people
    from planner.services.channels import create_channel

    def channel(kind, name, settings):
        with st.sessions() as session, session.begin():
            return create_channel(session, st.registry, st.secret_box, kind=kind, name=name,
                                  settings=settings, tags=[], actor="test", now=clock.now())

    targets = [channel("counted", f"Group {n}", {"format": f}) for n, f in enumerate("aaab")]
    targets += [channel("per-channel", f"Other {n}", {}) for n in range(3)]
    post_id = make.post(editor, status="approved", reviewer=operator,
                        channel_ids=[c.id for c in targets])
    clock.advance(hours=1)
    assert tick().outcomes == {"sent": 7}
    # Once for the three channels set to "a", once for "b", once for each per-channel one.
    assert sorted(renders, key=str) == [None, None, None, "a", "b"]
    assert post_status(st, post_id) == "published"
