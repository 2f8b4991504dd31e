"""What a confirmed booking sets in motion: the guest session on the calendar and its announcements.

Every post goes through the review queue like any other (nothing is published without approval).
Moving a booking moves its posts; canceling it cancels those not yet sent, and drafts a short
cancellation notice when an announcement already went out.
"""

from __future__ import annotations

import string
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.models import Booking, Delivery, DeliveryStatus, Post, PostKind, PostStatus, Slot, User
from planner.services import posts, workspace
from planner.services.posts import CANCELABLE, EDITABLE, PostInput

NOTICE_DELAY = timedelta(minutes=15)  # time for an operator to review the cancellation notice


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"  # an unknown variable stays as written


def render(template: str, values: dict[str, str]) -> str:
    try:
        return string.Formatter().vformat(template, (), _Values(values))
    except (ValueError, IndexError):  # a stray brace in an operator's template
        return template


def time_label(slot: Slot) -> str:
    local = slot.starts_at.astimezone(ZoneInfo(slot.timezone))
    return f"{local:%Y-%m-%d %H:%M} ({slot.timezone})"


def templates(session: Session) -> dict[str, Any]:
    return workspace.get(session, "guest_session_templates", workspace.GUEST_SESSION_TEMPLATES)


def linked_posts(session: Session, booking: Booking) -> list[Post]:
    ids = [i for i in [booking.session_post_id, *booking.announcement_post_ids] if i is not None]
    if not ids:
        return []
    return list(session.scalars(select(Post).where(Post.id.in_(ids)).order_by(Post.scheduled_at, Post.id)))


def put_on_calendar(session: Session, booking: Booking, author: User, *, now: datetime) -> None:
    slot = booking.slot
    found = templates(session)
    values = {"speaker": booking.name, "topic": booking.topic, "abstract": booking.abstract,
              "time": time_label(slot)}
    announce_to = slot.announcement_channel_ids or slot.channel_ids
    session_post = _submitted(session, author, PostKind.guest_session, found["session"], values,
                              slot.starts_at, slot.channel_ids, now)
    announcement_ids = []
    for item in found["announcements"]:
        when = slot.starts_at - timedelta(minutes=int(item["minutes_before"]))
        if when > now:  # "one day before" is skipped for a session booked for tomorrow morning
            announcement_ids.append(_submitted(session, author, PostKind.announcement, item,
                                               values, when, announce_to, now).id)
    booking.session_post_id = session_post.id
    booking.announcement_post_ids = announcement_ids


def move(session: Session, booking: Booking, old_slot: Slot, *, now: datetime) -> None:
    """Shift every post still in play by as much as the session moved, with the new time in its text."""
    shift = booking.slot.starts_at - old_slot.starts_at
    old_label, new_label = time_label(old_slot), time_label(booking.slot)
    for post in linked_posts(session, booking):
        if post.status not in EDITABLE:
            continue
        assert post.scheduled_at is not None
        when = post.scheduled_at + shift
        if when <= now:
            posts.cancel(session, post.author, post, now=now, comment="the guest session moved")
            continue
        posts.update_post(session, post.author, post, PostInput(
            kind=post.kind, title=post.title.replace(old_label, new_label)[:200],
            body=post.body.replace(old_label, new_label), scheduled_at=when,
            channel_ids=[c.id for c in post.channels], tags=post.tags), now=now)
        if post.status == PostStatus.draft:
            posts.submit(session, post.author, post, now=now)


def withdraw(session: Session, booking: Booking, *, now: datetime) -> None:
    linked = linked_posts(session, booking)
    announced = [p.id for p in linked if p.kind == PostKind.announcement]
    went_out = bool(announced) and session.scalar(select(Delivery.id).where(
        Delivery.post_id.in_(announced), Delivery.status == DeliveryStatus.sent).limit(1))
    for post in linked:
        if post.status in CANCELABLE:
            posts.cancel(session, post.author, post, now=now, comment="the guest session was canceled")
    if not went_out:
        return
    slot = booking.slot
    author = linked[0].author
    values = {"speaker": booking.name, "topic": booking.topic, "abstract": booking.abstract,
              "time": time_label(slot)}
    notice = _submitted(session, author, PostKind.announcement, templates(session)["cancellation"],
                        values, now + NOTICE_DELAY, slot.announcement_channel_ids or slot.channel_ids,
                        now)
    booking.announcement_post_ids = [*booking.announcement_post_ids, notice.id]


def _submitted(session: Session, author: User, kind: PostKind, template: dict[str, Any],
               values: dict[str, str], when: datetime, channel_ids: list[int], now: datetime) -> Post:
    post = posts.create_post(session, author, PostInput(
        kind=kind, title=render(template["title"], values)[:200],
        body=render(template["body"], values), scheduled_at=when, channel_ids=channel_ids), now=now)
    posts.submit(session, author, post, now=now)
    return post
