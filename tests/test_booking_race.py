"""Never two bookings for one slot: 200 attempts at once, from threads and from processes."""

from __future__ import annotations

import multiprocessing
import threading

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from planner.models import Booking
from tests.booking_helpers import weekly_slots
from tests.booking_race import book_at_once, process_main

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
