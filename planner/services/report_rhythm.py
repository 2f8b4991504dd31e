"""Activity rhythm: how many deliveries each channel got per local day, against the workspace's
daily limit, and how many came sooner after the channel's previous send than its minimum gap."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Integer, and_, case, func, literal, select
from sqlalchemy.orm import Session

from planner.models import Channel, Delivery, DeliveryStatus
from planner.services.report_periods import Period, dialect, local_day, seconds_between
from planner.services.report_scope import Scope


def rhythm(session: Session, period: Period, scope: Scope, daily_limit: int,
           min_gap_seconds: int = 0) -> list[dict[str, Any]]:
    """Per channel: sent deliveries per local day against the daily limit (0: none), and the sends
    in the period that came less than the minimum gap (0: none) after the channel's previous send,
    which may fall just before the period. One query: the sends are read (and, with a minimum gap,
    put in order per channel) once, counted per channel and day, then summed per channel."""
    database = dialect(session)
    day = local_day(database, Delivery.sent_at, period)
    columns = [Delivery.channel_id, Delivery.sent_at, day.label("day")]
    since = period.start
    if min_gap_seconds > 0:
        columns.append(func.lag(Delivery.sent_at).over(partition_by=Delivery.channel_id,
                                                       order_by=Delivery.sent_at).label("previous"))
        since -= timedelta(seconds=min_gap_seconds)
    sends = scope.deliveries(select(*columns).where(
        Delivery.status == DeliveryStatus.sent, Delivery.sent_at >= since, Delivery.sent_at < period.end,
    )).subquery()
    if min_gap_seconds > 0:
        gap = seconds_between(database, sends.c.previous, sends.c.sent_at)
        close = func.count().filter(and_(sends.c.previous.is_not(None), gap < min_gap_seconds))
    else:
        close = literal(0, Integer)
    per_day = (select(sends.c.channel_id, sends.c.day, func.count().label("sent"), close.label("close"))
               .where(sends.c.sent_at >= period.start)
               .group_by(sends.c.channel_id, sends.c.day)).subquery()
    # Summed per channel before the names are joined: the join meets one row a channel rather than
    # one a channel and day.
    over = case((per_day.c.sent > daily_limit, 1), else_=0) if daily_limit else literal(0, Integer)
    per_channel = (select(per_day.c.channel_id, func.count().label("active"),
                          func.sum(per_day.c.sent).label("sent"), func.max(per_day.c.sent).label("busiest"),
                          func.sum(over).label("over"), func.sum(per_day.c.close).label("close"))
                   .group_by(per_day.c.channel_id)).subquery()
    query = (select(Channel.id, Channel.name, per_channel.c.active, per_channel.c.sent,
                    per_channel.c.busiest, per_channel.c.over, per_channel.c.close)
             .join(per_channel, per_channel.c.channel_id == Channel.id)
             .order_by(Channel.name))
    return [
        {"channel_id": channel_id, "channel": name, "active_days": active, "sent": int(sent),
         "per_day": round(int(sent) / period.days, 2), "busiest_day": busiest,
         "days_over_limit": int(over_days or 0), "daily_limit": daily_limit,
         "too_close": int(close or 0), "min_gap_minutes": min_gap_seconds // 60}
        for channel_id, name, active, sent, busiest, over_days, close in session.execute(query)
    ]
