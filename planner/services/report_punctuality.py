"""On time: of the deliveries that were due, how many went out within the tolerance, and how late.

A delivery counts once it was due in the period and its outcome is known: sent, failed, expired or
unconfirmed, or still waiting although its tolerance has run out (it can no longer be on time).
Canceled deliveries were withdrawn, not missed, and deliveries still inside their tolerance may yet
be on time: neither counts. So the on-time rate is "sent on time ÷ everything that was due", and a
failed or expired delivery lowers it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, or_, select
from sqlalchemy.orm import Session

from planner.models import Delivery, DeliveryStatus
from planner.services.report_periods import Period, dialect, seconds_between, spread
from planner.services.report_scope import Scope

SETTLED = (DeliveryStatus.sent, DeliveryStatus.failed, DeliveryStatus.expired, DeliveryStatus.unconfirmed)
# Lateness bands beyond the tolerance, in seconds: up to 15 minutes, an hour, a day, and later.
BANDS = (("late_15m", 15 * 60), ("late_1h", 3600), ("late_1d", 86400))



def due_deliveries(period: Period, scope: Scope, tolerance_seconds: int, now: datetime) -> Any:
    """The deliveries the on-time rate is taken over (see the module's docstring)."""
    return scope.deliveries(select(Delivery.id).where(
        Delivery.due_at >= period.start, Delivery.due_at < period.end,
        or_(Delivery.status.in_(SETTLED),
            and_(Delivery.status != DeliveryStatus.canceled,
                 Delivery.due_at <= now - timedelta(seconds=tolerance_seconds)))))


def bands(tolerance_seconds: int) -> list[tuple[str, int | None]]:
    """``(band, up to seconds late)``: on time, the lateness bands above the tolerance, later, not sent."""
    wider = [(name, limit) for name, limit in BANDS if limit > tolerance_seconds]
    return [("on_time", tolerance_seconds), *wider, ("later", None), ("not_sent", None)]


def punctuality(session: Session, period: Period, scope: Scope, tolerance_seconds: int,
                now: datetime) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The on-time rate with the lateness percentiles of the sent deliveries, and how many due
    deliveries fall in each lateness band (the unsent ones last): one query, reading the due
    deliveries once."""
    sent = and_(Delivery.status == DeliveryStatus.sent, Delivery.sent_at.is_not(None))
    late = case((sent, seconds_between(dialect(session), Delivery.due_at, Delivery.sent_at)))
    named = bands(tolerance_seconds)
    limits = [limit for _name, limit in named[:-2] if limit is not None]
    found = spread(session, late, due_deliveries(period, scope, tolerance_seconds, now), limits)
    # Rows at most each limit late, then every sent one, then every due one: each band is the
    # difference between its bound and the one before.
    bounds = [0, *found.at_most, found.measured, found.rows]
    lateness = [{"band": name, "up_to_seconds": limit, "deliveries": bounds[index + 1] - bounds[index]}
                for index, (name, limit) in enumerate(named)]
    on_time, due = found.at_most[0], found.rows
    return {
        "due": due,
        "sent": found.measured,
        "on_time": on_time,
        "late": found.measured - on_time,
        "not_sent": due - found.measured,
        "on_time_rate": None if not due else on_time / due,
        "tolerance_seconds": tolerance_seconds,
        "lateness_seconds": {f"p{round(p * 100)}": v for p, v in found.percentiles.items()},
    }, lateness
