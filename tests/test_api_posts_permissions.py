"""Who may do what to a post through the API: every refusal is a 4xx with a message that says why, and
a refused call writes nothing."""

import pytest
from sqlalchemy import func, select

from planner.models import AuditEntry, Delivery, Post
from planner.services import users, workspace


@pytest.fixture
def team(make):
    return make.user("editor"), make.user("editor"), make.user("operator"), make.channel("Python learners")


def state_of(st, post_id):
    """The post's status, title and time, its deliveries' statuses, and the number of posts and audit rows."""
    with st.sessions() as session:
        post = session.get(Post, post_id)
        mine = None if post is None else (post.status, post.title, post.scheduled_at)
        deliveries = sorted(session.scalars(select(Delivery.status).where(Delivery.post_id == post_id)))
        return (mine, deliveries, session.scalar(select(func.count()).select_from(Post)),
                session.scalar(select(func.count()).select_from(AuditEntry)))


def signed_in(api, *people):
    for person in people:
        api.token_for(person)


def test_delete_a_draft(st, make, api, team):
    author, other, operator, group = team
    draft = make.post(author, channel_ids=[group.id])
    reviewed = make.post(author, status="in_review", channel_ids=[group.id])
    read_only = users_token(st, author, scope="read")
    signed_in(api, author, other, operator)
    before = state_of(st, draft)

    refused = api.call("DELETE", f"/posts/{draft}", other)
    assert (refused.status_code, refused.json["error"]["message"]) == (
        403, f"you may not change post {draft}")
    scoped = api.call("DELETE", f"/posts/{draft}", author, token=read_only)
    assert scoped.status_code == 403 and scoped.json["error"]["message"].startswith(
        "this token may only read")
    assert api.call("DELETE", f"/posts/{draft}").status_code == 401
    assert state_of(st, draft) == before

    too_late = api.call("DELETE", f"/posts/{reviewed}", author)
    assert (too_late.status_code, too_late.json["error"]["message"]) == (
        409, f"post {reviewed} is in_review; only drafts can be deleted (cancel it instead)")
    assert api.call("DELETE", f"/posts/{draft}", author).status_code == 204
    assert api.call("GET", f"/posts/{draft}", author).status_code == 404
    assert api.call("DELETE", f"/posts/{draft}", author).json["error"]["code"] == "not_found"
    others = make.post(author, channel_ids=[group.id])
    assert api.call("DELETE", f"/posts/{others}", operator).status_code == 204  # any draft
    with st.sessions() as session:
        deleted = session.scalars(select(AuditEntry.subject_id)
                                  .where(AuditEntry.action == "post.delete")).all()
    assert deleted == [draft, others]


def users_token(st, user, scope):
    with st.sessions() as session, session.begin():
        return users.create_token(session, session.merge(user), now=st.clock.now(), scope=scope)


@pytest.mark.parametrize(("method", "action", "payload"), [
    ("PATCH", "", {"title": "Mine now"}),
    ("POST", "/submit", {}),
    ("POST", "/cancel", {}),
    ("DELETE", "", None),
])
def test_another_editor_cannot_change_someone_elses_post(st, make, api, team, method, action,
                                                         payload):
    author, other, _operator, group = team
    post_id = make.post(author, channel_ids=[group.id])
    signed_in(api, other)
    before = state_of(st, post_id)
    answer = api.call(method, f"/posts/{post_id}{action}", other, json=payload)
    assert (answer.status_code, answer.json["error"]) == (403, {
        "code": "forbidden", "message": f"you may not change post {post_id}", "fields": {}})
    assert state_of(st, post_id) == before


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_editors_neither_approve_nor_reject(st, make, api, team, action):
    author, other, _operator, group = team
    post_id = make.post(author, status="in_review", channel_ids=[group.id])
    signed_in(api, author, other)
    before = state_of(st, post_id)
    for editor in (author, other):
        answer = api.call("POST", f"/posts/{post_id}/{action}", editor, json={"comment": "fine"})
        assert (answer.status_code, answer.json["error"]["message"]) == (
            403, "this needs the operator role or higher")
    assert state_of(st, post_id) == before


def test_self_approval_only_when_the_workspace_allows_it(st, make, api, team):
    _author, _other, operator, group = team
    mine = make.post(operator, status="in_review", channel_ids=[group.id])
    signed_in(api, operator)
    before = state_of(st, mine)
    for action in ("approve", "reject"):
        refused = api.call("POST", f"/posts/{mine}/{action}", operator, json={"comment": "hm"})
        assert refused.status_code == 403
        assert refused.json["error"]["message"].startswith(f"you wrote post {mine}; another operator")
    assert state_of(st, mine) == before
    with st.sessions() as session, session.begin():
        workspace.put(session, "allow_self_approval", True, actor="test", now=st.clock.now())
    approved = api.call("POST", f"/posts/{mine}/approve", operator, json={})
    assert (approved.status_code, approved.json["status"]) == (200, "approved")


def test_cancel(st, make, api, team):
    author, other, operator, group = team
    draft = make.post(author, channel_ids=[group.id])
    approved = make.post(author, status="approved", reviewer=operator, channel_ids=[group.id])
    signed_in(api, author, other, operator)

    done = api.call("POST", f"/posts/{draft}/cancel", author, json={"comment": "not needed"})
    assert (done.status_code, done.json["status"]) == (200, "canceled")
    again = api.call("POST", f"/posts/{draft}/cancel", author, json={})
    assert (again.status_code, again.json["error"]["message"]) == (
        409, f"post {draft} is canceled; it cannot be canceled now")

    before = state_of(st, approved)
    assert before[1] == ["pending"]
    for editor in (author, other):
        refused = api.call("POST", f"/posts/{approved}/cancel", editor, json={})
        assert (refused.status_code, refused.json["error"]["message"]) == (
            403, f"post {approved} is approved; only an operator may cancel it")
    assert state_of(st, approved) == before
    canceled = api.call("POST", f"/posts/{approved}/cancel", operator, json={"comment": "moved"})
    assert (canceled.status_code, canceled.json["status"]) == (200, "canceled")
    deliveries = api.call("GET", f"/posts/{approved}/deliveries", author).json["items"]
    assert [d["status"] for d in deliveries] == ["canceled"]
    assert api.call("POST", "/posts/4242/cancel", operator, json={}).status_code == 404
    assert api.call("POST", f"/posts/{approved}/cancel", json={}).status_code == 401


def test_deliveries_and_previews_are_for_signed_in_people(st, make, api, team):
    author, other, operator, group = team
    post_id = make.post(author, status="approved", reviewer=operator, channel_ids=[group.id])
    for path in (f"/posts/{post_id}/deliveries", f"/posts/{post_id}/preview"):
        anonymous = api.call("GET", path)
        assert (anonymous.status_code, anonymous.json["error"]["code"]) == (401, "unauthenticated")
        bad = api.call("GET", path, headers={"Authorization": "Bearer plnr_nope"})
        assert bad.status_code == 401
        # The whole team reads the plan: another editor sees the post's deliveries and previews.
        assert api.call("GET", path, other).status_code == 200
        assert api.call("GET", path.replace(str(post_id), "4242"), other).json["error"] == {
            "code": "not_found", "message": "post 4242 does not exist", "fields": {}}
    deliveries = api.call("GET", f"/posts/{post_id}/deliveries", other).json["items"]
    assert [(d["channel_id"], d["status"]) for d in deliveries] == [(group.id, "pending")]
    preview = api.call("GET", f"/posts/{post_id}/preview", other).json
    assert [t["channel_name"] for t in preview["targets"]] == ["Python learners"]
