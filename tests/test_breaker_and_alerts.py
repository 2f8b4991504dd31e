"""A failing target rests behind its circuit breaker; failed and unconfirmed deliveries raise alerts."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from channels.outbox import OutboxChannel
from planner.channel_api import OutcomeUnknownError, PermanentError, RetryableError
from planner.models import Alert, AuditEntry, Channel, Delivery, Post
from planner.registry import Registry
from planner.services import deliveries, users, workspace
from tests.scripted_channel import ScriptedChannel


@pytest.fixture
def scripted(st):
    st.registry = Registry({"outbox": OutboxChannel, "scripted": ScriptedChannel})
    ScriptedChannel.script, ScriptedChannel.sent = [], []
    return ScriptedChannel


@pytest.fixture
def people(make):
    return make.user("editor"), make.user("operator")


def row(st, model, key):
    with st.sessions() as session:
        return session.get(model, key)


def delivery_of(st, post_id):
    with st.sessions() as session:
        return session.scalars(select(Delivery).where(Delivery.post_id == post_id)).one()


def test_repeated_failures_open_the_breaker_and_a_success_closes_it(
        st, make, people, clock, scripted, tick):
    editor, operator = people
    broken = make.channel(kind="scripted")
    healthy = make.channel(kind="outbox")
    post_id = make.post(editor, status="approved", reviewer=operator, channel_ids=[broken.id])
    clock.advance(hours=1)
    scripted.script = [RetryableError(f"HTTP 503 #{n}") for n in range(5)]
    for attempt in range(5):
        if attempt:
            clock.advance(minutes=10)  # past any backoff
        tick()
    channel = row(st, Channel, broken.id)
    assert channel.consecutive_failures == 5
    assert channel.breaker_open_until is not None
    assert delivery_of(st, post_id).status == "retrying"

    # While it rests nothing is sent to it, and other targets are not held up.
    channel_rest = channel.breaker_open_until - clock.now()
    assert timedelta(0) < channel_rest <= timedelta(minutes=1)
    other = make.post(editor, status="approved", reviewer=operator, channel_ids=[healthy.id],
                      scheduled_at=clock.now() + timedelta(seconds=1))
    clock.advance(seconds=2)
    report = tick()
    assert report.outcomes == {"sent": 1} and delivery_of(st, other).status == "sent"
    assert scripted.sent == []

    retry_at = max(channel.breaker_open_until, delivery_of(st, post_id).next_attempt_at)
    clock.set(retry_at + timedelta(seconds=1))
    tick()
    assert delivery_of(st, post_id).status == "sent"
    channel = row(st, Channel, broken.id)
    assert (channel.consecutive_failures, channel.breaker_open_until) == (0, None)
    with st.sessions() as session:
        assert session.scalars(select(AuditEntry.action).where(
            AuditEntry.action == "channel.breaker_open")).all() == ["channel.breaker_open"]


def test_permanent_errors_do_not_trip_the_breaker(st, make, people, clock, scripted, tick):
    editor, operator = people
    channel = make.channel(kind="scripted")
    for _ in range(6):
        make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id])
    clock.advance(hours=1)
    scripted.script = [PermanentError("title too short")] * 6
    for _ in range(6):
        tick()
        clock.advance(seconds=1)
    assert row(st, Channel, channel.id).breaker_open_until is None


def set_alerts_channel(st, channel_id):
    with st.sessions() as session, session.begin():
        workspace.put(session, "alerts_channel_id", channel_id, actor="test", now=st.clock.now())


def test_failed_and_unconfirmed_deliveries_alert_the_operators(
        st, make, people, clock, scripted, tick):
    editor, operator = people
    alerts_channel = make.channel("Operators", kind="outbox")
    set_alerts_channel(st, alerts_channel.id)
    failed = make.post(editor, status="approved", reviewer=operator, title="Weekly tip",
                       channel_ids=[make.channel("Group A", kind="scripted").id])
    unknown = make.post(editor, status="approved", reviewer=operator, title="Vote today",
                        channel_ids=[make.channel("Group B", kind="scripted").id],
                        scheduled_at=clock.now() + timedelta(hours=2))
    clock.advance(hours=1)
    scripted.script = [PermanentError("errcode 93000: invalid webhook url")]
    report = tick()
    assert report.alerts == 1
    clock.advance(hours=1)
    scripted.script = [OutcomeUnknownError("connection reset after sending")]
    tick()
    with st.sessions() as session:
        rows = session.scalars(select(Alert).order_by(Alert.id)).all()
    assert [(a.delivery_id, a.status) for a in rows] == [
        (delivery_of(st, failed).id, "sent"), (delivery_of(st, unknown).id, "sent")]
    files = sorted((st.instance_path / "outbox").glob("planner-alert-*.json"))
    texts = [json.loads(f.read_text(encoding="utf-8"))["message"]["text"] for f in files]
    assert "“Weekly tip” to Group A is failed: errcode 93000: invalid webhook url" in texts[0]
    assert "“Vote today” to Group B is unconfirmed" in texts[1]


def test_no_alerts_channel_means_no_alerts(st, make, people, clock, scripted, tick):
    editor, operator = people
    make.post(editor, status="approved", reviewer=operator,
              channel_ids=[make.channel(kind="scripted").id])
    clock.advance(hours=1)
    scripted.script = [PermanentError("chat not found")]
    assert tick().alerts == 0
    with st.sessions() as session:
        assert session.scalars(select(Alert)).all() == []


def test_an_alert_that_cannot_be_sent_is_retried(st, make, people, clock, scripted, tick):
    editor, operator = people
    alerts_channel = make.channel("Operators", kind="scripted")
    set_alerts_channel(st, alerts_channel.id)
    make.post(editor, status="approved", reviewer=operator,
              channel_ids=[make.channel(kind="scripted").id])
    clock.advance(hours=1)
    scripted.script = [PermanentError("chat not found"), RetryableError("alerts robot is down")]
    tick()
    with st.sessions() as session:
        alert = session.scalars(select(Alert)).one()
    assert (alert.status, alert.attempt_count, alert.last_error) == (
        "pending", 1, "alerts robot is down")
    clock.advance(minutes=3)
    tick()
    assert row(st, Alert, alert.id).status == "sent"
    assert len(scripted.sent) == 1 and "chat not found" in scripted.sent[0][1]


def test_operator_cancels_what_should_not_go_out(st, make, people, clock, scripted, client):
    editor, operator = people
    post_id = make.post(editor, status="approved", reviewer=operator,
                        channel_ids=[make.channel(kind="scripted").id])
    clock.advance(hours=1)
    with st.sessions() as session, session.begin():
        token = users.create_token(session, session.merge(operator), now=clock.now())
        editor_token = users.create_token(session, session.merge(editor), now=clock.now())
    delivery_id = delivery_of(st, post_id).id
    denied = client.post(f"/api/v1/deliveries/{delivery_id}/cancel",
                         headers={"Authorization": f"Bearer {editor_token}"})
    assert denied.status_code == 403
    response = client.post(f"/api/v1/deliveries/{delivery_id}/cancel",
                           headers={"Authorization": f"Bearer {token}"})
    assert response.json["status"] == "canceled"
    assert row(st, Post, post_id).status == "canceled"  # nothing left to send
    again = client.post(f"/api/v1/deliveries/{delivery_id}/cancel",
                        headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 409


def test_canceling_the_failed_part_of_a_fan_out_publishes_the_rest(st, make, people, clock,
                                                                   scripted, tick):
    editor, operator = people
    post_id = make.post(editor, status="approved", reviewer=operator,
                        channel_ids=[make.channel(kind="scripted").id,
                                     make.channel(kind="outbox").id])
    clock.advance(hours=1)
    scripted.script = [PermanentError("bot was blocked by the user")]
    tick()
    assert row(st, Post, post_id).status == "failed"
    with st.sessions() as session, session.begin():
        failed = session.scalars(select(Delivery).where(Delivery.status == "failed")).one()
        deliveries.cancel_delivery(session, session.merge(operator), failed, now=clock.now())
    assert row(st, Post, post_id).status == "published"


def test_admin_chooses_the_alerts_channel_in_settings(st, make, auth, client):
    admin = make.user("admin")
    channel = make.channel("Operators")
    auth.login(admin.email)
    token = auth.token("/settings")
    form = {"csrf_token": token, "community_name": "Python learners", "timezone": "Asia/Shanghai",
            "alerts_channel_id": str(channel.id)}
    assert b"Settings saved." in client.post("/settings", data=form, follow_redirects=True).data
    with st.sessions() as session:
        assert workspace.get(session, "alerts_channel_id", None) == channel.id
    bad = client.post("/settings", data=form | {"alerts_channel_id": "9999"})
    assert bad.status_code == 422
    with st.sessions() as session:
        assert workspace.get(session, "alerts_channel_id", None) == channel.id


def test_deleting_the_alerts_channel_clears_the_setting(st, make):
    from planner.services.channels import delete_channel

    channel = make.channel("Operators")
    set_alerts_channel(st, channel.id)
    with st.sessions() as session, session.begin():
        delete_channel(session, session.get(Channel, channel.id), actor="test", now=st.clock.now())
    with st.sessions() as session:
        assert workspace.get(session, "alerts_channel_id", None) is None
