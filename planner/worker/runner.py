"""Running the dispatcher: APScheduler is only its clock; what is due lives in our own tables.

On SQLite exactly one dispatcher may run: it holds an exclusive lock on a file beside the database,
which the operating system releases if the process dies.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import make_url

from planner.feeds.poller import poll_due_feeds
from planner.state import PlannerState
from planner.worker import series
from planner.worker.dispatcher import Dispatcher

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 10


class DispatcherAlreadyRunning(RuntimeError):
    pass


class SingleDispatcherLock:
    def __init__(self, state: PlannerState) -> None:
        database = make_url(state.engine.url).database or "planner"
        self.path = Path(f"{database}.dispatcher.lock")
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise DispatcherAlreadyRunning(
                f"another dispatcher ({holder}) is already running on this SQLite database. "
                "SQLite allows exactly one: stop it first, or move to PostgreSQL to run several."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class DispatcherService:
    """The dispatcher with its clock, started in the background (``serve``) or in the foreground."""

    def __init__(self, state: PlannerState) -> None:
        self.state = state
        self.dispatcher = Dispatcher(state)
        self.lock = SingleDispatcherLock(state) if state.engine.dialect.name == "sqlite" else None
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self._first_tick: datetime | None = None

    def start(self) -> None:
        if self.lock is not None:
            self.lock.acquire()
        interval = self.state.config["DISPATCH_INTERVAL_SECONDS"]
        self.dispatcher.heartbeat()
        self._first_tick = self.state.clock.now()
        options = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        self.scheduler.add_job(self._tick, "interval", seconds=interval, id="dispatch",
                               next_run_time=self._first_tick, **options)
        self.scheduler.add_job(self.dispatcher.heartbeat, "interval", seconds=HEARTBEAT_SECONDS,
                               id="heartbeat", **options)
        self.scheduler.add_job(series.materialise_series, "interval", args=[self.state],
                               seconds=series.INTERVAL_SECONDS, id="series",
                               next_run_time=self.state.clock.now(), **options)
        self.scheduler.add_job(poll_due_feeds, "interval", args=[self.state], id="feeds",
                               seconds=self.state.config["FEED_POLL_SECONDS"],
                               next_run_time=self.state.clock.now(), **options)
        self.scheduler.start()
        log.info("dispatcher %s started", self.dispatcher.worker_id)

    def _tick(self) -> None:
        # Stay on until just before the clock's next tick, so a delivery that falls due in
        # between goes out on time. When slow sends run past that moment the scheduler skips its
        # next tick, so keep ticking here until a tick ends inside its window.
        try:
            while not self.dispatcher.stopping.is_set():
                until = self._window_end()
                self.dispatcher.tick(until=until)
                if self.state.clock.now() < until:
                    return
        except Exception:  # the next tick tries again; the error must not stop the clock
            log.exception("dispatcher tick failed")

    def _window_end(self) -> datetime:
        """Just before the clock's next tick. Worked out from the first tick rather than asked of the
        scheduler: its job store lock is held by ``shutdown`` while it waits for this very tick."""
        interval = timedelta(seconds=self.state.config["DISPATCH_INTERVAL_SECONDS"])
        now = self.state.clock.now()
        first = self._first_tick or now
        ticks_so_far = max(0, (now - first) // interval)
        return first + (ticks_so_far + 1) * interval - timedelta(milliseconds=50)

    def stop(self) -> None:
        """Finish the send in flight, give back what was claimed but not sent, then stop."""
        self.dispatcher.stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.dispatcher.close()
        self.dispatcher.heartbeat(stopped=True)
        if self.lock is not None:
            self.lock.release()
        log.info("dispatcher %s stopped", self.dispatcher.worker_id)

    def run_forever(self) -> None:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.start()
        try:
            stop.wait()
        finally:
            self.stop()
