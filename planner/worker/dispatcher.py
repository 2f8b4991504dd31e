"""One dispatcher tick: recover, expire, then claim and send until nothing more is due.

Sending threads are fed as they free up: while they work, the dispatcher claims the next deliveries
(up to three per thread ahead) and records finished sends two waves at a time, so neither a claim nor
a record waits for the slowest send of a round, and few statements are spent on each delivery.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.http import HttpClient
from planner.models import Channel, WorkerHeartbeat
from planner.services import delivery_outcomes, delivery_recovery, posts
from planner.services.delivery_outcomes import Finished
from planner.state import PlannerState
from planner.worker import failpoints
from planner.worker.alerts import send_due_alerts
from planner.worker.claim import Candidates, claim_batch, next_ready_at
from planner.worker.jobs import JobMaker
from planner.worker.senders import Result, Senders

log = logging.getLogger(__name__)
MAX_ROUNDS_PER_TICK = 1_000_000
MAX_NAP_SECONDS = 1.0
RECORD_AFTER_SECONDS = 0.2  # a finished send waits at most this long for others to be recorded with


@dataclass
class TickReport:
    recovered: int = 0
    expired_posts: list[int] = field(default_factory=list)
    expired_deliveries: int = 0
    sent: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    alerts: int = 0


class _Stopping(threading.Event):
    """The dispatcher's stop flag; setting it also wakes a dispatcher waiting for its senders."""

    def __init__(self, wake: Callable[[], None]) -> None:
        super().__init__()
        self._wake = wake

    def set(self) -> None:
        super().set()
        self._wake()


