"""Mail to guest speakers: every change of their booking, in the language they booked in."""

from __future__ import annotations

import re

import pytest
from icalendar import Calendar

from planner.services import users
from tests.booking_helpers import weekly_slots
from tests.fakes.smtp import SmtpSink

GUEST = {"name": "Mei Lin", "email": "mei@example.org", "topic": "Async in practice",
         "abstract": "Event loops without tears."}


@pytest.fixture
def setup(app, st, make):  # type: ignore[no-untyped-def]
    olga = make.user("operator", email="olga@example.com")
    ids = weekly_slots(st, olga, [make.channel().id])
    with st.sessions() as session, session.begin():
        token = users.create_token(session, session.merge(olga), now=st.clock.now())
    with SmtpSink() as sink:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port, SMTP_FROM="team@example.com")
        yield ids, {"Authorization": f"Bearer {token}"}, sink


def text_of(message) -> str:  # type: ignore[no-untyped-def]
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def calendar_of(message):  # type: ignore[no-untyped-def]
    [attachment] = list(message.iter_attachments())
    return Calendar.from_ical(attachment.get_content())


def booking_id(client, headers, slot_id: int) -> int:  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/slots/{slot_id}/bookings", headers=headers).json["items"][0]["id"]


def test_the_speaker_hears_of_every_decision_and_change(client, setup):
    ids, operator, sink = setup
    booked = client.post(f"/api/v1/public/slots/{ids[0]}/bookings", json=GUEST)
    token = booked.json["manage_url"].rsplit("/", 1)[1]
    number = booking_id(client, operator, ids[0])
    client.post(f"/api/v1/bookings/{number}/confirm", headers=operator,
                json={"message": "See you on Thursday!"})
    client.post(f"/api/v1/bookings/{number}/move", headers=operator, json={"slot_id": ids[1]})
    client.post(f"/api/v1/public/bookings/{token}", json={"action": "cancel"})
    other = client.post(f"/api/v1/public/slots/{ids[2]}/bookings", json=GUEST | {"topic": "Typing"})
    assert other.status_code == 201
    client.post(f"/api/v1/bookings/{booking_id(client, operator, ids[2])}/decline", headers=operator,
                json={"message": "We are full, sorry."})

    assert [m["Subject"] for m in sink.received] == [
        "Your booking: Async in practice", "Confirmed: Async in practice", "Moved: Async in practice",
        "Canceled: Async in practice", "Your booking: Typing", "Declined: Typing"]
    assert {m["To"] for m in sink.received} == {"mei@example.org"}
    booked_mail, confirmed, moved, canceled, _other, declined = sink.received
    assert token in text_of(booked_mail)
    assert ("Guests airborne on Thursday, November 26, 2026 20:00 (Asia/Shanghai) — status: Confirmed."
            in text_of(confirmed))
    assert "Message from the organisers:\nSee you on Thursday!" in text_of(confirmed)
    assert "Thursday, December 3, 2026 20:00 (Asia/Shanghai) — status: Confirmed." in text_of(moved)
    assert "status: Canceled." in text_of(canceled) and "status: Declined." in text_of(declined)
    assert [calendar_of(m)["METHOD"] for m in (confirmed, moved, canceled, declined)] == [
        "REQUEST", "REQUEST", "CANCEL", "CANCEL"]
    assert [calendar_of(m).walk("VEVENT")[0]["SEQUENCE"] for m in (booked_mail, confirmed, moved,
                                                                   canceled)] == [0, 1, 2, 3]
    assert all(token not in text_of(m) for m in (confirmed, moved, canceled))  # links go once


def test_a_chinese_booking_gets_chinese_mail_whoever_decides(client, setup):
    ids, operator, sink = setup
    page = client.get(f"/book/{ids[0]}?lang=zh").get_data(as_text=True)
    assert "预约嘉宾分享" in page and '<html lang="zh-CN">' in page
    booked = client.post(f"/api/v1/public/slots/{ids[0]}/bookings", json=GUEST,
                         headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert booked.status_code == 201
    number = booking_id(client, operator, ids[0])
    confirmed = client.post(f"/api/v1/bookings/{number}/confirm", headers=operator | {
        "Accept-Language": "en"}, json={})
    assert confirmed.json["locale"] == "zh_Hans_CN"
    booked_mail, confirmed_mail = sink.received
    assert confirmed_mail["Subject"] == "已确认：Async in practice"
    text = text_of(confirmed_mail)
    assert text.startswith("Mei Lin 你好，")
    assert "2026年11月26日星期四 20:00 (Asia/Shanghai)" in text and "已确认" in text
    assert "confirmed" not in text.lower()
    assert re.search(r"/book/manage/[\w-]+\?lang=zh", text_of(booked_mail))


def test_an_english_visitor_switches_the_booking_pages_to_chinese_and_back(client, setup):
    ids, _operator, _sink = setup
    assert "Book a guest session" in client.get("/book").get_data(as_text=True)
    chinese = client.get("/book?lang=zh&tz=Asia/Shanghai").get_data(as_text=True)
    assert "预约嘉宾分享" in chinese and "2026年11月26日星期四" in chinese
    assert "预约嘉宾分享" in client.get(f"/book/{ids[0]}").get_data(as_text=True)  # it stays
    assert "Book a guest session" in client.get("/book?lang=en").get_data(as_text=True)


def test_a_late_repeat_sends_a_new_link_to_the_mailbox_only(client, clock, setup):
    ids, _operator, sink = setup
    url = f"/api/v1/public/slots/{ids[0]}/bookings"
    first = client.post(url, json=GUEST)
    clock.advance(minutes=30)
    late = client.post(url, json=GUEST)
    assert late.status_code == 409 and late.json["error"]["message"] == (
        "You have already booked this slot, and its private link was shown then. We have sent a new "
        "link to your email address.")
    assert "manage" not in late.get_data(as_text=True)
    assert [m["Subject"] for m in sink.received] == ["Your booking: Async in practice",
                                                     "Your link: Async in practice"]
    fresh = re.search(r"http://localhost(/book/manage/[\w-]+)", text_of(sink.received[1])).group(1)
    assert fresh != first.json["manage_url"].replace("http://localhost", "")
    for path in (fresh, first.json["manage_url"].replace("http://localhost", "")):
        assert client.get(path).status_code == 200
