"""One dispatcher tick: recover, expire, then claim and send until nothing more is due."""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.http import HttpClient
from planner.models import Channel, WorkerHeartbeat
from planner.services import delivery_outcomes, posts
from planner.services.delivery_outcomes import Outcome
from planner.state import PlannerState
from planner.worker import failpoints
from planner.worker.alerts import send_due_alerts
from planner.worker.claim import claim_due, next_ready_at
from planner.worker.send import send_claimed

log = logging.getLogger(__name__)
MAX_ROUNDS_PER_TICK = 10_000
MAX_NAP_SECONDS = 1.0


@dataclass
class TickReport:
    recovered: int = 0
    expired_posts: list[int] = field(default_factory=list)
    expired_deliveries: int = 0
    sent: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    alerts: int = 0


class Dispatcher:
    """Claims due deliveries and sends them, several at a time, each target at its own pace."""

    def __init__(self, state: PlannerState, worker_id: str | None = None,
                 concurrency: int | None = None) -> None:
        self.state = state
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.concurrency = concurrency or state.config["DISPATCH_CONCURRENCY"]
        self.stopping = threading.Event()
        self.started_at = state.clock.now()
        self._clients: list[HttpClient] = []
        self._idle_clients: queue.SimpleQueue[HttpClient] = queue.SimpleQueue()

    def tick(self, until: datetime | None = None) -> TickReport:
        """Send what is due. With ``until``, stay on until then, waking exactly when the next
        delivery falls due or a busy target is free again, so nothing waits for the next tick."""
        report = TickReport()
        self._housekeeping(report)
        for _ in range(MAX_ROUNDS_PER_TICK):
            if self.stopping.is_set():
                break
            now = self.state.clock.now()
            claimed = claim_due(self.state, self.worker_id, now,
                                self.state.config["DISPATCH_BATCH_SIZE"])
            if not claimed:
                wake = next_ready_at(self.state, now) if until is not None else None
                if wake is None or wake >= until:
                    break
                # At most a second: a post approved meanwhile may fall due sooner than ``wake``.
                self.stopping.wait(min(MAX_NAP_SECONDS, (wake - now).total_seconds()))
                continue
            failpoints.hit("after_claim")
            for outcome in self._send_all(claimed):
                if outcome is not None:
                    report.sent += 1
                    report.outcomes[outcome.status] = report.outcomes.get(outcome.status, 0) + 1
        if not self.stopping.is_set():
            client = self._borrow_client()
            try:
                report.alerts = send_due_alerts(self.state, client)
            finally:
                self._idle_clients.put(client)
        return report

    def _send_all(self, claimed: list[int]) -> list[Outcome | None]:
        if self.concurrency == 1 or len(claimed) == 1:
            return [self._send_one(delivery_id) for delivery_id in claimed]
        workers = min(self.concurrency, len(claimed))
        with ThreadPoolExecutor(workers, thread_name_prefix="planner-send") as pool:
            return list(pool.map(self._send_one, claimed))

    def _send_one(self, delivery_id: int) -> Outcome | None:
        """Send one claimed delivery, or give it back untouched when the dispatcher is stopping."""
        if self.stopping.is_set():
            self._release([delivery_id])
            return None
        client = self._borrow_client()
        try:
            return send_claimed(self.state, delivery_id, self.worker_id, client)
        finally:
            self._idle_clients.put(client)

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
            report.recovered = delivery_outcomes.recover_expired_leases(
                session, self._safe_to_resend, now=now)
            report.expired_posts = posts.expire_overdue(session, now=now)
            report.expired_deliveries = delivery_outcomes.expire_late(session, now=now)

    def _safe_to_resend(self, channel: Channel) -> bool:
        """Whether resending to this channel after a lost answer cannot publish twice."""
        if channel.kind not in self.state.registry:
            return False
        kind = self.state.registry.get(channel.kind)
        return kind.capabilities_for(channel.settings).safe_to_resend

    def _release(self, delivery_ids: list[int]) -> None:
        with self.state.sessions() as session, session.begin():
            for delivery_id in delivery_ids:
                delivery_outcomes.release(session, delivery_id, self.worker_id, now=self.state.clock.now())

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
