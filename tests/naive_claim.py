"""A deliberately naive claim (select, then update) kept as a control for the concurrency tests.

It reads the due deliveries in one transaction and marks them in another, so two dispatchers that
read at the same moment both take the same rows. The tests show their checks catch exactly that.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import select, update

from planner.models import Delivery, DeliveryStatus
from planner.models.delivery import WAITING
from planner.state import PlannerState


def naive_claim_due(state: PlannerState, worker_id: str, now: datetime, limit: int,
                    between: threading.Barrier | None = None) -> list[int]:
    with state.sessions() as session, session.begin():
        due = list(session.scalars(
            select(Delivery.id).where(Delivery.status.in_(WAITING), Delivery.next_attempt_at <= now)
            .order_by(Delivery.id).limit(limit)))
    if between is not None:
        between.wait(timeout=10)  # the other dispatcher reads the same rows meanwhile
    with state.sessions() as session, session.begin():
        for delivery_id in due:
            session.execute(update(Delivery).where(Delivery.id == delivery_id).values(
                status=DeliveryStatus.sending, lease_owner=worker_id,
                lease_expires_at=now + timedelta(seconds=120)))
    return due
