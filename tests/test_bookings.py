"""Booking through the services: windows, series across DST, idempotent submits, tokens, validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from planner.errors import Conflict, NotFound, ValidationFailed
from planner.models import AuditEntry, Booking, Slot
from planner.services import bookings, slots
from planner.services.slots import SlotInput
from tests.booking_helpers import THURSDAY, book, speaker, weekly_slots


@pytest.fixture
def setup(st, make):  # type: ignore[no-untyped-def]
    operator = make.user("operator", email="olga@example.com")
    channel = make.channel(name="Python learners")
    return operator, channel, weekly_slots(st, operator, [channel.id])


def open_ids(st) -> list[int]:  # type: ignore[no-untyped-def]
    with st.sessions() as session:
        return [s.id for s in slots.open_slots(session, now=st.clock.now())]


def count(st, model) -> int:  # type: ignore[no-untyped-def]
    with st.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_weekly_series_keeps_its_local_time_across_a_dst_change(st, make):
    operator, channel = make.user("operator"), make.channel()
    new_york = ZoneInfo("America/New_York")
    first = datetime(2027, 3, 4, 20, 0, tzinfo=new_york)  # DST starts on 2027-03-14
    ids = weekly_slots(st, operator, [channel.id], starts_at=first, timezone="America/New_York",
                       rrule="RRULE:FREQ=WEEKLY;BYDAY=TH;COUNT=3")
    with st.sessions() as session:
        found = [session.get(Slot, i) for i in ids]
        assert [s.starts_at.astimezone(new_york).strftime("%a %H:%M") for s in found] == [
            "Thu 20:00"] * 3
        assert [s.starts_at.strftime("%m-%d %H:%M") for s in found] == [
            "03-05 01:00", "03-12 01:00", "03-19 00:00"]
        assert len({s.series_key for s in found}) == 1 and found[0].series_key


def local_times(st, ids, tz) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with st.sessions() as session:
        found = [session.get(Slot, i).starts_at for i in ids]
    return [(f"{s.astimezone(tz):%m-%d %H:%M %Z}", f"{s:%m-%d %H:%M}") for s in found]


def test_a_series_in_the_repeated_hour_of_the_fall_back_takes_its_first_occurrence(st, make):
    """RFC 5545: a local time that happens twice means the first (daylight) one."""
    operator, channel = make.user("operator"), make.channel()
    new_york = ZoneInfo("America/New_York")  # 2027-11-07 02:00 EDT falls back to 01:00 EST
    ids = weekly_slots(st, operator, [channel.id], timezone="America/New_York",
                       starts_at=datetime(2027, 10, 31, 1, 30, tzinfo=new_york),
                       rrule="FREQ=WEEKLY;BYDAY=SU;COUNT=3")
    assert local_times(st, ids, new_york) == [
        ("10-31 01:30 EDT", "10-31 05:30"), ("11-07 01:30 EDT", "11-07 05:30"),
        ("11-14 01:30 EST", "11-14 06:30")]


def test_a_series_at_a_time_the_spring_forward_skips_starts_an_hour_later_that_day(st, make):
    """RFC 5545: a local time that does not exist is read with the offset before the gap."""
    operator, channel = make.user("operator"), make.channel()
    new_york = ZoneInfo("America/New_York")  # 2027-03-14 02:00 EST springs forward to 03:00 EDT
    ids = weekly_slots(st, operator, [channel.id], timezone="America/New_York",
                       starts_at=datetime(2027, 3, 7, 2, 30, tzinfo=new_york),
                       rrule="FREQ=WEEKLY;BYDAY=SU;COUNT=3")
    assert local_times(st, ids, new_york) == [
        ("03-07 02:30 EST", "03-07 07:30"), ("03-14 03:30 EDT", "03-14 07:30"),
        ("03-21 02:30 EDT", "03-21 06:30")]


@pytest.mark.parametrize(("until", "slots_made"), [
    ("UNTIL=20261210T120000Z", 3),  # RFC 5545's UTC form: 20:00 in Shanghai is still inside
    ("UNTIL=20261210T115959Z", 2),
    ("until=20261210t120000z", 3),
    ("UNTIL=20261210T200000", 3),  # a local time, read on the slot's clock
    ("UNTIL=20261210", 2),  # a date: midnight local, before the evening slot
])
def test_a_series_ends_at_until_in_utc_or_local_time(st, make, until, slots_made):
    operator, channel = make.user("operator"), make.channel()
    ids = weekly_slots(st, operator, [channel.id], rrule=f"FREQ=WEEKLY;BYDAY=TH;{until}")
    assert len(ids) == slots_made


def test_a_series_must_end_and_be_a_valid_rule(st, make):
    operator, channel = make.user("operator"), make.channel()
    for rule, message in (("FREQ=WEEKLY;BYDAY=TH", "give COUNT or UNTIL so the series ends"),
                          ("FREQ=FORTNIGHTLY;COUNT=2", "not a valid RRULE"),
                          ("FREQ=WEEKLY;UNTIL=20261399T120000Z", "not a valid RRULE")):
        with pytest.raises(ValidationFailed) as error:
            weekly_slots(st, operator, [channel.id], rrule=rule)
        assert error.value.fields["rrule"].startswith(message)
    assert count(st, Slot) == 0


def test_the_booking_window_edges_follow_the_clock(st, setup, clock):
    operator, channel, ids = setup
    thursday_utc = THURSDAY.astimezone(UTC)
    clock.set(thursday_utc - timedelta(hours=24))  # exactly the minimum notice
    assert ids[0] in open_ids(st)
    clock.advance(seconds=1)
    assert ids[0] not in open_ids(st)
    with pytest.raises(NotFound) as error:
        book(st, ids[0])
    assert error.value.message == "This slot does not exist or is not open for booking."
    assert count(st, Booking) == 0

    clock.set(datetime(2026, 11, 23, tzinfo=UTC))
    far = weekly_slots(st, operator, [channel.id], count=2, max_days_ahead=7,
                       starts_at=THURSDAY + timedelta(days=7))
    last_day = THURSDAY.astimezone(UTC) + timedelta(days=7)
    clock.set(last_day - timedelta(days=7, seconds=1))
    assert far[0] not in open_ids(st)
    clock.advance(seconds=1)
    assert far[0] in open_ids(st)


def test_a_double_submit_is_one_booking_and_every_link_keeps_working(st, setup, clock):
    _op, _channel, ids = setup
    first_id, first_token, created = book(st, ids[0], key="form-123")
    again_id, again_token, created_again = book(st, ids[0], key="form-123")
    assert (created, created_again, again_id) == (True, False, first_id)
    _id, unkeyed_token, _created = book(st, ids[0])  # the same details without a key: the same person
    assert len({first_token, again_token, unkeyed_token}) == 3
    with pytest.raises(bookings.SlotTaken):  # the same key with other details: to them it is taken
        book(st, ids[0], key="form-123", topic="Something else")
    with pytest.raises(bookings.SlotTaken):
        book(st, ids[0], key="another-form", number=2)

    clock.advance(minutes=11)  # later, a repeat from elsewhere gets no link: only the mailbox may
    assert book(st, ids[0], key="form-123") == (first_id, None, False)
    _id, browser_token, _created = book(st, ids[0], key="form-123", same_client=True)
    assert browser_token is not None
    with st.sessions() as session:
        for token in (first_token, again_token, unkeyed_token, browser_token):
            assert bookings.by_token(session, token).id == first_id
        assert bookings.by_token(session, first_token).topic == "From script to service"
    assert count(st, Booking) == 1


def test_a_taken_slot_answers_409_with_the_other_open_slots(st, setup):
    _op, _channel, ids = setup
    book(st, ids[0])
    with pytest.raises(bookings.SlotTaken) as error:
        book(st, ids[0], number=2)
    assert error.value.status == 409
    assert error.value.message == "This slot was just taken — please pick another"
    assert [s.id for s in error.value.open_slots] == ids[1:]
    assert ids[0] not in open_ids(st)


def test_bad_input_is_refused_field_by_field_and_nothing_is_written(st, setup):
    _op, _channel, ids = setup
    with pytest.raises(ValidationFailed) as error:
        book(st, ids[0], name=" ", email="not-an-address", topic="", abstract="x" * 5001)
    assert error.value.fields == {
        "name": "your name is required", "topic": "the topic is required",
        "email": "an email address such as name@example.com is required",
        "abstract": "at most 5000 characters"}
    assert count(st, Booking) == 0 and count(st, AuditEntry) == 3  # user, channel, slots


def test_guessed_tokens_are_not_found_and_a_canceled_link_changes_nothing(st, setup, clock):
    _op, _channel, ids = setup
    with st.sessions() as session:
        for guess in ("x" * 43, "short", "../../etc/passwd", ""):
            with pytest.raises(NotFound) as error:
                bookings.by_token(session, guess)
            assert error.value.message == "This booking link is not valid."
    _id, token, _ = book(st, ids[0])
    with st.sessions() as session, session.begin():
        bookings.cancel(session, bookings.by_token(session, token), now=clock.now())
    with st.sessions() as session, session.begin():
        booking = bookings.by_token(session, token)
        assert booking.status == "canceled" and booking.ics_sequence == 1
        with pytest.raises(Conflict) as error:
            bookings.cancel(session, booking, now=clock.now())
        assert error.value.message == "This booking is already canceled."
        with pytest.raises(Conflict) as error:
            bookings.reschedule(session, booking, ids[1], now=clock.now())
        assert error.value.message == "This booking is canceled; it cannot be moved."
    assert ids[0] in open_ids(st)
    book(st, ids[0], number=2)  # the slot is free again for someone else


def test_the_topic_can_be_edited_until_confirmation(st, setup, clock):
    operator, _channel, ids = setup
    _id, token, _ = book(st, ids[0])
    with st.sessions() as session, session.begin():
        booking = bookings.by_token(session, token)
        bookings.edit(session, booking, topic="Packaging", abstract="Wheels.", now=clock.now())
        bookings.confirm(session, session.merge(operator), booking, now=clock.now())
    with st.sessions() as session, session.begin():
        booking = bookings.by_token(session, token)
        assert (booking.topic, booking.ics_sequence) == ("Packaging", 2)
        with pytest.raises(Conflict):
            bookings.edit(session, booking, topic="Other", abstract="x", now=clock.now())


def test_a_slot_that_needs_no_confirmation_is_confirmed_at_once(st, make):
    operator, channel = make.user("operator"), make.channel()
    ids = weekly_slots(st, operator, [channel.id], count=1, requires_confirmation=False)
    _id, token, _ = book(st, ids[0])
    with st.sessions() as session:
        booking = bookings.by_token(session, token)
        assert booking.status == "confirmed" and booking.session_post_id is not None


def test_editors_may_not_create_slots(st, make, clock):
    editor, channel = make.user("editor"), make.channel()
    with st.sessions() as session, pytest.raises(Exception) as error:
        slots.create_slots(session, session.merge(editor), SlotInput(
            title="x", starts_at=THURSDAY, duration_minutes=60, timezone="Asia/Shanghai",
            channel_ids=[channel.id]), now=clock.now())
    assert str(error.value) == "only operators may create slots"


def test_speaker_details_follow_the_slot_questions(st, make):
    operator, channel = make.user("operator"), make.channel()
    ids = weekly_slots(st, operator, [channel.id], count=1, questions={
        "bio": "required", "contact": "off",
        "extra": [{"name": "level", "label": "Audience level", "required": True}]})
    with pytest.raises(ValidationFailed) as error:
        book(st, ids[0])
    assert error.value.fields == {"bio": "this answer is required", "level": "this answer is required"}
    booking_id, _token, _ = book(st, ids[0], bio="Ten years of Python.",
                                 answers={"level": "beginners", "unasked": "dropped"})
    with st.sessions() as session:
        assert session.get(Booking, booking_id).answers == {"level": "beginners"}
    assert speaker().email == "speaker1@example.org"
