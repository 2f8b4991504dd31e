"""POST /api/v1/posts/{id}/move: who may move what, an approved post stays approved with its deliveries
moved, every move is audited, and a refused move writes nothing."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from planner.errors import ValidationFailed
from planner.models import AuditEntry, Delivery, Post, User
from planner.services import schedule
from planner.services.checks import checker_for

NOV_24 = datetime(2026, 11, 24, tzinfo=UTC)


def snapshot(st, post_id):
    """The post's time, status and expiry, its deliveries' times, and how many audit rows exist."""
    with st.sessions() as session:
        post = session.get(Post, post_id)
        deliveries = [(d.status, d.due_at, d.next_attempt_at, d.expires_at) for d in session.scalars(
            select(Delivery).where(Delivery.post_id == post_id).order_by(Delivery.id))]
        audits = session.scalar(select(func.count()).select_from(AuditEntry))
        return (post.status, post.scheduled_at, post.expires_at, deliveries, audits)


def signed_in(api, *people):
    """Issue each person's API token now, so its audit row is not counted as the move's."""
    for person in people:
        assert api("GET", "/calendar/unscheduled", person).status_code == 200


def move(api, user, post_id, when):
    return api("POST", f"/posts/{post_id}/move", user, json={"scheduled_at": when})


def test_editor_moves_own_draft_and_the_move_is_audited(st, make, api):
    editor = make.user("editor")
    post_id = make.post(editor, scheduled_at=NOV_24 + timedelta(hours=1))
    response = move(api, editor, post_id, "2026-11-26T14:30:00+08:00")
    assert response.status_code == 200, response.json
    assert (response.json["id"], response.json["status"], response.json["scheduled_at"]) == (
        post_id, "draft", "2026-11-26T14:30:00+08:00")
    with st.sessions() as session:
        assert session.get(Post, post_id).scheduled_at == datetime(2026, 11, 26, 6, 30, tzinfo=UTC)
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "post.move")).one()
        assert (entry.actor_id, entry.subject_id, entry.data) == (editor.id, post_id, {
            "status": "draft", "scheduled_before": "2026-11-24T01:00:00+00:00",
            "scheduled_after": "2026-11-26T06:30:00+00:00"})


def test_a_draft_without_a_time_gets_one(st, make, api):
    editor = make.user("editor")
    post_id = make.post(editor, scheduled_at=None)
    assert move(api, editor, post_id, "2026-11-25T09:00:00+08:00").status_code == 200
    with st.sessions() as session:
        assert session.get(Post, post_id).scheduled_at == datetime(2026, 11, 25, 1, tzinfo=UTC)


def test_approved_post_stays_approved_and_its_deliveries_follow(st, make, api):
    editor, operator = make.user("editor"), make.user("operator")
    channels = [make.channel().id, make.channel().id]
    post_id = make.post(editor, status="approved", reviewer=operator, channel_ids=channels,
                        scheduled_at=NOV_24, expires_at=NOV_24 + timedelta(hours=2))
    response = move(api, operator, post_id, "2026-11-25T00:00:00Z")
    assert response.status_code == 200, response.json
    assert response.json["status"] == "approved"
    later = NOV_24 + timedelta(days=1)
    status, scheduled, expires, deliveries, _audits = snapshot(st, post_id)
    assert (status, scheduled, expires) == ("approved", later, later + timedelta(hours=2))
    assert deliveries == [("pending", later, later, later + timedelta(hours=2))] * 2
    with st.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "post.move")).one()
        assert entry.actor_id == operator.id and entry.data["status"] == "approved"


@pytest.mark.parametrize(("who", "status", "code", "message"), [
    ("other editor", "draft", 403, "you may only move your own posts"),
    ("author", "approved", 403, "post {id} is approved; only an operator may move it"),
    ("operator", "canceled", 409, "post {id} is canceled; it can no longer be moved"),
    ("operator", "expired", 409, "post {id} is expired; it can no longer be moved"),
    ("operator", "sending", 409, "post {id} is already being published; it can no longer be moved"),
])
def test_refused_moves_say_why_and_write_nothing(st, make, api, who, status, code, message):
    author, other, operator = make.user("editor"), make.user("editor"), make.user("operator")
    channel = make.channel()
    post_id = make.post(author, channel_ids=[channel.id], reviewer=operator,
                        status="approved" if status in ("approved", "sending") else "draft")
    with st.sessions() as session, session.begin():
        if status in ("canceled", "expired"):
            session.get(Post, post_id).status = status
        if status == "sending":  # the dispatcher has claimed its delivery
            session.execute(update(Delivery).where(Delivery.post_id == post_id)
                            .values(status="sending"))
    caller = {"other editor": other, "author": author, "operator": operator}[who]
    signed_in(api, caller)
    before = snapshot(st, post_id)
    response = move(api, caller, post_id, "2026-11-27T10:00:00+08:00")
    assert response.status_code == code
    assert response.json["error"]["message"] == message.format(id=post_id)
    assert snapshot(st, post_id) == before


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"scheduled_at": "2026-11-22T10:00:00+08:00"}, "scheduled_at", "the publish time is in the past"),
    ({"scheduled_at": "2026-11-27T10:00:00"}, "scheduled_at", "Input should have timezone info"),
    ({"scheduled_at": "next tuesday"}, "scheduled_at",
     "Input should be a valid datetime or date, invalid character in year"),
    ({}, "scheduled_at", "Field required"),
    ({"scheduled_at": "2026-11-27T10:00:00Z", "title": "x"}, "title", "Extra inputs are not permitted"),
])
def test_bad_times_are_a_422_and_write_nothing(st, make, api, body, field, message):
    editor = make.user("editor")
    post_id = make.post(editor)
    signed_in(api, editor)
    before = snapshot(st, post_id)
    response = api("POST", f"/posts/{post_id}/move", editor, json=body)
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {field: message}
    assert snapshot(st, post_id) == before


def test_unknown_post_and_anonymous_caller(make, api):
    editor = make.user("editor")
    missing = move(api, editor, 4242, "2026-11-27T10:00:00Z")
    assert (missing.status_code, missing.json["error"]["message"]) == (404, "post 4242 does not exist")
    assert api("POST", "/posts/1/move", json={"scheduled_at": "2026-11-27T10:00:00Z"}).status_code == 401


def test_a_browser_session_needs_the_csrf_header(st, make, auth, client):
    editor = make.user("editor")
    post_id = make.post(editor)
    auth.login(editor.email)
    body = {"scheduled_at": "2026-11-27T10:00:00+08:00"}
    refused = client.post(f"/api/v1/posts/{post_id}/move", json=body)
    assert refused.status_code == 400
    token = auth.token("/account")
    moved = client.post(f"/api/v1/posts/{post_id}/move", json=body, headers={"X-CSRFToken": token})
    assert moved.status_code == 200 and moved.json["scheduled_at"] == "2026-11-27T10:00:00+08:00"


def test_the_service_refuses_a_time_without_an_offset(app, st, make):
    editor = make.user("editor")
    post_id = make.post(editor)
    with app.test_request_context(), st.sessions() as session:
        post, user = session.get(Post, post_id), session.get(User, editor.id)
        with pytest.raises(ValidationFailed) as refused:
            schedule.reschedule_post(session, user, post, datetime(2026, 11, 27, 10),
                                     now=st.clock.now(), checker=checker_for(st, session))
        assert refused.value.fields == {
            "scheduled_at": "give a timezone offset, e.g. 2026-11-23T08:00:00+08:00"}


# ---- the posting rules, checked again when an approved post moves --------------------------------

def rules(st, per_day=0, gap=0):
    from planner.services import workspace

    with st.sessions() as session, session.begin():
        workspace.put_posting_rules(session, workspace.PostingRules((), per_day, gap),
                                    actor="test", now=st.clock.now())


@pytest.fixture
def busy_day(st, make):
    """An approved post at 10:00 (Shanghai) on 27 November, and one to move, on the same channel."""
    editor, operator = make.user("editor"), make.user("operator")
    group = make.channel("Python learners")
    make.post(editor, status="approved", reviewer=operator, title="Already there",
              channel_ids=[group.id], scheduled_at=datetime(2026, 11, 27, 2, tzinfo=UTC))
    moving = make.post(editor, status="approved", reviewer=operator, title="Decorators",
                       channel_ids=[group.id], scheduled_at=NOV_24)
    return moving, group, (editor, operator)


def test_a_move_onto_a_full_day_is_refused_with_the_finding(st, api, busy_day):
    moving, group, (_editor, operator) = busy_day
    rules(st, per_day=1)
    signed_in(api, operator)
    before = snapshot(st, moving)
    refused = move(api, operator, moving, "2026-11-27T20:00:00+08:00")
    assert refused.status_code == 422
    assert refused.json["error"] == {
        "code": "validation_failed",
        "message": "the new time breaks the community's posting rules",
        "fields": {f"checks.too_many_that_day.{group.id}": (
            "Python learners already has 1 post(s) on 2026-11-27 (Asia/Shanghai); the community's "
            "rules allow at most 1 a day")}}
    assert snapshot(st, moving) == before  # still approved, at its old time, deliveries untouched
    # Another day is fine, and the post keeps its approval.
    moved = move(api, operator, moving, "2026-11-28T20:00:00+08:00")
    assert (moved.status_code, moved.json["status"]) == (200, "approved")


def test_a_move_too_close_to_another_post_is_refused(st, api, busy_day):
    moving, group, (_editor, operator) = busy_day
    rules(st, gap=60)
    signed_in(api, operator)
    before = snapshot(st, moving)
    refused = move(api, operator, moving, "2026-11-27T10:30:00+08:00")
    assert refused.status_code == 422
    assert refused.json["error"]["fields"] == {f"checks.too_close.{group.id}": (
        "Python learners: “Already there” goes out at 2026-11-27 10:00, 30 minutes from this post; "
        "the community's rules ask for at least 60 minutes between posts")}
    assert snapshot(st, moving) == before
    assert move(api, operator, moving, "2026-11-27T11:00:00+08:00").status_code == 200


def test_drafts_move_freely_their_checks_run_at_approval(st, make, api, busy_day):
    _moving, group, (editor, _operator) = busy_day
    rules(st, per_day=1, gap=60)
    draft = make.post(editor, channel_ids=[group.id])
    moved = move(api, editor, draft, "2026-11-27T10:00:00+08:00")
    assert (moved.status_code, moved.json["status"]) == (200, "draft")


def test_editing_only_the_time_of_an_approved_post_is_checked_the_same_way(st, api, busy_day):
    moving, group, (_editor, operator) = busy_day
    rules(st, per_day=1)
    signed_in(api, operator)
    before = snapshot(st, moving)
    refused = api("PATCH", f"/posts/{moving}", operator,
                  json={"scheduled_at": "2026-11-27T20:00:00+08:00"})
    assert refused.status_code == 422
    assert list(refused.json["error"]["fields"]) == [f"checks.too_many_that_day.{group.id}"]
    assert snapshot(st, moving) == before
    # A new text goes back to review, where approval runs every check again.
    rewritten = api("PATCH", f"/posts/{moving}", operator,
                    json={"scheduled_at": "2026-11-27T20:00:00+08:00", "body": "New text"})
    assert (rewritten.status_code, rewritten.json["status"]) == (200, "in_review")
