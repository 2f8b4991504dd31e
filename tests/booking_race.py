"""Races on bookings: many threads book the same slot at once, each with its own session; two changes
of one booking (two operators confirming, a confirmation and the speaker's cancellation) at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from planner.clock import ManualClock
from planner.errors import PlannerError
from planner.services import bookings
from planner.services.bookings import BookingInput, SlotTaken
from planner.state import state


def book_at_once(app: Any, slot_id: int, numbers: list[int],
                 sessions: Any = None) -> list[tuple[str, str]]:
    """Every number books ``slot_id`` from its own thread; returns (outcome, detail) per attempt."""
    results: list[tuple[str, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(len(numbers))

    def attempt(number: int) -> None:
        st = state(app)
        new_session = sessions or st.sessions
        data = BookingInput(name=f"Speaker {number}", email=f"speaker{number}@example.org",
                            topic="Racing", abstract="Who gets the slot?")
        with app.test_request_context():  # messages are translated for a request
            start.wait(timeout=60)
            try:
                with new_session() as session, session.begin():
                    booked = bookings.book(session, slot_id, data, now=st.clock.now())
                    outcome = ("booked", str(booked.booking.id))
            except SlotTaken as error:
                outcome = ("taken", error.message)
            except PlannerError as error:
                outcome = ("refused", error.message)
            except Exception as error:  # noqa: BLE001 - the test reports anything unexpected
                outcome = ("error", repr(error))
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def change_at_once(app: Any, booking_id: int, changes: list[Callable[[Any, Any], object]], *,
                   interleave: bool) -> list[tuple[str, str]]:
    """Each change runs in its own thread and session, as a request does: it reads the booking, then
    changes it; returns (outcome, detail) per change, in the order given.

    With ``interleave`` every thread has read the booking before any of them changes it: the moment
    a check-then-act goes wrong. (Only on PostgreSQL: SQLite's writers take turns from their first
    read, so there they simply start together.)
    """
    st = state(app)
    results: list[tuple[str, str]] = [("error", "did not finish")] * len(changes)
    start = threading.Barrier(len(changes))

    def run(number: int) -> None:
        with app.test_request_context():
            try:
                if not interleave:
                    start.wait(timeout=60)
                with st.sessions() as session, session.begin():
                    booking = bookings.get_booking(session, booking_id)
                    if interleave:
                        start.wait(timeout=60)
                    changes[number](session, booking)
                results[number] = ("done", "")
            except PlannerError as error:
                results[number] = ("refused", error.message)
            except Exception as error:  # noqa: BLE001 - the test reports anything unexpected
                results[number] = ("error", repr(error))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(changes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def one_behind_another(app: Any, booking_id: int, first: Callable[[Any, Any], object],
                       second: Callable[[Any, Any], object]) -> None:
    """``second`` reads the booking and changes it while ``first`` holds it changed but uncommitted,
    so ``second`` waits for the row lock and goes on with what ``first`` committed. (On SQLite the
    second writer cannot even start before the first commits, so there they simply run in turn.)"""
    st = state(app)
    if st.engine.dialect.name == "sqlite":
        for change in (first, second):
            with app.test_request_context(), st.sessions() as session, session.begin():
                change(session, bookings.get_booking(session, booking_id))
        return
    holding, failures = threading.Event(), []

    def run_second() -> None:
        holding.wait(timeout=60)
        try:
            with app.test_request_context(), st.sessions() as session, session.begin():
                second(session, bookings.get_booking(session, booking_id))
        except Exception as error:  # noqa: BLE001 - the test reports it
            failures.append(error)

    waiting = threading.Thread(target=run_second)
    waiting.start()
    with app.test_request_context(), st.sessions() as session, session.begin():
        first(session, bookings.get_booking(session, booking_id))
        session.flush()
        holding.set()
        _until_a_session_waits_for_a_lock(st)
    waiting.join(timeout=60)
    if failures:
        raise failures[0]


def _until_a_session_waits_for_a_lock(st: Any) -> None:
    from sqlalchemy import text

    pause = threading.Event()
    with st.engine.connect() as conn:
        for _ in range(6000):
            if conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                 "current_database() AND wait_event_type = 'Lock'")).scalar():
                return
            conn.rollback()
            pause.wait(0.01)
    raise AssertionError("the second change never waited for the booking's lock")


def process_main(database_url: str, instance: str, now_iso: str, slot_id: int, numbers: list[int],
                 ready: Any, results: Any) -> None:
    """The body of one racing process: its own app, engine and connections."""
    from datetime import datetime

    from sqlalchemy import create_engine

    from planner import create_app
    from planner.db import make_engine, make_session_factory, normalise_url

    app = create_app({"INSTANCE_PATH": instance, "DATABASE_URL": database_url,
                      "SECRET_KEY": "race", "CLOCK": ManualClock(datetime.fromisoformat(now_iso)),
                      "CHANNEL_KINDS": ["outbox"]})
    # A few connections per process: the threads queue for them, and the server keeps room for others.
    engine = make_engine(database_url)
    if engine.dialect.name != "sqlite":
        engine.dispose()
        engine = create_engine(normalise_url(database_url), pool_size=3, max_overflow=0)
    try:
        ready.wait(timeout=120)  # every process starts racing at the same moment
        results.put(book_at_once(app, slot_id, numbers, make_session_factory(engine)))
    finally:
        engine.dispose()
        state(app).engine.dispose()
