"""The public booking pages and the operators' slot pages, through the test client."""

from __future__ import annotations

import re

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from planner.models import Booking, Post, Slot
from tests.booking_helpers import book, weekly_slots
from tests.conftest import csrf_from
from tests.fakes.smtp import SmtpSink

GUEST = {"name": "Mei Lin", "email": "mei@example.org", "topic": "Async in practice",
         "abstract": "Event loops without tears.", "bio": "", "contact": ""}


@pytest.fixture
def setup(st, make):  # type: ignore[no-untyped-def]
    olga = make.user("operator", email="olga@example.com")
    channel = make.channel(name="Python learners")
    return olga, channel, weekly_slots(st, olga, [channel.id])


def count(st, model) -> int:  # type: ignore[no-untyped-def]
    with st.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def form_page(client, slot_id: int) -> tuple[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    html = client.get(f"/book/{slot_id}?tz=Europe/Berlin").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    return html, {"csrf_token": csrf_from(html), "idempotency_key": key, "tz": "Europe/Berlin"}


def test_the_booking_page_shows_open_slots_in_the_visitors_timezone(client, setup):
    berlin = client.get("/book?tz=Europe/Berlin").get_data(as_text=True)
    assert "Thursday, November 26, 2026 · 13:00–14:00" in berlin
    assert '<option value="Europe/Berlin" selected>' in berlin
    default = client.get("/book?tz=Nowhere/Special").get_data(as_text=True)
    assert "Thursday, November 26, 2026 · 20:00–21:00" in default
    assert '<script src="/static/book.js">' in default and "<script>" not in default
    assert 'href="/book/1?tz=Europe/Berlin"' in berlin


def test_booking_through_the_form_shows_the_manage_link_once(st, client, setup):
    _olga, _channel, ids = setup
    html, hidden = form_page(client, ids[0])
    assert "Thursday, November 26, 2026 · 13:00–14:00 (Europe/Berlin)" in html
    response = client.post(f"/book/{ids[0]}", data=GUEST | hidden)
    assert response.status_code == 200
    done = response.get_data(as_text=True)
    assert "Your booking is received; the organisers will confirm it." in done
    link = re.search(r'id="manage-link" href="([^"]+)"', done).group(1)
    assert link.startswith("http://localhost/book/manage/")
    again = client.post(f"/book/{ids[0]}", data=GUEST | hidden)  # the browser resent the form
    assert again.status_code == 200 and count(st, Booking) == 1
    assert "You had already booked this slot, so nothing new was booked." in again.get_data(as_text=True)
    fresh = re.search(r'id="manage-link" href="([^"]+)"', again.get_data(as_text=True)).group(1)
    assert fresh != link
    for url in (link, fresh):  # the first link keeps working
        manage = client.get(url.replace("http://localhost", "")).get_data(as_text=True)
        assert manage.count("Async in practice") >= 1 and "Waiting for confirmation" in manage


def test_a_repeat_from_another_browser_gets_no_link(st, app, client, setup, clock):
    _olga, _channel, ids = setup
    _html, hidden = form_page(client, ids[0])
    client.post(f"/book/{ids[0]}", data=GUEST | hidden)
    clock.advance(minutes=11)
    stranger = app.test_client()  # knows the slot, the email and even the form key
    _html, theirs = form_page(stranger, ids[0])
    response = stranger.post(f"/book/{ids[0]}", data=GUEST | theirs | {
        "idempotency_key": hidden["idempotency_key"]})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "You have already booked this slot, and its private link was shown then." in html
    assert "manage-link" not in html and "/book/manage/" not in html
    mine = client.post(f"/book/{ids[0]}", data=GUEST | hidden)  # the booking browser still may
    assert mine.status_code == 200 and 'id="manage-link"' in mine.get_data(as_text=True)
    assert count(st, Booking) == 1


def test_the_form_explains_every_problem_and_writes_nothing(st, client, setup):
    _olga, _channel, ids = setup
    _html, hidden = form_page(client, ids[0])
    response = client.post(f"/book/{ids[0]}", data=GUEST | hidden | {"email": "mei", "topic": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="email-error">an email address such as name@example.com is required<' in html
    assert 'id="topic-error">the topic is required<' in html
    assert 'value="Mei Lin"' in html  # what was typed stays
    trapped = client.post(f"/book/{ids[0]}", data=GUEST | hidden | {"website": "http://x.example"})
    assert trapped.status_code == 422
    assert "This looks automated, so nothing was booked." in trapped.get_data(as_text=True)
    no_token = client.post(f"/book/{ids[0]}", data=GUEST)
    assert no_token.status_code == 400
    assert count(st, Booking) == 0


def test_a_slot_taken_meanwhile_sends_the_guest_back_to_the_open_ones(st, client, setup):
    _olga, _channel, ids = setup
    _html, hidden = form_page(client, ids[0])
    book(st, ids[0], number=2, name="Kai Other")
    response = client.post(f"/book/{ids[0]}", data=GUEST | hidden)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "This slot was just taken — please pick another" in html
    assert f"/book/{ids[1]}?" in html and f"/book/{ids[0]}?" not in html
    assert "Kai" not in html and "speaker2" not in html


def test_the_manage_page_edits_reschedules_and_cancels(st, client, setup):
    _olga, _channel, ids = setup
    _id, token, _ = book(st, ids[0])
    page = f"/book/manage/{token}"
    csrf = csrf_from(client.get(page).get_data(as_text=True))
    edited = client.post(page, data={"csrf_token": csrf, "action": "edit", "topic": "Packaging",
                                     "abstract": "Wheels and sdists."}, follow_redirects=True)
    assert "Your topic and abstract are saved." in edited.get_data(as_text=True)
    moved = client.post(page, data={"csrf_token": csrf, "action": "reschedule", "slot_id": ids[1],
                                    "tz": "Asia/Shanghai"}, follow_redirects=True)
    text = moved.get_data(as_text=True)
    assert "Your session is moved." in text and "Thursday, December 3, 2026" in text
    canceled = client.post(page, data={"csrf_token": csrf, "action": "cancel"}, follow_redirects=True)
    assert "Your booking is canceled." in canceled.get_data(as_text=True)
    refused = client.post(page, data={"csrf_token": csrf, "action": "cancel"}, follow_redirects=True)
    assert "This booking is already canceled." in refused.get_data(as_text=True)
    ics = Calendar.from_ical(client.get(f"{page}/booking.ics").data)
    assert ics["METHOD"] == "CANCEL" and ics.walk("VEVENT")[0]["SEQUENCE"] == 3


def test_operators_create_slots_and_decide_on_bookings(st, client, auth, make, setup):
    olga, channel, ids = setup
    make.user("editor", email="erin@example.com")
    auth.login("erin@example.com")
    assert client.get("/slots").status_code == 403
    client.post("/logout", data={"csrf_token": auth.token()})
    auth.login("olga@example.com")
    page = client.get("/slots").get_data(as_text=True)
    assert 'href="/slots"' in page and "Guests airborne" in page
    created = client.post("/slots", data={
        "csrf_token": csrf_from(page), "title": "Expert share", "starts_at": "2026-12-02T19:30",
        "duration_minutes": "45", "timezone": "Europe/Berlin", "rrule": "FREQ=WEEKLY;COUNT=2",
        "channel_ids": [str(channel.id)], "min_notice_hours": "48", "max_days_ahead": "30",
        "requires_confirmation": "y", "bio": "required", "contact": "off",
        "extra": "Audience level *\nSlides link"}, follow_redirects=True)
    assert "2 slot(s) created." in created.get_data(as_text=True)
    with st.sessions() as session:
        share = session.scalars(select(Slot).where(Slot.title == "Expert share")).first()
        assert share.starts_at.isoformat() == "2026-12-02T18:30:00+00:00"
        assert share.min_notice_minutes == 48 * 60 and share.questions["extra"][0] == {
            "name": "q1", "label": "Audience level", "required": True}
    bad = client.post("/slots", data={"csrf_token": csrf_from(page), "title": "x",
                                      "starts_at": "2026-12-02T19:30", "duration_minutes": "45",
                                      "timezone": "Mars/Base", "bio": "optional",
                                      "contact": "optional"})
    assert bad.status_code == 422
    assert "unknown timezone; use a name such as Asia/Shanghai" in bad.get_data(as_text=True)
    assert "choose at least one channel for the session" in bad.get_data(as_text=True)

    booking_id, _token, _ = book(st, ids[0])
    detail = client.get(f"/bookings/{booking_id}").get_data(as_text=True)
    confirmed = client.post(f"/bookings/{booking_id}/confirm", follow_redirects=True, data={
        "csrf_token": csrf_from(detail), "message": "See you Thursday"})
    text = confirmed.get_data(as_text=True)
    assert "Confirmed: the session and its announcements are in the review queue." in text
    assert text.count('class="kind kind-announcement"') == 3
    moved = client.post(f"/bookings/{booking_id}/move", follow_redirects=True, data={
        "csrf_token": csrf_from(detail), "slot_id": str(ids[2])})
    assert "Moved." in moved.get_data(as_text=True)
    closed = client.post(f"/slots/{ids[3]}/close", data={"csrf_token": csrf_from(detail)},
                         follow_redirects=True)
    assert "The slot is closed." in closed.get_data(as_text=True)
    assert f"/book/{ids[3]}?" not in client.get("/book").get_data(as_text=True)
    assert count(st, Post) == 4


def test_with_smtp_the_speaker_gets_the_links_by_mail(app, st, client, setup):
    _olga, _channel, ids = setup
    with SmtpSink() as sink:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port, SMTP_FROM="team@example.com")
        _html, hidden = form_page(client, ids[0])
        done = client.post(f"/book/{ids[0]}", data=GUEST | hidden).get_data(as_text=True)
        assert "We also sent these links to mei@example.org." in done
    [message] = sink.received
    assert (message["To"], message["From"]) == ("mei@example.org", "team@example.com")
    assert message["Subject"] == "Your booking: Async in practice"
    link = re.search(r'id="manage-link" href="([^"?]+)', done).group(1)
    body = message.get_body(("plain",)).get_content()
    assert link in body
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert Calendar.from_ical(attachment.get_content())["METHOD"] == "REQUEST"


def test_a_mail_server_that_is_down_never_loses_a_booking(app, st, client, setup):
    _olga, _channel, ids = setup
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=1)
    _html, hidden = form_page(client, ids[0])
    done = client.post(f"/book/{ids[0]}", data=GUEST | hidden)
    assert done.status_code == 200 and "We also sent" not in done.get_data(as_text=True)
    assert count(st, Booking) == 1


def test_the_demo_opens_thursday_evening_slots(st, client):
    from planner.demo import create_demo

    assert "6 open guest slots on Thursdays at 20:00, booked at /book" in create_demo(st)
    html = client.get("/book?tz=Asia/Shanghai").get_data(as_text=True)
    assert html.count("Thursday, ") == 6 and html.count("20:00–21:00") == 6
