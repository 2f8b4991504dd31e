"""Each person's timezone: chosen on the account page, used by every page and by the post editor."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from planner.models import AuditEntry, Post, User
from tests.conftest import csrf_from

LATE = datetime(2026, 11, 24, 16, 30, tzinfo=UTC)  # 00:30 on the 25th in Shanghai


def choose(client, auth, timezone):
    token = auth.token("/account")
    return client.post("/account", data={"csrf_token": token, "timezone": timezone},
                       follow_redirects=True)


def stored(st, user):
    with st.sessions() as session:
        audits = session.scalar(select(func.count()).select_from(AuditEntry)
                                .where(AuditEntry.action == "user.timezone"))
        return session.get(User, user.id).timezone, audits


def test_account_page_sets_and_clears_a_timezone(st, make, auth, client):
    editor = make.user("editor")
    auth.login(editor.email)
    page = client.get("/account").get_data(as_text=True)
    assert "The workspace&#39;s (Asia/Shanghai)" in page and "Europe/Berlin" in page
    assert b"Your settings are saved." in choose(client, auth, "Europe/Berlin").data
    assert stored(st, editor) == ("Europe/Berlin", 1)
    with st.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.timezone")).one()
        assert entry.data == {"old": None, "new": "Europe/Berlin"}
    choose(client, auth, "")
    assert stored(st, editor) == (None, 2)


@pytest.mark.parametrize("name", ["Mars/Olympus", "asia/shanghai", "../../etc/passwd"])
def test_unknown_timezone_is_refused_and_nothing_written(st, make, auth, client, name):
    editor = make.user("editor")
    auth.login(editor.email)
    response = choose(client, auth, name)
    assert response.status_code == 422
    assert f"unknown timezone {name!r}; use a name such as Asia/Shanghai" in response.get_data(
        as_text=True).replace("&#39;", "'")
    assert stored(st, editor) == (None, 0)


def test_pages_show_times_in_the_viewers_timezone(st, make, auth, client):
    editor, abroad = make.user("editor"), make.user("editor")
    post_id = make.post(editor, title="Late session", scheduled_at=LATE)
    auth.login(editor.email)
    assert "Nov 25, 2026, 12:30\u202fAM" in client.get(f"/posts/{post_id}").get_data(as_text=True)
    listed = client.get("/?view=list&start=2026-11-25").get_data(as_text=True)
    assert "Late session" in listed and "<time>12:30\u202fAM</time>" in listed
    assert "Late session" not in client.get("/?view=list&start=2026-11-11").get_data(as_text=True)

    client.post("/logout", data={"csrf_token": auth.token("/account")})
    auth.login(abroad.email)
    choose(client, auth, "UTC")
    assert "Nov 24, 2026, 4:30\u202fPM" in client.get(f"/posts/{post_id}").get_data(as_text=True)
    listed = client.get("/?view=list&start=2026-11-11").get_data(as_text=True)
    assert "Late session" in listed and "4:30\u202fPM" in listed  # on the 24th, within 14 days of the 11th
    assert "Late session" not in client.get("/?view=list&start=2026-11-25").get_data(as_text=True)


def test_the_editor_reads_times_in_the_viewers_timezone(st, make, auth, client):
    editor = make.user("editor")
    auth.login(editor.email)
    choose(client, auth, "UTC")
    page = client.get("/posts/new").get_data(as_text=True)
    assert "Times are in your timezone, UTC." in page
    client.post("/posts/new", data={"csrf_token": csrf_from(page), "kind": "tutorial",
                                    "title": "Tip", "body": "Use f-strings.",
                                    "scheduled_at": "2026-11-24T10:00", "then": "save"})
    with st.sessions() as session:
        assert session.scalars(select(Post.scheduled_at)).one() == datetime(2026, 11, 24, 10,
                                                                            tzinfo=UTC)


@pytest.mark.parametrize(("given", "shown"), [
    ("2026-11-26", "2026-11-26T09:00"),
    ("2026-11-26T14:30", "2026-11-26T14:30"),
    ("2026-11-26T06:30:00Z", "2026-11-26T14:30"),
    ("soon", ""),
])
def test_new_post_takes_its_time_from_the_calendar(make, auth, client, given, shown):
    editor = make.user("editor")
    auth.login(editor.email)
    page = client.get("/posts/new", query_string={"scheduled_at": given}).get_data(as_text=True)
    assert f'name="scheduled_at" type="datetime-local" value="{shown}"' in page


def test_calendar_page_hands_the_widget_the_viewers_zone(st, make, auth, client):
    editor = make.user("editor")
    auth.login(editor.email)
    choose(client, auth, "America/New_York")
    st.clock.set(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert "&#34;timeZone&#34;: &#34;America/New_York&#34;" in html
    assert "&#34;now&#34;: &#34;2026-11-22T22:00:00&#34;" in html  # the evening before, there
    policy = response.headers["Content-Security-Policy"]
    assert "style-src 'self' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='" in policy
    assert "unsafe-inline" not in policy and "<script>" not in html
    assert "noscript" in html and "/?view=list" in html


def test_calendar_speaks_the_viewers_language(st, make, auth, client):
    editor = make.user("editor")
    with st.sessions() as session, session.begin():
        session.get(User, editor.id).locale = "zh_Hans_CN"
    auth.login(editor.email)
    html = client.get("/").get_data(as_text=True)
    assert "/static/vendor/fullcalendar/locales/zh-cn.global.min.js" in html
    assert "&#34;locale&#34;: &#34;zh-cn&#34;" in html
    with client.get("/static/vendor/fullcalendar/locales/zh-cn.global.min.js") as script:
        assert script.status_code == 200 and b'code:"zh-cn"' in script.data


@pytest.mark.parametrize(("locale", "when", "time_only", "now"), [
    ("en", "Nov 25, 2026, 12:30\u202fAM", "12:30\u202fAM", "Nov 23, 2026, 8:00\u202fAM"),
    ("zh_Hans_CN", "2026年11月25日 00:30", "00:30", "2026年11月23日 08:00"),
])
def test_times_are_written_the_way_the_viewers_language_writes_them(st, make, auth, client, locale, when,
                                                                    time_only, now):
    editor = make.user("editor")
    with st.sessions() as session, session.begin():
        session.get(User, editor.id).locale = locale
    post_id = make.post(editor, title="Late session", scheduled_at=LATE)
    st.clock.set(datetime(2026, 11, 23, 0, 0, tzinfo=UTC))
    auth.login(editor.email)
    assert when in client.get(f"/posts/{post_id}").get_data(as_text=True)
    assert f"<time>{time_only}</time>" in client.get("/?view=list&start=2026-11-25").get_data(as_text=True)
    assert now in client.get("/account").get_data(as_text=True)
    # What machines read stays ISO: the editor's datetime-local input.
    edit = client.get(f"/posts/{post_id}/edit").get_data(as_text=True)
    assert 'type="datetime-local" value="2026-11-25T00:30"' in edit
