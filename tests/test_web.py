"""The pages: sign-in, the editor's form, the review queue, roles and CSRF."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from planner.errors import Conflict, ValidationFailed
from planner.models import AuditEntry, Post
from planner.web.context import attach_errors
from planner.web.slot_forms import SlotForm
from planner.web.slots import FORM_NAMES as SLOT_FORM_NAMES
from tests.conftest import PASSWORD, csrf_from


def post_count(st):
    with st.sessions() as session:
        return session.scalar(select(func.count()).select_from(Post))


def form_data(st, channel_id, **overrides):
    local = (st.clock.now() + timedelta(days=1)).astimezone(st.clock.now().tzinfo)
    # The form's times are in the workspace timezone (Asia/Shanghai, UTC+8).
    shanghai = (local + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")
    return {"kind": "tutorial", "title": "Tip of the week", "body": "Use **f-strings**.",
            "scheduled_at": shanghai, "channel_ids": [str(channel_id)], "tags": ""} | overrides


def test_pages_need_sign_in(client):
    for path in ("/", "/posts/new", "/review", "/deliveries", "/channels", "/outbox", "/settings"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_wrong_password_is_refused_without_saying_which_part(make, auth):
    user = make.user("editor")
    response = auth.login(user.email, "wrong password!")
    assert response.status_code == 401
    assert b"Wrong email or password." in response.data
    assert auth.login("nobody@example.com").status_code == 401


def test_editor_writes_and_submits_a_post(st, make, auth, client):
    editor = make.user("editor")
    channel = make.channel("Python learners group 1")
    assert auth.login(editor.email).status_code == 302
    page = client.get("/posts/new")
    assert b"Python learners group 1" in page.data
    data = form_data(st, channel.id) | {"csrf_token": csrf_from(page.get_data(as_text=True)),
                                        "then": "submit"}
    response = client.post("/posts/new", data=data, follow_redirects=True)
    assert b"Submitted for review." in response.data
    with st.sessions() as session:
        post = session.scalars(select(Post)).one()
        assert (post.status, post.author_id, [c.id for c in post.channels]) == (
            "in_review", editor.id, [channel.id])
        # 08:00 next day in Shanghai is midnight UTC.
        assert post.scheduled_at == st.clock.now() + timedelta(days=1)


def test_form_errors_are_shown_beside_their_fields_and_nothing_is_saved(st, make, auth, client):
    editor = make.user("editor")
    channel = make.channel()
    auth.login(editor.email)
    token = auth.token("/posts/new")
    past = (st.clock.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/posts/new", data=form_data(
        st, channel.id, title="", scheduled_at=past, csrf_token=token))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="title-error"' in html
    response = client.post("/posts/new", data=form_data(st, channel.id, scheduled_at=past,
                                                          csrf_token=token))
    assert response.status_code == 422
    assert "the publish time is in the past" in response.get_data(as_text=True)
    response = client.post("/posts/new", data=form_data(st, channel.id, scheduled_at="soon",
                                                          csrf_token=token))
    assert "Not a date and time: soon" in response.get_data(as_text=True)
    response = client.post("/posts/new", data=form_data(st, 4242, csrf_token=token))
    assert "unknown channel id(s): 4242" in response.get_data(as_text=True)
    assert post_count(st) == 0


def test_missing_csrf_token_is_refused_and_writes_nothing(st, make, auth, client):
    editor = make.user("editor")
    channel = make.channel()
    auth.login(editor.email)
    response = client.post("/posts/new", data=form_data(st, channel.id))
    assert response.status_code == 400
    assert "The CSRF token is missing." in response.get_data(as_text=True)
    assert post_count(st) == 0
    post_id = make.post(editor, channel_ids=[channel.id])
    assert client.post(f"/posts/{post_id}/submit").status_code == 400
    with st.sessions() as session:
        assert session.get(Post, post_id).status == "draft"


def test_operator_reviews_from_the_queue(st, make, auth, client):
    editor, operator = make.user("editor"), make.user("operator")
    post_id = make.post(editor, status="in_review", channel_ids=[make.channel().id],
                        title="Vote on next month's topics")
    auth.login(operator.email)
    queue = client.get("/review")
    assert b"Vote on next month&#39;s topics" in queue.data
    token = csrf_from(queue.get_data(as_text=True))
    response = client.post(f"/posts/{post_id}/reject", data={"csrf_token": token, "comment": ""},
                           follow_redirects=True)
    assert b"a comment is required when rejecting" in response.data
    response = client.post(f"/posts/{post_id}/reject",
                           data={"csrf_token": token, "comment": "Add the voting deadline."},
                           follow_redirects=True)
    assert b"Returned to the author as a draft." in response.data
    detail = client.get(f"/posts/{post_id}")
    assert b"Add the voting deadline." in detail.data


def test_editor_cannot_open_operator_pages_or_approve(st, make, auth, client):
    editor, other = make.user("editor"), make.user("editor")
    post_id = make.post(other, status="in_review", channel_ids=[make.channel().id])
    auth.login(editor.email)
    for path in ("/review", "/deliveries", "/channels", "/settings"):
        assert client.get(path).status_code == 403, path
    token = auth.token(f"/posts/{post_id}")
    assert client.post(f"/posts/{post_id}/approve", data={"csrf_token": token}).status_code == 403
    with st.sessions() as session:
        assert session.get(Post, post_id).status == "in_review"


def test_admin_changes_settings_with_validation(st, make, auth, client):
    admin = make.user("admin")
    auth.login(admin.email)
    token = auth.token("/settings")
    bad = client.post("/settings", data={"csrf_token": token, "community_name": "Pythonistas",
                                         "timezone": "Mars/Olympus", "on_time_tolerance_minutes": "5"})
    assert bad.status_code == 422 and b"Unknown timezone" in bad.data
    negative = client.post("/settings", data={"csrf_token": token, "community_name": "Pythonistas",
                                              "timezone": "Europe/Berlin", "on_time_tolerance_minutes": "-1"})
    assert negative.status_code == 422 and b"Number must be between 0 and 1440." in negative.data
    ok = client.post("/settings", data={"csrf_token": token, "community_name": "Pythonistas",
                                        "timezone": "Europe/Berlin", "allow_self_approval": "y",
                                        "on_time_tolerance_minutes": "10"},
                     follow_redirects=True)
    assert b"Settings saved." in ok.data
    with st.sessions() as session:
        changes = session.scalars(select(AuditEntry).where(AuditEntry.action == "setting.change"))
        assert {(c.data["key"], str(c.data["new"])) for c in changes} == {
            ("community_name", "Pythonistas"), ("timezone", "Europe/Berlin"),
            ("allow_self_approval", "True"), ("on_time_tolerance_minutes", "10")}


def test_logout_needs_post_and_ends_the_session(make, auth, client):
    editor = make.user("editor")
    auth.login(editor.email, PASSWORD)
    token = auth.token("/")
    assert client.get("/logout").status_code == 405
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("path", ["/", "/login"])
def test_security_headers(client, path):
    headers = client.get(path).headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"


def test_banner_when_no_dispatcher_is_alive(st, make, auth, client):
    from planner.worker.dispatcher import Dispatcher

    editor = make.user("editor")
    auth.login(editor.email)
    assert b"No dispatcher is running" in client.get("/").data
    Dispatcher(st).heartbeat()
    assert b"No dispatcher is running" not in client.get("/").data


def test_calendar_lists_posts_by_local_day(st, make, auth, client):
    editor = make.user("editor")
    make.post(editor, title="Good morning", kind="greeting",
              scheduled_at=st.clock.now() + timedelta(days=1))
    auth.login(editor.email)
    html = client.get("/?view=list").get_data(as_text=True)
    assert "2026-11-24" in html and "Good morning" in html and "<time>8:00\u202fAM</time>" in html
    assert "Good morning" not in client.get("/?view=list&start=2027-01-01").get_data(as_text=True)


def test_a_refused_change_puts_each_reason_where_the_form_shows_it(app):  # type: ignore[no-untyped-def]
    with app.test_request_context():
        form = SlotForm(meta={"csrf": False})
        attach_errors(form, ValidationFailed("the slot was not saved", {
            "min_notice_minutes": "at least one hour", "questions": "too many questions",
            "data": "not a field"}), lambda name: SLOT_FORM_NAMES.get(name, name))
        assert form.min_notice_hours.errors == ["at least one hour"]
        assert form.form_errors == ["too many questions", "not a field"]  # no field by that name
        other = SlotForm(meta={"csrf": False})
        attach_errors(other, Conflict("someone else booked it"))  # no field named: the message
        assert other.form_errors == ["someone else booked it"]
