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

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from planner.models import Delivery, DeliveryStatus
from planner.services.report_periods import Period, percentiles, seconds_between
from planner.services.report_scope import Scope

SETTLED = (DeliveryStatus.sent, DeliveryStatus.failed, DeliveryStatus.expired, DeliveryStatus.unconfirmed)
# Lateness bands beyond the tolerance, in seconds: up to 15 minutes, an hour, a day, and later.
BANDS = (("late_15m", 15 * 60), ("late_1h", 3600), ("late_1d", 86400))


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


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


def lateness(session: Session, period: Period, scope: Scope, tolerance_seconds: int,
             now: datetime) -> list[dict[str, Any]]:
    """How many due deliveries fall in each lateness band, the unsent ones last: one grouped query."""
    late = seconds_between(_dialect(session), Delivery.due_at, Delivery.sent_at)
    named = bands(tolerance_seconds)
    sent = and_(Delivery.status == DeliveryStatus.sent, Delivery.sent_at.is_not(None))
    band = case(*((and_(sent, late <= limit), index) for index, (_name, limit) in enumerate(named[:-2])),
                (sent, len(named) - 2), else_=len(named) - 1)
    query = due_deliveries(period, scope, tolerance_seconds, now).with_only_columns(
        band.label("band"), func.count(Delivery.id)).group_by(band)
    counts = dict(session.execute(query).all())
    return [{"band": name, "up_to_seconds": limit, "deliveries": int(counts.get(index, 0))}
            for index, (name, limit) in enumerate(named)]


def punctuality(session: Session, period: Period, scope: Scope, tolerance_seconds: int,
                now: datetime, bands_found: list[dict[str, Any]]) -> dict[str, Any]:
    """The on-time rate over the due deliveries, and the lateness percentiles of the sent ones."""
    by_band = {row["band"]: row["deliveries"] for row in bands_found}
    due = sum(by_band.values())
    sent = due - by_band["not_sent"]
    lateness_of_sent = seconds_between(_dialect(session), Delivery.due_at, Delivery.sent_at)
    spread = percentiles(session, lateness_of_sent, due_deliveries(period, scope, tolerance_seconds, now)
                         .where(Delivery.status == DeliveryStatus.sent, Delivery.sent_at.is_not(None)))
    return {
        "due": due,
        "sent": sent,
        "on_time": by_band["on_time"],
        "late": sent - by_band["on_time"],
        "not_sent": by_band["not_sent"],
        "on_time_rate": None if not due else by_band["on_time"] / due,
        "tolerance_seconds": tolerance_seconds,
        "lateness_seconds": {f"p{round(p * 100)}": v for p, v in spread.items()},
    }
