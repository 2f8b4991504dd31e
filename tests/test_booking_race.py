"""Never two bookings for one slot: 200 attempts at once, from threads and from processes."""

from __future__ import annotations

import multiprocessing
import threading

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from planner.models import Booking, Post
from planner.services import booking_posts, bookings
from tests.booking_helpers import book, speaker, weekly_slots
from tests.booking_race import book_at_once, change_at_once, one_behind_another, process_main
from tests.conftest import START

ATTEMPTS = 200
TAKEN = "This slot was just taken — please pick another"


@pytest.fixture
def slot_id(st, make):  # type: ignore[no-untyped-def]
    operator, channel = make.user("operator"), make.channel()
    return weekly_slots(st, operator, [channel.id], count=2)[0]


def active_bookings(st, slot_id: int) -> int:  # type: ignore[no-untyped-def]
    with st.sessions() as session:
        return session.scalar(select(func.count()).select_from(Booking).where(
            Booking.slot_id == slot_id, Booking.status.in_(["pending", "confirmed"])))


def test_200_http_requests_from_threads_book_the_slot_once(app, st, slot_id):
    app.config["PUBLIC_RATE_LIMIT_WRITES"] = ATTEMPTS * 2
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    url = f"http://127.0.0.1:{server.server_port}/api/v1/public/slots/{slot_id}/bookings"
    start = threading.Barrier(ATTEMPTS)
    answers: list[tuple[int, dict]] = []  # type: ignore[type-arg]

    def attempt(number: int) -> None:
        with requests.Session() as http:
            start.wait(timeout=60)
            response = http.post(url, timeout=120, json={
                "name": f"Speaker {number}", "email": f"speaker{number}@example.org",
                "topic": "Racing", "abstract": "Who gets the slot?"})
            answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(ATTEMPTS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
    finally:
        server.shutdown()
        server.server_close()
        serving.join(timeout=10)
    statuses = sorted(status for status, _body in answers)
    assert statuses == [201] + [409] * (ATTEMPTS - 1)
    losers = [body for status, body in answers if status == 409]
    assert {body["error"]["message"] for body in losers} == {TAKEN}
    assert all(slot_id not in [s["id"] for s in body["open_slots"]] for body in losers)
    assert active_bookings(st, slot_id) == 1


def test_200_attempts_from_threads_with_their_own_sessions_book_once(app, st, slot_id):
    results = book_at_once(app, slot_id, list(range(ATTEMPTS)))
    assert sorted(outcome for outcome, _detail in results) == ["booked"] + ["taken"] * (ATTEMPTS - 1), {
        d for o, d in results if o == "error"}
    assert {detail for outcome, detail in results if outcome == "taken"} == {TAKEN}
    assert active_bookings(st, slot_id) == 1


PROCESSES = 4


def test_200_attempts_from_separate_processes_book_once(st, database_url, slot_id, tmp_path):
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(PROCESSES)
    results = context.Queue()
    per_process = ATTEMPTS // PROCESSES
    processes = [
        context.Process(target=process_main, args=(
            database_url, str(tmp_path / f"instance-{n}"), st.clock.now().isoformat(), slot_id,
            list(range(n * per_process, (n + 1) * per_process)), ready, results))
        for n in range(PROCESSES)]
    for process in processes:
        process.start()
    outcomes = []
    try:
        for _ in processes:
            outcomes.extend(results.get(timeout=300))
    finally:
        for process in processes:
            process.join(timeout=60)
        results.close()
        results.join_thread()
    assert [p.exitcode for p in processes] == [0] * PROCESSES
    assert sorted(outcome for outcome, _detail in outcomes) == ["booked"] + ["taken"] * (ATTEMPTS - 1), {
        detail for outcome, detail in outcomes if outcome == "error"}
    assert active_bookings(st, slot_id) == 1


# ---- two changes of one booking at once ---------------------------------------------------------

@pytest.fixture
def pending(st, make):  # type: ignore[no-untyped-def]
    """A pending booking for the first of two slots, and two operators who may decide on it."""
    olga = make.user("operator", email="olga@example.com")
    rui = make.user("operator", email="rui@example.com")
    ids = weekly_slots(st, olga, [make.channel().id], count=2)
    booking_id, token, _created = book(st, ids[0])
    return booking_id, token, ids, (olga, rui)


def interleaved(st) -> bool:  # type: ignore[no-untyped-def]
    return st.engine.dialect.name != "sqlite"


def confirming(operator):  # type: ignore[no-untyped-def]
    def change(session, booking):  # type: ignore[no-untyped-def]
        bookings.confirm(session, session.merge(operator), booking, now=START)
    return change


def linked(st, booking_id: int):  # type: ignore[no-untyped-def]
    with st.sessions() as session:
        booking = session.get(Booking, booking_id)
        return booking, booking_posts.linked_posts(session, booking)


def test_two_operators_confirming_at_once_put_the_session_on_the_calendar_once(app, st, pending):
    booking_id, _token, _ids, (olga, rui) = pending
    results = change_at_once(app, booking_id, [confirming(olga), confirming(rui)],
                             interleave=interleaved(st))
    assert sorted(outcome for outcome, _detail in results) == ["done", "refused"], results
    assert f"booking {booking_id} is confirmed; only pending bookings can be confirmed" in [
        detail for _outcome, detail in results]
    booking, posts = linked(st, booking_id)
    assert booking.status == "confirmed" and booking.ics_sequence == 1
    with st.sessions() as session:
        kinds = sorted(session.scalars(select(Post.kind)))
    assert kinds == ["announcement"] * 3 + ["guest_session"] == sorted(p.kind for p in posts)


def test_a_confirmation_racing_the_speakers_cancellation_leaves_no_live_post(app, st, pending):
    booking_id, _token, _ids, (olga, _rui) = pending

    def canceling(session, booking):  # type: ignore[no-untyped-def]
        bookings.cancel(session, booking, now=START)

    results = change_at_once(app, booking_id, [confirming(olga), canceling],
                             interleave=interleaved(st))
    booking, posts = linked(st, booking_id)
    assert booking.status == "canceled", results
    assert results[1] == ("done", "")  # the speaker's cancellation always stands
    if results[0] == ("done", ""):  # confirmed first: the cancellation withdrew what it drafted
        assert len(posts) == 4 and {p.status for p in posts} == {"canceled"}
    else:
        assert results[0] == ("refused", f"booking {booking_id} is canceled; only pending bookings "
                                         "can be confirmed")
        assert posts == []
    with st.sessions() as session:
        assert set(session.scalars(select(Post.status))) <= {"canceled"}


def test_a_confirmation_racing_a_move_puts_the_posts_at_the_new_time(app, st, pending):
    booking_id, _token, ids, (olga, _rui) = pending

    def moving(session, booking):  # type: ignore[no-untyped-def]
        bookings.reschedule(session, booking, ids[1], now=START)

    results = change_at_once(app, booking_id, [confirming(olga), moving],
                             interleave=interleaved(st))
    assert results == [("done", "")] * 2
    booking, posts = linked(st, booking_id)
    assert (booking.status, booking.slot_id) == ("confirmed", ids[1])
    session_post = next(p for p in posts if p.kind == "guest_session")
    assert session_post.scheduled_at == booking.slot.starts_at


def test_two_identical_submits_at_the_same_moment_are_one_booking(app, st, slot_id):
    start = threading.Barrier(2)
    found: list[object] = []

    def submit() -> None:
        with app.test_request_context():
            start.wait(timeout=60)
            with st.sessions() as session, session.begin():
                booked = bookings.book(session, slot_id, speaker(1), now=START, idempotency_key="k-1")
                found.append((booked.booking.id, booked.token, booked.created, booked.show_link))

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(created for _id, _token, created, _shown in found) == [False, True]
    assert len({booking_id for booking_id, *_rest in found}) == 1
    assert all(shown for *_rest, shown in found)  # a double click a moment apart: both see a link
    with st.sessions() as session:
        assert {bookings.by_token(session, token).id for _id, token, *_rest in found} == {found[0][0]}
    assert active_bookings(st, slot_id) == 1


def test_a_confirmation_waiting_behind_a_move_confirms_at_the_new_slot(app, st, pending):
    booking_id, _token, ids, (olga, _rui) = pending

    def moving(session, booking):  # type: ignore[no-untyped-def]
        bookings.reschedule(session, booking, ids[1], now=START)

    one_behind_another(app, booking_id, moving, confirming(olga))
    booking, posts = linked(st, booking_id)
    assert (booking.status, booking.slot_id) == ("confirmed", ids[1])
    assert {p.kind: p.scheduled_at for p in posts}["guest_session"] == booking.slot.starts_at