class Dispatcher:
    """Claims due deliveries and sends them, several at a time, each target at its own pace."""

    def __init__(self, state: PlannerState, worker_id: str | None = None,
                 concurrency: int | None = None) -> None:
        self.state = state
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.concurrency = concurrency or state.config["DISPATCH_CONCURRENCY"]
        self._results: queue.SimpleQueue[Result | None] = queue.SimpleQueue()
        self.stopping: threading.Event = _Stopping(lambda: self._results.put(None))
        self.started_at = state.clock.now()
        self._clients: list[HttpClient] = []
        self._idle_clients: queue.SimpleQueue[HttpClient] = queue.SimpleQueue()
        self._jobs = JobMaker(state)
        self._busy: Counter[int] = Counter()  # posts with deliveries in flight, and how many

    def tick(self, until: datetime | None = None) -> TickReport:
        """Send what is due. With ``until``, stay on until then, waking exactly when the next
        delivery falls due or a busy target is free again, so nothing waits for the next tick; then
        finish the sends in flight and return."""
        report = TickReport()
        self._housekeeping(report)
        self._jobs.new_tick()
        self._busy = Counter()
        senders = Senders(self.state, self.worker_id, self.concurrency, self.stopping,
                          self._borrow_client, self._idle_clients.put, self._results)
        try:
            self._dispatch(report, senders, until)
        except BaseException:
            senders.abandon()  # what has not started goes back unsent
            raise
        finally:
            senders.close()
            self._record_leftovers(report)
        if not self.stopping.is_set():
            client = self._borrow_client()
            try:
                report.alerts = send_due_alerts(self.state, client)
            finally:
                self._idle_clients.put(client)
        return report

    def _dispatch(self, report: TickReport, senders: Senders, until: datetime | None) -> None:
        # At most a wave of sends running and three waiting; a claim (of two waves or more) comes
        # while two waves still wait, so the senders never run dry while it is made.
        wave = self.concurrency
        most = 4 * wave
        half_lease = timedelta(seconds=self.state.config["LEASE_SECONDS"]) / 2
        candidates = Candidates(spread=self.state.engine.dialect.name == "postgresql")
        out = 0  # handed to the senders, not finished
        finished: list[Result] = []
        oldest = 0.0  # when the first of ``finished`` came in (monotonic)
        claim_at = 0.0  # before this (monotonic), a claim would find nothing new
        for _ in range(MAX_ROUNDS_PER_TICK):
            # Past ``until`` nothing more is claimed: the tick ends, and the next one tidies up
            # first (leases of dispatchers that died, expired deliveries) even under a long queue.
            room = (not self.stopping.is_set() and out <= most - 2 * wave
                    and (until is None or self.state.clock.now() < until))
            if room and (out == 0 or time.monotonic() >= claim_at):
                now = self.state.clock.now()
                batch = claim_batch(self.state, self.worker_id, now,
                                    min(self.state.config["DISPATCH_BATCH_SIZE"], most - out),
                                    candidates)
                if batch:
                    failpoints.hit("after_claim")
                    for claimed in batch:
                        self._busy[claimed.post.id] += 1
                        senders.submit(self._jobs.make(claimed), now + half_lease)
                    out += len(batch)
                elif out == 0 and until is None:
                    break
                else:
                    wake = next_ready_at(self.state, now)
                    pause = MAX_NAP_SECONDS if wake is None else \
                        min(MAX_NAP_SECONDS, (wake - now).total_seconds())
                    claim_at = time.monotonic() + pause
                    if out == 0:
                        self._record(report, finished)
                        finished = []
                        if until is None or wake is None or wake >= until:
                            break
                        # At most a second: a post approved meanwhile may fall due sooner.
                        self._wait(pause)
                        continue
            elif out == 0:
                break
            deadlines = [claim_at] if room else []
            if finished:
                deadlines.append(oldest + RECORD_AFTER_SECONDS)
            came = self._wait(min(deadlines) - time.monotonic() if deadlines else None)
            if came and not finished:
                oldest = time.monotonic()
            finished += came
            out -= len(came)
            if (len(finished) >= 2 * wave or out == 0 or self.stopping.is_set()
                    or (finished and time.monotonic() >= oldest + RECORD_AFTER_SECONDS)):
                self._record(report, finished)
                finished = []
        while out > 0:  # only if the rounds ran out: record what is still on its way
            came = self._wait(None)
            finished += came
            out -= len(came)
        self._record(report, finished)

    def _wait(self, timeout: float | None) -> list[Result]:
        """What the senders finished: wait up to ``timeout`` (None: for ever) for the first, then
        take whatever else is there. Returns early, maybe empty, when the dispatcher is told to stop."""
        try:
            first = self._results.get(timeout=timeout) if timeout is None or timeout > 0 else \
                self._results.get_nowait()
        except queue.Empty:
            return []
        came = [first]
        while True:
            try:
                came.append(self._results.get_nowait())
            except queue.Empty:
                break
        return [result for result in came if result is not None]

    def _record_leftovers(self, report: TickReport) -> None:
        """After a tick that failed half-way: record what its sends came to, if the database lets."""
        leftovers = self._wait(0)
        while more := self._wait(0):
            leftovers += more
        if leftovers:
            try:
                self._record(report, leftovers)
            except Exception:  # the leases run out, and the next tick recovers them
                log.exception("could not record %s sends after a failed tick", len(leftovers))

    def _record(self, report: TickReport, finished: list[Result]) -> None:
        for result in finished:
            self._busy[result.job.post_id] -= 1
        self._busy = +self._busy  # drops posts with nothing in flight
        sent = [(r.job, r.outcome, r.at) for r in finished if r.outcome is not None]
        unsent = [r.job.delivery_id for r in finished if r.outcome is None]
        if sent:
            with self.state.sessions() as session, session.begin():
                recorded = delivery_outcomes.record_outcomes(
                    session, self.worker_id,
                    [Finished(job.delivery_id, outcome, at, job.attempt_id)
                     for job, outcome, at in sent],
                    max_attempts=self.state.config["MAX_ATTEMPTS"], busy_posts=self._busy)
                failpoints.hit("while_recording")  # the outcomes are written but not committed
            for job, outcome, _at in sent:
                status = str(outcome.status)
                report.sent += 1
                report.outcomes[status] = report.outcomes.get(status, 0) + 1
                if job.delivery_id not in recorded:
                    log.warning("delivery %s: lease lost before the outcome (%s) was recorded",
                                job.delivery_id, status)
        if unsent:
            self._release(unsent)

    def _borrow_client(self) -> HttpClient:
        """HTTP clients are reused across sends (kept-alive connections) but never shared at once."""
        try:
            return self._idle_clients.get_nowait()
        except queue.Empty:
            client = HttpClient(connect_timeout=self.state.config["HTTP_CONNECT_TIMEOUT"],
                                read_timeout=self.state.config["HTTP_READ_TIMEOUT"])
            self._clients.append(client)
            return client

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _housekeeping(self, report: TickReport) -> None:
        with self.state.sessions() as session, session.begin():
            now = self.state.clock.now()
            report.recovered = delivery_recovery.recover_expired_leases(
                session, self._safe_to_resend, now=now)
            report.expired_posts = posts.expire_overdue(session, now=now)
            report.expired_deliveries = delivery_recovery.expire_late(session, now=now)

    def _safe_to_resend(self, channel: Channel) -> bool:
        """Whether resending to this channel after a lost answer cannot publish twice."""
        if channel.kind not in self.state.registry:
            return False
        kind = self.state.registry.get(channel.kind)
        return kind.capabilities_for(channel.settings).safe_to_resend

    def _release(self, delivery_ids: list[int]) -> None:
        with self.state.sessions() as session, session.begin():
            for delivery_id in delivery_ids:
                delivery_recovery.release(session, delivery_id, self.worker_id,
                                          now=self.state.clock.now())

    def heartbeat(self, *, stopped: bool = False) -> None:
        now = self.state.clock.now()
        with self.state.sessions() as session, session.begin():
            row = session.get(WorkerHeartbeat, self.worker_id)
            if row is None:
                row = WorkerHeartbeat(worker_id=self.worker_id, hostname=socket.gethostname(),
                                      pid=os.getpid(), started_at=self.started_at, last_seen_at=now)
                session.add(row)
            row.last_seen_at = now
            row.stopped_at = now if stopped else None


def worker_alive(session: Session, state: PlannerState) -> tuple[bool, WorkerHeartbeat | None]:
    """Whether a dispatcher has beaten recently, and the latest heartbeat."""
    beat = session.scalars(
        select(WorkerHeartbeat).where(WorkerHeartbeat.stopped_at.is_(None))
        .order_by(WorkerHeartbeat.last_seen_at.desc()).limit(1)
    ).first()
    if beat is None:
        return False, None
    age = (state.clock.now() - beat.last_seen_at).total_seconds()
    return age <= state.config["HEARTBEAT_STALE_SECONDS"], beat
