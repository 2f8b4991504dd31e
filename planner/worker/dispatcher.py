"""One dispatcher tick: recover, expire, then claim and send until nothing more is due."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.http import HttpClient
from planner.models import WorkerHeartbeat
from planner.services import deliveries, posts
from planner.state import PlannerState
from planner.worker.claim import claim_due
from planner.worker.send import send_claimed

log = logging.getLogger(__name__)
MAX_ROUNDS_PER_TICK = 50


@dataclass
class TickReport:
    recovered: int = 0
    expired_posts: list[int] = field(default_factory=list)
    expired_deliveries: int = 0
    sent: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


class Dispatcher:
    def __init__(self, state: PlannerState, worker_id: str | None = None,
                 http: HttpClient | None = None) -> None:
        self.state = state
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.http = http or HttpClient()
        self.stopping = threading.Event()
        self.started_at = state.clock.now()

    def tick(self) -> TickReport:
        report = TickReport()
        self._housekeeping(report)
        for _ in range(MAX_ROUNDS_PER_TICK):
            if self.stopping.is_set():
                break
            claimed = claim_due(self.state, self.worker_id, self.state.clock.now(),
                                self.state.config["DISPATCH_BATCH_SIZE"])
            if not claimed:
                break
            for index, delivery_id in enumerate(claimed):
                if self.stopping.is_set():
                    self._release(claimed[index:])
                    break
                outcome = send_claimed(self.state, delivery_id, self.worker_id, self.http)
                report.sent += 1
                report.outcomes[outcome.status] = report.outcomes.get(outcome.status, 0) + 1
        return report

    def _housekeeping(self, report: TickReport) -> None:
        idempotent = {kind.name for kind in self.state.registry if kind.capabilities.safe_to_resend}
        with self.state.sessions() as session, session.begin():
            now = self.state.clock.now()
            report.recovered = deliveries.recover_expired_leases(session, idempotent, now=now)
            report.expired_posts = posts.expire_overdue(session, now=now)
            report.expired_deliveries = deliveries.expire_late(session, now=now)

    def _release(self, delivery_ids: list[int]) -> None:
        with self.state.sessions() as session, session.begin():
            for delivery_id in delivery_ids:
                deliveries.release(session, delivery_id, self.worker_id, now=self.state.clock.now())

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
