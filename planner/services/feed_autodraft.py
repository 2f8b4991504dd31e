"""Automatic drafts (opt-in per feed): new items matching the feed's keep rules become share posts in the
review queue, each in the next free slot of the posting schedule. Nothing goes out without approval."""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from planner.errors import ValidationFailed
from planner.models import Feed, FeedItem, FeedItemState, Post, PostKind, PostStatus, User
from planner.services import posts, workspace
from planner.services.feed_items import share_input

log = logging.getLogger(__name__)
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
HORIZON_DAYS = 60
LEAD = timedelta(minutes=30)  # leave a reviewer some time before the slot
SLOT = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
# The PostgreSQL advisory lock key of the posting schedule: "plnrslts" in ASCII, a bigint.
SLOTS_LOCK = 0x706C_6E72_736C_7473


def parse_schedule(text: str) -> dict[int, list[time]]:
    """``"mon-fri 12:00 18:00; sat 10:00"`` → weekday → times. ValueError names what is wrong."""
    schedule: dict[int, list[time]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        days, *times = part.split()
        weekdays: list[int] = []
        for span in days.lower().split(","):
            first, _sep, last = span.partition("-")
            if first not in DAYS or (last and last not in DAYS):
                raise ValueError(f"not a day or range of days: {span!r}")
            start, end = DAYS.index(first), DAYS.index(last or first)
            weekdays.extend(range(start, end + 1) if start <= end else [*range(start, 7), *range(end + 1)])
        if not times:
            raise ValueError(f"no times for {days!r}")
        for value in times:
            match = SLOT.match(value)
            if not match:
                raise ValueError(f"not a time of day: {value!r}")
            for day in weekdays:
                schedule.setdefault(day, []).append(time(int(match[1]), int(match[2])))
    return {day: sorted(set(times)) for day, times in schedule.items()}


def next_free_slot(session: Session, schedule: dict[int, list[time]], tz: ZoneInfo,
                   now: datetime) -> datetime | None:
    """The first slot after ``now`` (plus a little time to review) that no share post occupies."""
    taken = set(session.scalars(select(Post.scheduled_at).where(
        Post.kind == PostKind.share, Post.status.not_in([PostStatus.canceled, PostStatus.expired]),
        Post.scheduled_at >= now, Post.scheduled_at < now + timedelta(days=HORIZON_DAYS + 1))))
    today: date = now.astimezone(tz).date()
    for offset in range(HORIZON_DAYS):
        day = today + timedelta(days=offset)
        for at in schedule.get(day.weekday(), []):
            slot = datetime.combine(day, at, tz)
            if slot >= now + LEAD and slot not in taken:
                return slot
    return None


def hold_the_schedule(session: Session) -> None:
    """Take the posting schedule until this transaction ends, so two feeds recorded at once (by poll
    threads, several dispatchers or a "poll now") never choose the same free slot. SQLite needs
    nothing: its write transactions (``BEGIN IMMEDIATE``) already run one at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(SLOTS_LOCK)))


def draft_matching(session: Session, feed: Feed, items: list[FeedItem], *, now: datetime,
                   config: dict[str, Any]) -> int:
    owner = session.get(User, feed.owner_id)
    if owner is None or not owner.active or not items:
        return 0
    try:
        schedule = parse_schedule(config["FEED_SHARE_SCHEDULE"])
    except ValueError as error:  # the items stay in the inbox for a person
        log.error("FEED_SHARE_SCHEDULE is not a schedule (%s); no automatic drafts", error)
        return 0
    tz = workspace.timezone(session, config)
    hold_the_schedule(session)
    drafted = 0
    for item in items:  # admitted by the feed's keep rules, which automatic drafts require
        slot = next_free_slot(session, schedule, tz, now)
        if slot is None:
            break
        data = share_input(item, feed)
        data.scheduled_at = slot
        try:
            with session.begin_nested():
                post = posts.create_post(session, owner, data, now=now)
                posts.submit(session, owner, post, now=now, comment="automatic draft from a feed")
        except ValidationFailed:
            continue  # e.g. every default channel was disabled: the item stays in the inbox
        item.state, item.state_changed_at, item.post_id = FeedItemState.used, now, post.id
        drafted += 1
    return drafted
