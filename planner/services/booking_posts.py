"""What a confirmed booking sets in motion: the guest session on the calendar and its announcements.

Every post goes through the review queue like any other (nothing is published without approval).
Moving a booking moves its posts; canceling it cancels those not yet sent. When an announcement already
went out, a short notice (moved, or canceled) is drafted for review. Posts are canceled in the name of
whoever withdraws the booking, not of their author, who may no longer be an operator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.models import Booking, Delivery, DeliveryStatus, Post, PostKind, PostStatus, Slot, User
from planner.services import audit, deliveries, posts
from planner.services.booking_templates import community, current, render
from planner.services.posts import CANCELABLE, EDITABLE, PostInput

NOTICE_DELAY = timedelta(minutes=15)  # time for an operator to review a notice
DAY = timedelta(days=1)


def time_label(slot: Slot) -> str:
    local = slot.starts_at.astimezone(ZoneInfo(slot.timezone))
    return f"{local:%Y-%m-%d %H:%M} ({slot.timezone})"


def linked_posts(session: Session, booking: Booking) -> list[Post]:
    ids = [i for i in [booking.session_post_id, *booking.announcement_post_ids,
                       *booking.notice_post_ids] if i is not None]
    if not ids:
        return []
    return list(session.scalars(select(Post).where(Post.id.in_(ids)).order_by(Post.scheduled_at, Post.id)))


def announcement_time(slot: Slot, minutes_before: int) -> datetime:
    """When an announcement goes out: whole days before are counted on the slot's wall clock, so "one
    day before" a 20:00 session is 20:00 the day before, daylight-saving change or not."""
    if minutes_before and minutes_before % (24 * 60) == 0:
        return _days_before(slot.starts_at, ZoneInfo(slot.timezone), minutes_before // (24 * 60))
    return slot.starts_at - timedelta(minutes=minutes_before)


def _days_before(when: datetime, tz: ZoneInfo, days: int) -> datetime:
    local = when.astimezone(tz).replace(tzinfo=None) - timedelta(days=days)
    return local.replace(tzinfo=tz).astimezone(UTC)


def _values(session: Session, booking: Booking, **extra: str) -> dict[str, str]:
    return {"speaker": booking.name, "topic": booking.topic, "abstract": booking.abstract,
            "time": time_label(booking.slot), "community": community(session), **extra}


def put_on_calendar(session: Session, booking: Booking, author: User, *, now: datetime) -> None:
    slot = booking.slot
    found = current(session)
    values = _values(session, booking)
    announce_to = slot.announcement_channel_ids or slot.channel_ids
    session_post = _submitted(session, author, PostKind.guest_session, found["session"], values,
                              slot.starts_at, slot.channel_ids, now)
    announcement_ids = []
    for item in found["announcements"]:
        when = announcement_time(slot, int(item["minutes_before"]))
        if when > now:  # "one day before" is skipped for a session booked for tomorrow morning
            announcement_ids.append(_submitted(session, author, PostKind.announcement, item,
                                               values, when, announce_to, now).id)
    booking.session_post_id = session_post.id
    booking.announcement_post_ids = announcement_ids


def move(session: Session, booking: Booking, old_slot: Slot, *, actor: User | str,
         now: datetime) -> None:
    """Shift every post still in play with the session, with the new time in its text; an unsent
    notice goes, and a "moved" notice is drafted when an announcement already went out."""
    old_label, new_label = time_label(old_slot), time_label(booking.slot)
    notices = set(booking.notice_post_ids)
    linked = linked_posts(session, booking)
    went_out = _went_out(session, linked)
    for post in linked:
        if post.id in notices:
            if post.status in CANCELABLE:  # superseded by the notice drafted below
                _cancel(session, post, actor, now, "the guest session moved again")
            continue
        if post.status not in EDITABLE:
            continue
        assert post.scheduled_at is not None
        when = _moved_time(post.scheduled_at, old_slot, booking.slot)
        if when <= now:
            _cancel(session, post, actor, now, "the guest session moved")
            continue
        posts.update_post(session, post.author, post, PostInput(
            kind=post.kind, title=post.title.replace(old_label, new_label)[:200],
            body=post.body.replace(old_label, new_label), scheduled_at=when,
            channel_ids=[c.id for c in post.channels], tags=post.tags), now=now)
        if post.status == PostStatus.draft:
            posts.submit(session, post.author, post, now=now)
    if went_out:
        _notice(session, booking, linked, "moved", now, old_time=old_label)


def _moved_time(at: datetime, old_slot: Slot, new_slot: Slot) -> datetime:
    """A post whole days before the session stays at that wall-clock time before the new one."""
    tz = ZoneInfo(old_slot.timezone)
    gap = (old_slot.starts_at.astimezone(tz).replace(tzinfo=None)
           - at.astimezone(tz).replace(tzinfo=None))
    if gap > timedelta(0) and gap % DAY == timedelta(0):
        return _days_before(new_slot.starts_at, ZoneInfo(new_slot.timezone), gap // DAY)
    return at + (new_slot.starts_at - old_slot.starts_at)


def withdraw(session: Session, booking: Booking, *, actor: User | str, now: datetime) -> None:
    linked = linked_posts(session, booking)
    went_out = _went_out(session, linked)
    for post in linked:
        if post.status in CANCELABLE:
            _cancel(session, post, actor, now, "the guest session was canceled")
    if went_out:
        _notice(session, booking, linked, "cancellation", now)


def _went_out(session: Session, linked: list[Post]) -> bool:
    told = [p.id for p in linked if p.kind == PostKind.announcement]
    return bool(told) and session.scalar(select(Delivery.id).where(
        Delivery.post_id.in_(told), Delivery.status == DeliveryStatus.sent).limit(1)) is not None


def _notice(session: Session, booking: Booking, linked: list[Post], part: str, now: datetime,
            **extra: str) -> None:
    slot = booking.slot
    notice = _submitted(session, linked[0].author, PostKind.announcement, current(session)[part],
                        _values(session, booking, **extra), now + NOTICE_DELAY,
                        slot.announcement_channel_ids or slot.channel_ids, now)
    booking.notice_post_ids = [*booking.notice_post_ids, notice.id]


def _cancel(session: Session, post: Post, actor: User | str, now: datetime, comment: str) -> None:
    """Cancel in the name of whoever withdraws or moves the booking (a speaker has no account)."""
    deliveries.cancel_waiting(session, post, now=now)
    before = post.status
    post.status = PostStatus.canceled
    post.updated_at = now
    audit.record(session, at=now, actor=actor, action="post.cancel", subject_type="post",
                 subject_id=post.id, status_before=before, status_after=str(PostStatus.canceled),
                 comment=comment)


def _submitted(session: Session, author: User, kind: PostKind, template: dict[str, Any],
               values: dict[str, str], when: datetime, channel_ids: list[int], now: datetime) -> Post:
    post = posts.create_post(session, author, PostInput(
        kind=kind, title=render(template["title"], values)[:200],
        body=render(template["body"], values), scheduled_at=when, channel_ids=channel_ids), now=now)
    posts.submit(session, author, post, now=now)
    return post
