"""One process of the booking race: many threads book the same slot at once, each with its own session."""

from __future__ import annotations

import threading
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
                    booking, _token, _created = bookings.book(session, slot_id, data,
                                                              now=st.clock.now())
                    outcome = ("booked", str(booking.id))
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
