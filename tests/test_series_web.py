"""The series pages: list, new, edit all future, approve (operators only), end, delete."""

from html import unescape

from sqlalchemy import func, select

from planner.models import AuditEntry, Post, Series
from tests.conftest import csrf_from
from tests.series_helpers import make_series, occurrence_posts


def counts(st):
    with st.sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (Series, Post, AuditEntry))


def form(page, **overrides):
    return {"csrf_token": csrf_from(page.get_data(as_text=True)), "kind": "greeting",
            "title": "Good morning", "rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            "timezone": "Asia/Shanghai", "starts_at": "2026-11-24T08:00",
            "template": "{text}\n\n— {community}",
            "pool": "早上好！\n---\nGood morning, {community}!\n---\nRise and shine",
            "tags": "python-groups", "expires_after_minutes": "120"} | overrides


def test_editor_creates_a_series_and_edits_all_future_occurrences(st, make, auth, client):
    make.channel("Python learners group 1", tags=["python-groups"])
    editor = make.user("editor")
    auth.login(editor.email)
    assert b"No series yet" in client.get("/series").data
    page = client.get("/series/new")
    assert 'value="Asia/Shanghai"' in page.get_data(as_text=True)
    response = client.post("/series/new", data=form(page), follow_redirects=True)
    text = unescape(response.get_data(as_text=True))
    assert "Series saved; its occurrences are waiting for review." in text
    assert "Approve the whole series" not in text  # editors do not approve
    with st.sessions() as session:
        series = session.scalars(select(Series)).one()
        assert series.pool == ["早上好！", "Good morning, {community}!", "Rise and shine"]
        assert series.expires_after_minutes == 120
    made = occurrence_posts(st, series.id)
    assert len(made) == 10 and made[1].body == "Good morning, Our community!\n\n— Our community"

    detail = client.get(f"/posts/{made[0].id}").get_data(as_text=True)
    assert f'href="/series/{series.id}"' in detail

    edit = client.get(f"/series/{series.id}/edit")
    assert "早上好！\n---\nGood morning, {community}!" in unescape(edit.get_data(as_text=True))
    saved = client.post(f"/series/{series.id}/edit", follow_redirects=True,
                        data=form(edit, pool="Hello\n---\nHi", starts_at="2026-11-24T09:00"))
    assert "the future occurrences follow the series" in unescape(saved.get_data(as_text=True))
    made = occurrence_posts(st, series.id)
    assert [p.body.split("\n")[0] for p in made[:3]] == ["Hello", "Hi", "Hello"]
    assert {p.scheduled_at.strftime("%H:%M") for p in made} == {"01:00"}


def test_every_bad_field_is_shown_and_nothing_is_saved(st, make, auth, client):
    editor = make.user("editor")
    auth.login(editor.email)
    page = client.get("/series/new")
    before = counts(st)
    response = client.post("/series/new", data=form(
        page, rrule="every day", timezone="Europe/Atlantis", template="Hi {name}", tags=""))
    assert response.status_code == 422
    text = unescape(response.get_data(as_text=True))
    assert "unknown timezone Europe/Atlantis" in text
    assert "the rule needs FREQ" not in text  # the rule cannot be read without a timezone
    assert "unknown variable(s) {name}" in text
    assert "choose at least one channel or tag" in text
    response = client.post("/series/new", data=form(page, rrule="FREQ=DAILY;COUNT=0",
                                                     starts_at="tomorrow", pool="a\n---\n\n---\nb"))
    text = unescape(response.get_data(as_text=True))
    assert "Not a date and time: tomorrow" in text
    assert "COUNT must be a whole number of at least 1" not in text
    assert "text 2 of the pool is empty" in text
    response = client.post("/series/new", data=form(page, rrule="FREQ=DAILY;COUNT=0"))
    assert "COUNT must be a whole number of at least 1" in unescape(response.get_data(as_text=True))
    assert counts(st) == before


def test_operator_approves_the_series_then_ends_it(st, make, auth, client):
    make.channel("Python learners group 1", tags=["python-groups"])
    editor, operator = make.user("editor"), make.user("operator")
    series_id = make_series(st, editor)
    auth.login(editor.email)
    page = client.get(f"/series/{series_id}")
    token = csrf_from(page.get_data(as_text=True))
    assert client.post(f"/series/{series_id}/approve", data={"csrf_token": token}).status_code == 403
    client.post("/logout", data={"csrf_token": token})

    auth.login(operator.email)
    page = client.get(f"/series/{series_id}")
    assert "Approve the whole series" in page.get_data(as_text=True)
    response = client.post(f"/series/{series_id}/approve", follow_redirects=True,
                           data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                 "comment": "fine"})
    assert "Series approved" in response.get_data(as_text=True)
    assert {p.status for p in occurrence_posts(st, series_id)} == {"approved"}
    response = client.post(f"/series/{series_id}/end", follow_redirects=True,
                           data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert "Series ended" in response.get_data(as_text=True)
    assert {p.status for p in occurrence_posts(st, series_id)} == {"canceled"}
    listing = client.get("/series").get_data(as_text=True)
    assert "ended" in listing


def test_deleting_a_series_from_its_page(st, make, auth, client):
    make.channel("Python learners group 1", tags=["python-groups"])
    editor = make.user("editor")
    series_id = make_series(st, editor)
    auth.login(editor.email)
    page = client.get(f"/series/{series_id}")
    response = client.post(f"/series/{series_id}/delete", follow_redirects=True,
                           data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert "Series deleted" in response.get_data(as_text=True)
    assert client.get(f"/series/{series_id}").status_code == 404
