"""The sending threads of one tick: each takes the next job as soon as it is free.

A thread gives a job back unsent (its result is ``None``) when the dispatcher is stopping, or when the
job waited in the queue for more than half its lease: the lease could then run out during the send,
and another dispatcher take the delivery for lost while it is still on its way.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from planner.http import HttpClient
from planner.services.delivery_outcomes import Outcome
from planner.state import PlannerState
from planner.worker.jobs import Job
from planner.worker.send import send_job


@dataclass(frozen=True)
class Result:
    job: Job
    outcome: Outcome | None  # None: given back unsent
    at: datetime


class Senders:
    def __init__(self, state: PlannerState, worker_id: str, size: int, stopping: threading.Event,
                 borrow: Callable[[], HttpClient], give_back: Callable[[HttpClient], None],
                 results: queue.SimpleQueue[Result | None]) -> None:
        self.state, self.worker_id, self.size = state, worker_id, size
        self.stopping, self.results = stopping, results
        self._borrow, self._give_back = borrow, give_back
        self._jobs: queue.SimpleQueue[tuple[Job, datetime] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._abandoned = False

    def submit(self, job: Job, send_by: datetime) -> None:
        if not self._threads:
            self._threads = [threading.Thread(target=self._work, name=f"planner-send-{n}",
                                              daemon=True) for n in range(self.size)]
            for thread in self._threads:
                thread.start()
        self._jobs.put((job, send_by))

    def abandon(self) -> None:
        """Give back every job not started yet, unsent (the dispatcher failed)."""
        self._abandoned = True

    def close(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()
        self._threads = []

    def _work(self) -> None:
        http = self._borrow()
        try:
            while (item := self._jobs.get()) is not None:
                job, send_by = item
                outcome = None
                if (not self.stopping.is_set() and not self._abandoned
                        and self.state.clock.now() <= send_by):
                    outcome = send_job(self.state, job, self.worker_id, http)
                self.results.put(Result(job, outcome, self.state.clock.now()))
        finally:
            self._give_back(http)
