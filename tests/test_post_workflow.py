"""The post status machine, through the services, with its audit trail."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from planner.errors import Conflict, PermissionDenied, ValidationFailed
from planner.models import AuditEntry, Delivery, Post, Review
from planner.services import posts
from planner.services.posts import PostInput


def load(st, post_id):
    with st.sessions() as session:
        return session.get(Post, post_id)


def run(st, fn, *args, **kwargs):
    """Run a transition in its own transaction, the way views and the API do."""
    with st.sessions() as session, session.begin():
        post = session.get(Post, kwargs.pop("post_id"))
        args = [session.merge(a) for a in args]
        return fn(session, *args, post, now=st.clock.now(), **kwargs)


def audit_actions(st, post_id):
    with st.sessions() as session:
        return list(session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject_type == "post",
                                            AuditEntry.subject_id == post_id)
            .order_by(AuditEntry.id)))


def test_draft_to_published_path_is_audited(st, make):
    editor, operator = make.user("editor"), make.user("operator")
    channel = make.channel()
    post_id = make.post(editor, channel_ids=[channel.id])
    run(st, posts.submit, editor, post_id=post_id)
    assert load(st, post_id).status == "in_review"
    run(st, posts.approve, operator, post_id=post_id, allow_self_approval=False, comment="ok")
    post = load(st, post_id)
    assert post.status == "approved"
    with st.sessions() as session:
        deliveries = session.scalars(select(Delivery).where(Delivery.post_id == post_id)).all()
        assert [(d.channel_id, d.status, d.due_at) for d in deliveries] == [
            (channel.id, "pending", post.scheduled_at)]
        review = session.scalars(select(Review)).one()
        assert (review.decision, review.comment, review.reviewer_id) == ("approved", "ok", operator.id)
    assert audit_actions(st, post_id) == ["post.create", "post.submit", "post.approve"]


def test_reject_returns_to_draft_with_comment_and_needs_one(st, make):
    editor, operator = make.user("editor"), make.user("operator")
    post_id = make.post(editor, status="in_review", channel_ids=[make.channel().id])
    with pytest.raises(ValidationFailed) as error:
        run(st, posts.reject, operator, post_id=post_id, allow_self_approval=False, comment="  ")
    assert "comment" in error.value.fields
    run(st, posts.reject, operator, post_id=post_id, allow_self_approval=False,
        comment="Please add the source link.")
    assert load(st, post_id).status == "draft"
    with st.sessions() as session:
        assert session.scalars(select(Review.comment)).one() == "Please add the source link."


def test_author_may_not_approve_own_post_unless_allowed(st, make):
    operator = make.user("operator")
    post_id = make.post(operator, status="in_review", channel_ids=[make.channel().id])
    with pytest.raises(PermissionDenied, match="another operator"):
        run(st, posts.approve, operator, post_id=post_id, allow_self_approval=False)
    assert load(st, post_id).status == "in_review"
    run(st, posts.approve, operator, post_id=post_id, allow_self_approval=True)
    assert load(st, post_id).status == "approved"


def test_editors_cannot_approve(st, make):
    editor, other = make.user("editor"), make.user("editor")
    post_id = make.post(editor, status="in_review", channel_ids=[make.channel().id])
    with pytest.raises(PermissionDenied, match="only operators"):
        run(st, posts.approve, other, post_id=post_id, allow_self_approval=True)


def test_approving_a_draft_is_a_conflict(st, make):
    editor, operator = make.user("editor"), make.user("operator")
    post_id = make.post(editor, channel_ids=[make.channel().id])
    with pytest.raises(Conflict, match="not in review"):
        run(st, posts.approve, operator, post_id=post_id, allow_self_approval=False)


def test_submit_needs_time_and_targets(st, make):
    editor = make.user("editor")
    post_id = make.post(editor, scheduled_at=None)
    with pytest.raises(ValidationFailed) as error:
        run(st, posts.submit, editor, post_id=post_id)
    assert set(error.value.fields) == {"scheduled_at", "channel_ids"}
    assert load(st, post_id).status == "draft"


def test_tags_fan_out_to_enabled_channels_carrying_them(st, make):
    editor, operator = make.user("editor"), make.user("operator")
    a = make.channel(tags=["python-groups"])
    b = make.channel(tags=["python-groups", "forum"])
    make.channel(tags=["python-groups"], enabled=False)
    make.channel(tags=["other"])
    post_id = make.post(editor, status="approved", reviewer=operator, tags=["python-groups"])
    with st.sessions() as session:
        targets = session.scalars(select(Delivery.channel_id).where(Delivery.post_id == post_id))
        assert sorted(targets) == [a.id, b.id]


def test_editing_content_of_approved_post_returns_it_to_review(st, make):
    editor, operator = make.user("editor"), make.user("operator")
    channel = make.channel()
    post_id = make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id])
    post = load(st, post_id)
    data = PostInput(kind=post.kind, title=post.title, body="A better body.",
                     scheduled_at=post.scheduled_at, channel_ids=[channel.id])
    with st.sessions() as session, session.begin():
        posts.update_post(session, session.merge(editor), session.get(Post, post_id), data,
                          now=st.clock.now())
    post = load(st, post_id)
    assert (post.status, post.revision) == ("in_review", 2)
    with st.sessions() as session:
        assert session.scalars(select(Delivery.status)).all() == ["canceled"]
    # Re-approval reuses the delivery row with a fresh idempotency key for the new content.
    run(st, posts.approve, operator, post_id=post_id, allow_self_approval=False)
    with st.sessions() as session:
        delivery = session.scalars(select(Delivery)).one()
        assert (delivery.status, delivery.idempotency_key.endswith("-r2")) == ("pending", True)


def test_moving_an_approved_post_keeps_approval_and_moves_deliveries(st, make):
    editor, operator = make.user("editor"), make.user("operator")
    channel = make.channel()
    post_id = make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id])
    post = load(st, post_id)
    later = post.scheduled_at + timedelta(days=1)
    data = PostInput(kind=post.kind, title=post.title, body=post.body, scheduled_at=later,
                     channel_ids=[channel.id])
    with st.sessions() as session, session.begin():
        posts.update_post(session, session.merge(editor), session.get(Post, post_id), data,
                          now=st.clock.now())
    assert load(st, post_id).status == "approved"
    with st.sessions() as session:
        assert session.scalars(select(Delivery.due_at)).one() == later


def test_cancel_cancels_waiting_deliveries(st, make):
    editor, operator = make.user("editor"), make.user("operator")
    post_id = make.post(editor, status="approved", reviewer=operator,
                        channel_ids=[make.channel().id, make.channel().id])
    with pytest.raises(PermissionDenied):
        run(st, posts.cancel, editor, post_id=post_id)
    run(st, posts.cancel, operator, post_id=post_id, comment="event postponed")
    assert load(st, post_id).status == "canceled"
    with st.sessions() as session:
        assert set(session.scalars(select(Delivery.status))) == {"canceled"}


def test_unapproved_post_expires_at_its_time_instead_of_going_out(st, make, clock):
    editor = make.user("editor")
    post_id = make.post(editor, status="in_review", channel_ids=[make.channel().id])
    clock.advance(hours=2)
    with st.sessions() as session, session.begin():
        assert posts.expire_overdue(session, now=clock.now()) == [post_id]
    assert load(st, post_id).status == "expired"
    assert audit_actions(st, post_id)[-1] == "post.expire"
    with st.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_only_drafts_can_be_deleted(st, make):
    editor = make.user("editor")
    draft = make.post(editor)
    queued = make.post(editor, status="in_review", channel_ids=[make.channel().id])
    with pytest.raises(Conflict):
        run(st, posts.delete, editor, post_id=queued)
    run(st, posts.delete, editor, post_id=draft)
    assert load(st, draft) is None
    assert audit_actions(st, draft)[-1] == "post.delete"


def test_two_operators_approving_at_once_give_one_approval_and_one_conflict(st, make):
    import threading

    editor = make.user("editor")
    operators = [make.user("operator"), make.user("operator")]
    post_id = make.post(editor, status="in_review",
                        channel_ids=[make.channel().id, make.channel().id])
    start, results = threading.Barrier(2), []

    def approve(operator):
        start.wait(timeout=10)
        try:
            with st.sessions() as session, session.begin():
                post = posts.get_post(session, post_id, for_change=True)
                posts.approve(session, session.merge(operator), post, now=st.clock.now(),
                              allow_self_approval=False)
            results.append("approved")
        except Conflict:
            results.append("conflict")

    threads = [threading.Thread(target=approve, args=(o,)) for o in operators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == ["approved", "conflict"]
    with st.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 2
