"""What a booking sets in motion: the guest session and its announcements, moved and canceled with it."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from planner.models import Delivery, Post
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
    notice = by_id[booking.announcement_post_ids[-1]]
    assert (notice.kind, notice.status, notice.title) == ("announcement", "in_review",
                                                          "Canceled: Async in practice")
    assert notice.scheduled_at == clock.now() + timedelta(minutes=15)
    assert len(after) == 5


def test_canceling_before_anything_went_out_drafts_no_notice(st, confirmed, clock):
    token, _ids, _rui = confirmed
    with st.sessions() as session, session.begin():
        bookings.cancel(session, bookings.by_token(session, token), now=clock.now())
    booking, after = posts_of(st, token)
    assert [p.status for p in after] == ["canceled"] * 4 and len(booking.announcement_post_ids) == 3
    with st.sessions() as session:
        assert session.query(Post).count() == 4
