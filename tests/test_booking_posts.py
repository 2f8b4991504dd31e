"""What a booking sets in motion: the guest session and its announcements, moved and canceled with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from planner.models import AuditEntry, Delivery, Post, Slot, User
from planner.services import booking_posts, bookings
from planner.services import posts as post_service
from tests.booking_helpers import THURSDAY, book, weekly_slots


@pytest.fixture
def confirmed(st, make, clock):  # type: ignore[no-untyped-def]
    """A booking for the first Thursday, confirmed by Olga; Rui is the second operator who reviews."""
    olga = make.user("operator", email="olga@example.com")
    rui = make.user("operator", email="rui@example.com")
    channel = make.channel(name="Python learners")
    ids = weekly_slots(st, olga, [channel.id])
    _id, token, _ = book(st, ids[0], name="Mei", topic="Async in practice")
    with st.sessions() as session, session.begin():
        bookings.confirm(session, session.merge(olga), bookings.by_token(session, token),
                         message="See you Thursday!", now=clock.now())
    return token, ids, rui


def posts_of(st, token):  # type: ignore[no-untyped-def]
    with st.sessions() as session:
        booking = bookings.by_token(session, token)
        return booking, booking_posts.linked_posts(session, booking)


def approve(st, rui, post_id, clock):  # type: ignore[no-untyped-def]
    with st.sessions() as session, session.begin():
        post_service.approve(session, session.merge(rui), post_service.get_post(session, post_id),
                             now=clock.now(), allow_self_approval=False)


def test_confirming_puts_the_session_and_three_announcements_in_the_review_queue(st, confirmed):
    token, _ids, _rui = confirmed
    booking, linked = posts_of(st, token)
    start = THURSDAY.astimezone(UTC)
    assert [(p.kind, p.status, p.scheduled_at) for p in linked] == [
        ("announcement", "in_review", start - timedelta(days=1)),
        ("announcement", "in_review", start - timedelta(hours=1)),
        ("guest_session", "in_review", start),
        ("announcement", "in_review", start),
    ]
    assert linked[0].title == "Tomorrow: Async in practice"
    assert "Tomorrow at 2026-11-26 20:00 (Asia/Shanghai), **Mei** shares" in linked[0].body
    with st.sessions() as session:
        queued = {p.id for p in post_service.review_queue(session)}
    assert queued == {p.id for p in linked}
    assert booking.operator_message == "See you Thursday!" and booking.ics_sequence == 1


def test_rescheduling_moves_the_posts_and_approved_deliveries(st, confirmed, clock):
    token, ids, rui = confirmed
    _booking, linked = posts_of(st, token)
    starting_now = linked[3]  # its text has no time in it, so its approval stands
    approve(st, rui, starting_now.id, clock)
    with st.sessions() as session, session.begin():
        bookings.reschedule(session, bookings.by_token(session, token), ids[1], now=clock.now())
    _booking, moved = posts_of(st, token)
    week = timedelta(days=7)
    assert [p.scheduled_at for p in moved] == [p.scheduled_at + week for p in linked]
    assert [p.status for p in moved] == ["in_review", "in_review", "in_review", "approved"]
    assert "2026-12-03 20:00 (Asia/Shanghai)" in moved[0].body
    with st.sessions() as session:
        delivery = session.query(Delivery).filter_by(post_id=starting_now.id).one()
        assert delivery.due_at == THURSDAY.astimezone(UTC) + week


def test_canceling_cancels_what_is_unsent_and_notices_an_announcement_that_went_out(
        st, confirmed, clock, tick):
    token, _ids, rui = confirmed
    _booking, linked = posts_of(st, token)
    day_before = linked[0]
    approve(st, rui, day_before.id, clock)
    clock.set(day_before.scheduled_at + timedelta(minutes=1))
    assert tick().outcomes == {"sent": 1}
    with st.sessions() as session, session.begin():
        bookings.cancel(session, bookings.by_token(session, token), now=clock.now())
    booking, after = posts_of(st, token)
    by_id = {p.id: p for p in after}
    assert [by_id[p.id].status for p in linked] == ["published", "canceled", "canceled", "canceled"]
    [notice_id] = booking.notice_post_ids
    notice = by_id[notice_id]
    assert (notice.kind, notice.status, notice.title) == ("announcement", "in_review",
                                                          "Canceled: Async in practice")
    assert notice.scheduled_at == clock.now() + timedelta(minutes=15)
    assert len(after) == 5


def test_canceling_before_anything_went_out_drafts_no_notice(st, confirmed, clock):
    token, _ids, _rui = confirmed
    with st.sessions() as session, session.begin():
        bookings.cancel(session, bookings.by_token(session, token), now=clock.now())
    booking, after = posts_of(st, token)
    assert [p.status for p in after] == ["canceled"] * 4 and booking.notice_post_ids == []
    with st.sessions() as session:
        assert session.query(Post).count() == 4


def test_rescheduling_after_an_announcement_went_out_drafts_a_moved_notice(st, confirmed, clock, tick):
    token, ids, rui = confirmed
    _booking, linked = posts_of(st, token)
    approve(st, rui, linked[0].id, clock)
    clock.set(linked[0].scheduled_at + timedelta(minutes=1))
    assert tick().outcomes == {"sent": 1}
    with st.sessions() as session, session.begin():
        bookings.reschedule(session, bookings.by_token(session, token), ids[1], now=clock.now())
    booking, after = posts_of(st, token)
    [notice_id] = booking.notice_post_ids
    notice = next(p for p in after if p.id == notice_id)
    assert (notice.kind, notice.status, notice.title) == ("announcement", "in_review",
                                                          "Moved: Async in practice")
    assert ("moves from 2026-11-26 20:00 (Asia/Shanghai) to **2026-12-03 20:00 (Asia/Shanghai)**"
            in notice.body)
    assert notice.scheduled_at == clock.now() + timedelta(minutes=15)
    assert next(p for p in after if p.id == linked[0].id).status == "published"
    with st.sessions() as session, session.begin():  # moved again: the unsent notice gives way
        bookings.reschedule(session, bookings.by_token(session, token), ids[2], now=clock.now())
    booking, again = posts_of(st, token)
    statuses = {p.id: p.status for p in again}
    assert statuses[notice_id] == "canceled" and len(booking.notice_post_ids) == 2
    assert statuses[booking.notice_post_ids[-1]] == "in_review"


def test_the_speaker_cancels_though_the_posts_author_is_no_longer_an_operator(
        st, confirmed, clock):
    token, _ids, rui = confirmed
    _booking, linked = posts_of(st, token)
    approve(st, rui, linked[0].id, clock)  # an approved post only an operator may cancel
    with st.sessions() as session, session.begin():
        olga = session.scalars(select(User).where(User.email == "olga@example.com")).one()
        olga.role = "editor"
    with st.sessions() as session, session.begin():
        bookings.cancel(session, bookings.by_token(session, token), now=clock.now())
    _booking, after = posts_of(st, token)
    assert {p.status for p in after} == {"canceled"}
    with st.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "post.cancel", AuditEntry.subject_id == linked[0].id)).one()
        assert (entry.actor_label, entry.data["status_before"]) == ("guest", "approved")


def test_one_day_before_is_counted_on_the_slots_wall_clock(st, make, clock):
    """New York springs forward on Sunday 2027-03-14: the day before a Sunday 20:00 session is
    Saturday 20:00, 23 hours earlier, not Saturday 19:00."""
    olga, channel = make.user("operator"), make.channel()
    new_york = ZoneInfo("America/New_York")
    clock.set(datetime(2027, 3, 1, tzinfo=UTC))
    ids = weekly_slots(st, olga, [channel.id], count=2, timezone="America/New_York",
                       starts_at=datetime(2027, 3, 7, 20, 0, tzinfo=new_york),
                       rrule="FREQ=WEEKLY;BYDAY=SU;COUNT=2")
    _id, token, _ = book(st, ids[0])
    with st.sessions() as session, session.begin():
        bookings.confirm(session, session.merge(olga), bookings.by_token(session, token),
                         now=clock.now())

    def announced() -> list[str]:
        _booking, linked = posts_of(st, token)
        return [f"{p.scheduled_at.astimezone(new_york):%a %m-%d %H:%M %Z}" for p in linked
                if p.kind == "announcement"]

    assert announced() == ["Sat 03-06 20:00 EST", "Sun 03-07 19:00 EST", "Sun 03-07 20:00 EST"]
    with st.sessions() as session, session.begin():  # moved across the change, it keeps its hour
        bookings.reschedule(session, bookings.by_token(session, token), ids[1], now=clock.now())
    assert announced() == ["Sat 03-13 20:00 EST", "Sun 03-14 19:00 EDT", "Sun 03-14 20:00 EDT"]
    sunday = Slot(starts_at=datetime(2027, 3, 14, 20, 0, tzinfo=new_york), timezone="America/New_York")
    assert [booking_posts.announcement_time(sunday, minutes) for minutes in (2 * 24 * 60, 24 * 60, 60)] == [
        datetime(2027, 3, 13, 1, 0, tzinfo=UTC), datetime(2027, 3, 14, 1, 0, tzinfo=UTC),
        datetime(2027, 3, 14, 23, 0, tzinfo=UTC)]
