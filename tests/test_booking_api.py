"""The slot and booking API through HTTP: operators make slots, guests book, nothing leaks."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from planner.models import Booking, Post, Slot
from planner.services import users
from tests.booking_helpers import THURSDAY

GUEST = {"name": "Mei Lin", "email": "mei@example.org", "topic": "Async in practice",
         "abstract": "Event loops without tears."}


@pytest.fixture
def olga(make):  # type: ignore[no-untyped-def]
    return make.user("operator", email="olga@example.com")


@pytest.fixture
def bearer(st, olga):  # type: ignore[no-untyped-def]
    with st.sessions() as session, session.begin():
        token = users.create_token(session, session.merge(olga), now=st.clock.now())
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def series(client, bearer, make):  # type: ignore[no-untyped-def]
    channel = make.channel(name="Python learners")
    response = client.post("/api/v1/slots", headers=bearer, json={
        "title": "Guests airborne", "starts_at": THURSDAY.isoformat(), "duration_minutes": 60,
        "timezone": "Asia/Shanghai", "channel_ids": [channel.id],
        "rrule": "FREQ=WEEKLY;BYDAY=TH;COUNT=8"})
    assert response.status_code == 201, response.json
    return [item["id"] for item in response.json["items"]]


def count(st, model) -> int:  # type: ignore[no-untyped-def]
    with st.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def manage_path(response) -> str:  # type: ignore[no-untyped-def]
    return response.json["manage_url"].replace("http://localhost", "")


def api_path(response) -> str:  # type: ignore[no-untyped-def]
    return manage_path(response).replace("/book/manage", "/api/v1/public/bookings")


def test_operators_create_a_series_of_eight_thursdays(client, bearer, series):
    items = client.get("/api/v1/slots", headers=bearer).json["items"]
    assert len(items) == 8
    assert {i["starts_at"][11:16] for i in items} == {"12:00"}  # 20:00 in Shanghai
    assert items[0]["ends_at"] == "2026-11-26T13:00:00Z"
    assert client.get("/api/v1/slots").status_code == 401


def test_a_bad_slot_is_refused_with_its_reasons_and_nothing_is_written(st, client, bearer):
    response = client.post("/api/v1/slots", headers=bearer, json={
        "title": "Guests", "starts_at": "2026-11-26T20:00:00", "duration_minutes": 60,
        "channel_ids": [99]})
    assert response.status_code == 422
    assert response.json["error"]["fields"]["starts_at"] == "Input should have timezone info"
    response = client.post("/api/v1/slots", headers=bearer, json={
        "title": "Guests", "starts_at": THURSDAY.isoformat(), "duration_minutes": 60,
        "timezone": "Mars/Olympus", "channel_ids": [99], "rrule": "FREQ=WEEKLY"})
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {
        "timezone": "unknown timezone; use a name such as Asia/Shanghai",
        "channel_ids": "unknown channel id(s): 99"}
    assert count(st, Slot) == 0


def test_a_guest_books_and_the_next_one_gets_409_without_learning_who(client, series):
    listed = client.get("/api/v1/public/slots").json["items"]
    assert [s["id"] for s in listed] == series
    first = client.post(f"/api/v1/public/slots/{series[0]}/bookings", json=GUEST)
    assert first.status_code == 201
    assert first.json["status"] == "pending"
    assert first.json["manage_url"].startswith("http://localhost/book/manage/")
    second = client.post(f"/api/v1/public/slots/{series[0]}/bookings",
                         json=GUEST | {"name": "Kai", "email": "kai@example.org"})
    assert second.status_code == 409
    assert second.json["error"] == {"code": "slot_taken", "fields": {},
                                    "message": "This slot was just taken — please pick another"}
    assert [s["id"] for s in second.json["open_slots"]] == series[1:]
    listed_after = client.get("/api/v1/public/slots")
    assert series[0] not in [s["id"] for s in listed_after.json["items"]]
    for response in (second, listed_after):
        text = response.get_data(as_text=True)
        assert "mei" not in text.lower() and "Async" not in text


def test_the_same_submit_twice_is_one_booking(st, client, series, clock):
    url = f"/api/v1/public/slots/{series[0]}/bookings"
    first = client.post(url, json=GUEST, headers={"Idempotency-Key": "k-1"})
    again = client.post(url, json=GUEST, headers={"Idempotency-Key": "k-1"})
    unkeyed = client.post(url, json=GUEST)  # a double submit without the header: the same booking
    assert (first.status_code, again.status_code, unkeyed.status_code) == (201, 200, 200)
    for answer in (first, again, unkeyed):  # every link given out keeps working
        assert client.get(api_path(answer)).json["topic"] == GUEST["topic"]
    assert count(st, Booking) == 1


def test_a_late_repeat_gets_no_link_and_leaks_nothing(st, client, series, clock):
    url = f"/api/v1/public/slots/{series[0]}/bookings"
    first = client.post(url, json=GUEST, headers={"Idempotency-Key": "k-1"})
    clock.advance(minutes=11)
    late = client.post(url, json=GUEST, headers={"Idempotency-Key": "k-1"})
    assert late.status_code == 409
    assert late.json["error"] == {"code": "already_booked", "fields": {}, "message": (
        "You have already booked this slot, and its private link was shown then. If you lost it, "
        "please ask the organisers.")}
    other = client.post(url, json=GUEST | {"topic": "Stolen"}, headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 409 and other.json["error"]["code"] == "slot_taken"
    for answer in (late, other):
        assert "manage_url" not in answer.json and "Async" not in answer.get_data(as_text=True)
    assert client.get(api_path(first)).status_code == 200  # the speaker's link still works
    assert count(st, Booking) == 1


def test_bad_bookings_and_the_honeypot_write_nothing(st, client, series):
    url = f"/api/v1/public/slots/{series[0]}/bookings"
    response = client.post(url, json=GUEST | {"email": "mei", "topic": " "})
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {
        "topic": "the topic is required",
        "email": "an email address such as name@example.com is required"}
    response = client.post(url, json=GUEST | {"website": "http://spam.example"})
    assert response.status_code == 400
    assert response.json["error"]["message"] == "This looks automated, so nothing was booked."
    response = client.post(url, json=GUEST | {"admin": True})
    assert response.status_code == 422
    assert client.post("/api/v1/public/slots/999/bookings", json=GUEST).json["error"]["message"] == (
        "This slot does not exist or is not open for booking.")
    assert count(st, Booking) == 0


def test_the_manage_link_reschedules_and_cancels_and_the_ics_follows(st, client, series):
    booked = client.post(f"/api/v1/public/slots/{series[0]}/bookings", json=GUEST)
    token = manage_path(booked).rsplit("/", 1)[1]
    api = f"/api/v1/public/bookings/{token}"

    def calendar():  # type: ignore[no-untyped-def]
        response = client.get(f"/book/manage/{token}/booking.ics")
        assert response.mimetype == "text/calendar"
        parsed = Calendar.from_ical(response.data)
        return parsed, parsed.walk("VEVENT")[0]

    first, event = calendar()
    assert (first["METHOD"], event["SEQUENCE"], event["STATUS"]) == ("REQUEST", 0, "TENTATIVE")
    assert event.decoded("DTSTART") == THURSDAY.astimezone(UTC)
    assert event.to_ical().decode().count("DTSTART:20261126T120000Z") == 1
    uid = str(event["UID"])

    moved = client.post(api, json={"action": "reschedule", "slot_id": series[1]})
    assert moved.status_code == 200 and moved.json["slot"]["id"] == series[1]
    _cal, event = calendar()
    assert (str(event["UID"]), event["SEQUENCE"]) == (uid, 1)
    assert event.decoded("DTSTART") == THURSDAY.astimezone(UTC) + timedelta(days=7)
    assert series[0] in [s["id"] for s in client.get("/api/v1/public/slots").json["items"]]

    assert client.post(api, json={"action": "reschedule"}).json["error"]["fields"] == {
        "slot_id": "choose the slot to move to"}
    assert client.post(api, json={"action": "cancel"}).json["status"] == "canceled"
    canceled, event = calendar()
    assert (canceled["METHOD"], event["STATUS"], event["SEQUENCE"], str(event["UID"])) == (
        "CANCEL", "CANCELLED", 2, uid)
    again = client.post(api, json={"action": "reschedule", "slot_id": series[2]})
    assert again.status_code == 409
    assert again.json["error"]["message"] == "This booking is canceled; it cannot be moved."
    assert client.get(f"/api/v1/public/bookings/{'A' * 43}").status_code == 404
    assert client.get(f"/book/manage/{'A' * 43}").status_code == 404


def test_operators_see_bookings_and_confirming_fills_the_review_queue(st, client, bearer, series):
    client.post(f"/api/v1/public/slots/{series[0]}/bookings", json=GUEST)
    listed = client.get(f"/api/v1/slots/{series[0]}/bookings", headers=bearer).json["items"]
    assert [(b["name"], b["status"]) for b in listed] == [("Mei Lin", "pending")]
    confirmed = client.post(f"/api/v1/bookings/{listed[0]['id']}/confirm", headers=bearer,
                            json={"message": "Welcome aboard"})
    assert confirmed.status_code == 200 and confirmed.json["status"] == "confirmed"
    assert len(confirmed.json["announcement_post_ids"]) == 3
    queued = client.get("/api/v1/posts?status=in_review", headers=bearer).json["items"]
    assert sorted(p["kind"] for p in queued) == ["announcement"] * 3 + ["guest_session"]
    again = client.post(f"/api/v1/bookings/{listed[0]['id']}/confirm", headers=bearer, json={})
    assert again.status_code == 409
    assert count(st, Post) == 4


def test_public_endpoints_are_rate_limited_per_client(app, client, clock, series):
    app.config["PUBLIC_RATE_LIMIT_READS"] = 2
    assert [client.get("/api/v1/public/slots").status_code for _ in range(3)] == [200, 200, 429]
    limited = client.get("/api/v1/public/slots")
    assert limited.json["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert client.get("/book").status_code == 200  # a different endpoint has its own count
    clock.advance(seconds=int(limited.headers["Retry-After"]))
    assert client.get("/api/v1/public/slots").status_code == 200


def test_the_openapi_document_lists_the_booking_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "security" not in paths["/api/v1/public/slots/{slot_id}/bookings"]["post"]
    assert paths["/api/v1/public/bookings/{token}"]["get"]["parameters"][0]["schema"]["type"] == "string"
    assert "security" in paths["/api/v1/bookings/{booking_id}/confirm"]["post"]


def test_declining_tells_the_speaker_and_frees_the_slot(client, bearer, series):
    booked = client.post(f"/api/v1/public/slots/{series[0]}/bookings", json=GUEST)
    token = manage_path(booked).rsplit("/", 1)[1]
    booking_id = client.get(f"/api/v1/slots/{series[0]}/bookings", headers=bearer).json["items"][0]["id"]
    declined = client.post(f"/api/v1/bookings/{booking_id}/decline", headers=bearer,
                           json={"message": "We are full this month, sorry."})
    assert declined.json["status"] == "declined"
    seen = client.get(f"/api/v1/public/bookings/{token}").json
    assert (seen["status"], seen["operator_message"]) == ("declined", "We are full this month, sorry.")
    ics = Calendar.from_ical(client.get(f"/book/manage/{token}/booking.ics").data)
    assert ics["METHOD"] == "CANCEL" and ics.walk("VEVENT")[0]["SEQUENCE"] == 1
    assert series[0] in [s["id"] for s in client.get("/api/v1/public/slots").json["items"]]
    assert client.post(f"/api/v1/bookings/{booking_id}/decline", headers=bearer,
                       json={}).status_code == 409


def test_operators_may_move_a_booking_where_guests_may_not(st, client, bearer, series, clock):
    booked = client.post(f"/api/v1/public/slots/{series[0]}/bookings", json=GUEST)
    token = manage_path(booked).rsplit("/", 1)[1]
    client.post(f"/api/v1/slots/{series[1]}/close", headers=bearer)
    by_guest = client.post(f"/api/v1/public/bookings/{token}",
                           json={"action": "reschedule", "slot_id": series[1]})
    assert by_guest.status_code == 404
    client.post(f"/api/v1/slots/{series[1]}/reopen", headers=bearer)
    clock.set(THURSDAY.astimezone(UTC) + timedelta(days=6, hours=12))  # the next slot is 12 h away
    booking_id = client.get(f"/api/v1/slots/{series[0]}/bookings", headers=bearer).json["items"][0]["id"]
    moved = client.post(f"/api/v1/bookings/{booking_id}/move", headers=bearer,
                        json={"slot_id": series[1]})
    assert moved.status_code == 200 and moved.json["slot_id"] == series[1]


def test_the_booking_form_is_rate_limited_too(app, client, series):
    app.config["PUBLIC_RATE_LIMIT_READS"] = 1
    assert client.get("/book").status_code == 200
    limited = client.get("/book")
    assert limited.status_code == 429 and limited.headers["Retry-After"].isdigit()
    assert "Too many requests; please try again in" in limited.get_data(as_text=True)
