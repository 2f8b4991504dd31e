"""Report figures beyond publishing: guest sessions and feed curation.

A report's channel or tag narrows guest sessions to the slots whose session goes to that channel, and
feed items to the feeds whose default channels include it; a kind other than ``guest_session`` leaves
no guest sessions, and does not narrow feed items (they have no kind until someone shares one).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session

from planner.models import Booking, BookingStatus, FeedItem, FeedItemState, Slot
from planner.services.report_periods import Period, dialect, seconds_between
from planner.services.report_scope import Scope

GUEST_SESSIONS = ("booked", "confirmed", "held", "declined", "canceled")


def guest_sessions(session: Session, period: Period, scope: Scope, *, now: datetime) -> dict[str, int]:
    """Bookings of slots that start in the period: made, confirmed, held (confirmed and over by
    now), declined and canceled."""
    database = dialect(session)
    since_start = seconds_between(database, Slot.starts_at, literal(now, Slot.starts_at.type))
    over = and_(Booking.status == BookingStatus.confirmed, since_start >= Slot.duration_minutes * 60)
    query = scope.slots(
        select(Booking.status, func.count(Booking.id), func.sum(case((over, 1), else_=0)))
        .join(Slot, Slot.id == Booking.slot_id)
        .where(Slot.starts_at >= period.start, Slot.starts_at < period.end)
        .group_by(Booking.status), database)
    if query is None:
        return dict.fromkeys(GUEST_SESSIONS, 0)
    rows = session.execute(query).all()
    by_status = {status: count for status, count, _held in rows}
    return {
        "booked": sum(by_status.values()),
        "confirmed": by_status.get(BookingStatus.confirmed, 0),
        "held": sum(int(held or 0) for _status, _count, held in rows),
        "declined": by_status.get(BookingStatus.declined, 0),
        "canceled": by_status.get(BookingStatus.canceled, 0),
    }


def feed_curation(session: Session, period: Period, scope: Scope) -> dict[str, int]:
    """Feed items that arrived in the period, and the triage decisions made in it."""
    decided = and_(FeedItem.state_changed_at >= period.start, FeedItem.state_changed_at < period.end)
    arrived = session.scalar(scope.feed_items(select(func.count(FeedItem.id)).where(
        FeedItem.found_at >= period.start, FeedItem.found_at < period.end))) or 0
    counts = dict(session.execute(scope.feed_items(
        select(FeedItem.state, func.count(FeedItem.id)).where(decided).group_by(FeedItem.state))).all())
    return {
        "arrived": arrived,
        "triaged": sum(counts.get(s, 0) for s in (FeedItemState.dismissed, FeedItemState.starred,
                                                   FeedItemState.used)),
        "shared": counts.get(FeedItemState.used, 0),
        "dismissed": counts.get(FeedItemState.dismissed, 0),
    }
