"""The public booking API tells a visitor nothing about other bookings or speakers, and counts every
request against its rate limit before it reads a byte of the body."""

from __future__ import annotations

import pytest

from planner.services import users
from tests.booking_helpers import weekly_slots

MEI = {"name": "Mei Lin", "email": "mei@example.org", "topic": "Async in practice",
       "abstract": "Event loops without tears.", "contact": "wechat: meilin"}
KAI = {"name": "Kai Wu", "email": "kai@example.org", "topic": "Typing at scale",
       "abstract": "Protocols and generics."}
SECRETS = ("Mei", "mei@", "Async", "Event loops", "wechat")  # what only Mei and the organisers know


@pytest.fixture
def booked(st, client, make):  # type: ignore[no-untyped-def]
    """Mei holds the first slot; the second is closed; Kai has the third; the fourth is open."""
    olga = make.user("operator", email="olga@example.com")
    ids = weekly_slots(st, olga, [make.channel().id])
    with st.sessions() as session, session.begin():
        token = users.create_token(session, session.merge(olga), now=st.clock.now())
    client.post(f"/api/v1/slots/{ids[1]}/close", headers={"Authorization": f"Bearer {token}"})
    mei = client.post(f"/api/v1/public/slots/{ids[0]}/bookings", json=MEI,
                      headers={"Idempotency-Key": "mei-1"})
    kai = client.post(f"/api/v1/public/slots/{ids[2]}/bookings", json=KAI)
    assert (mei.status_code, kai.status_code) == (201, 201)
    return ids, mei.json["manage_url"].rsplit("/", 1)[1], kai.json["manage_url"].rsplit("/", 1)[1]


def reveals(response) -> list[str]:  # type: ignore[no-untyped-def]
    text = response.get_data(as_text=True)
    return [secret for secret in SECRETS if secret.lower() in text.lower()]


def test_closed_unknown_and_taken_slots_answer_without_a_word_about_the_speaker(client, booked):
    ids, _mei, _kai = booked
    closed = client.post(f"/api/v1/public/slots/{ids[1]}/bookings", json=KAI | {"email": "x@y.org"})
    unknown = client.post("/api/v1/public/slots/999/bookings", json=KAI)
    assert (closed.status_code, unknown.status_code) == (404, 404)
    assert closed.json == unknown.json == {"error": {
        "code": "not_found", "fields": {},
        "message": "This slot does not exist or is not open for booking."}}
    taken = client.post(f"/api/v1/public/slots/{ids[0]}/bookings", json=KAI)
    assert taken.status_code == 409 and taken.json["error"]["code"] == "slot_taken"
    assert [s["id"] for s in taken.json["open_slots"]] == [ids[3]]
    listed = client.get("/api/v1/public/slots")
    assert set(listed.json["items"][0]) == {"id", "title", "starts_at", "ends_at", "duration_minutes",
                                            "bio", "contact", "extra_questions"}
    assert [reveals(r) for r in (closed, unknown, taken, listed)] == [[]] * 4


def test_replays_by_someone_else_learn_nothing(client, clock, booked):
    ids, _mei, _kai = booked
    url = f"/api/v1/public/slots/{ids[0]}/bookings"
    guesses = [  # the slot, Mei's address and her key; then everything but later
        client.post(url, json=KAI | {"email": "mei@example.org"}, headers={"Idempotency-Key": "mei-1"}),
        client.post(url, json=MEI | {"topic": "Anything"}, headers={"Idempotency-Key": "mei-1"}),
        client.post(url, json=MEI | {"topic": "Anything"}),
    ]
    assert [g.status_code for g in guesses] == [409] * 3
    assert {g.json["error"]["code"] for g in guesses} == {"slot_taken"}
    clock.advance(minutes=11)
    late = client.post(url, json=MEI, headers={"Idempotency-Key": "mei-1"})
    assert late.status_code == 409 and late.json["error"]["code"] == "already_booked"
    assert [reveals(r) for r in (*guesses, late)] == [[]] * 4


def test_a_manage_link_shows_its_own_booking_and_nothing_of_another(client, booked):
    ids, mei, kai = booked
    own = client.get(f"/api/v1/public/bookings/{kai}")
    assert own.json["name"] == "Kai Wu" and reveals(own) == []
    into_meis = client.post(f"/api/v1/public/bookings/{kai}",
                            json={"action": "reschedule", "slot_id": ids[0]})
    into_closed = client.post(f"/api/v1/public/bookings/{kai}",
                              json={"action": "reschedule", "slot_id": ids[1]})
    assert (into_meis.status_code, into_closed.status_code) == (409, 404)
    assert client.get(f"/book/manage/{kai}").status_code == 200
    page = client.get(f"/book/manage/{kai}")
    near_misses = [mei[:-1] + ("A" if mei[-1] != "A" else "B"), mei.upper(), mei + "x", "A" * 43]
    wrong = [client.get(f"/api/v1/public/bookings/{t}") for t in near_misses]
    wrong += [client.post(f"/api/v1/public/bookings/{t}", json={"action": "cancel"})
              for t in near_misses]
    wrong += [client.get(f"/book/manage/{t}") for t in near_misses]
    assert {r.status_code for r in wrong} == {404}
    assert {r.json["error"]["message"] for r in wrong if r.is_json} == {
        "This booking link is not valid."}
    assert [reveals(r) for r in (into_meis, into_closed, page, *wrong)] == [[]] * (3 + len(wrong))
    assert client.get(f"/api/v1/public/bookings/{mei}").json["status"] == "pending"  # untouched


def test_the_rate_limit_counts_before_the_body_is_read(app, client, clock, booked):
    ids, mei, _kai = booked
    clock.advance(seconds=app.config["PUBLIC_RATE_LIMIT_WINDOW_SECONDS"])  # the bookings' window ends
    app.config["PUBLIC_RATE_LIMIT_WRITES"] = 2
    url = f"/api/v1/public/slots/{ids[3]}/bookings"
    answers = [client.post(url, data="{not json", content_type="application/json").status_code
               for _ in range(2)]
    answers += [client.post(url, json={"name": "x" * 20_000}).status_code,
                client.post(url, json=KAI).status_code]
    assert answers == [400, 400, 429, 429]
    action = f"/api/v1/public/bookings/{mei}"
    assert [client.post(action, json={"action": "explode"}).status_code for _ in range(3)] == [
        422, 422, 429]
