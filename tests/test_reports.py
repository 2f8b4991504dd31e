"""Report figures against fixtures computed by hand, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from planner.models import Delivery, Post
from planner.services import posts as post_service
from planner.services.report_periods import Period, local_midnight, month_of, week_of
from planner.services.reports import Scope, collect

NEW_YORK = ZoneInfo("America/New_York")
# 2026-11-01 is the day New York leaves daylight-saving time: local midnight is 04:00 UTC,
# the next local midnight 05:00 UTC, so that day lasts 25 hours.
DST_DAY = date(2026, 11, 1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def people(make):  # type: ignore[no-untyped-def]
    return make.user("editor"), make.user("operator")


def approved_post(st, clock, people, *, scheduled: datetime, channels: list[int], kind: str = "tutorial",
                  waited: timedelta = timedelta(minutes=30)) -> int:
    """Submitted a day ahead, decided after ``waited``: a real trip through the review."""
    editor, operator = people
    clock.set(scheduled - timedelta(days=1))
    post_id = make_post(st, editor, scheduled, channels, kind)
    with st.sessions() as session, session.begin():
        post = post_service.get_post(session, post_id, for_change=True)
        post_service.submit(session, session.merge(editor), post, now=clock.now())
    clock.advance(seconds=waited.total_seconds())
    with st.sessions() as session, session.begin():
        post = post_service.get_post(session, post_id, for_change=True)
        post_service.approve(session, session.merge(operator), post, now=clock.now(),
                             allow_self_approval=False)
    return post_id


def make_post(st, author, scheduled, channels, kind):  # type: ignore[no-untyped-def]
    from planner.services.posts import PostInput

    with st.sessions() as session, session.begin():
        post = post_service.create_post(
            session, session.merge(author),
            PostInput(kind=kind, title="Weekly tip", body="Body", scheduled_at=scheduled,
                      channel_ids=channels),
            now=st.clock.now())
        return post.id


def outcome(st, post_id: int, channel_id: int, status: str, sent_at: datetime | None = None) -> None:
    """What the dispatcher would have recorded (the dispatcher itself is tested elsewhere)."""
    with st.sessions() as session, session.begin():
        session.execute(update(Delivery)
                        .where(Delivery.post_id == post_id, Delivery.channel_id == channel_id)
                        .values(status=status, sent_at=sent_at))
        if status == "sent":
            session.execute(update(Post).where(Post.id == post_id)
                            .values(status="published", published_at=sent_at))


def figures(st, period: Period, scope: Scope | None = None, tolerance: int = 300,  # type: ignore[no-untyped-def]
            limit: int = 1, gap: int = 0):
    with st.sessions() as session:
        return collect(session, period, scope or Scope(), tolerance_seconds=tolerance, daily_limit=limit,
                       min_gap_seconds=gap, now=st.clock.now())


def test_period_days_follow_daylight_saving():
    period = Period(DST_DAY, DST_DAY, NEW_YORK)
    [(day, start, end)] = list(period.each_day())
    assert (day, start, end) == (DST_DAY, at("2026-11-01T04:00"), at("2026-11-02T05:00"))
    assert end - start == timedelta(hours=25)
    assert week_of(at("2026-11-04T12:00"), NEW_YORK) == Period(date(2026, 11, 2), date(2026, 11, 8),
                                                               NEW_YORK)
    november = Period(date(2026, 11, 1), date(2026, 11, 30), NEW_YORK)
    assert month_of(at("2026-12-01T03:00"), NEW_YORK) == november  # 22:00 on 30 November in New York
    assert local_midnight(date(2026, 3, 8), NEW_YORK) == at("2026-03-08T05:00")


def test_an_empty_period_has_zero_figures_and_no_percentiles(st):
    result = figures(st, Period(date(2026, 1, 1), date(2026, 1, 31), NEW_YORK))
    assert result["deliveries"]["total"] == 0
    assert result["posts_published"] == {}
    assert result["punctuality"] == {"due": 0, "sent": 0, "on_time": 0, "late": 0, "not_sent": 0,
                                     "on_time_rate": None, "tolerance_seconds": 300,
                                     "lateness_seconds": {"p50": None, "p90": None, "p99": None}}
    assert [(b["band"], b["deliveries"]) for b in result["lateness"]] == [
        ("on_time", 0), ("late_15m", 0), ("late_1h", 0), ("late_1d", 0), ("later", 0), ("not_sent", 0)]
    assert result["rhythm"] == []
    assert result["approval_turnaround"] == {"decisions": 0, "approved": 0, "rejected": 0,
                                             "median_seconds": None, "p90_seconds": None}
    assert result["guest_sessions"] == {"booked": 0, "confirmed": 0, "held": 0, "declined": 0, "canceled": 0}
    assert result["feed_items"] == {"arrived": 0, "triaged": 0, "shared": 0, "dismissed": 0}


def test_figures_on_a_daylight_saving_day(st, clock, make, people):
    python = make.channel("Python group 1", tags=["python"])
    general = make.channel("General chat")
    # Four posts due on the 25-hour day (local times EDT before 02:00, EST after).
    due = [at("2026-11-01T12:00"), at("2026-11-01T20:00"), at("2026-11-02T01:00"), at("2026-11-02T04:30")]
    waits = [timedelta(minutes=10), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=5)]
    posts = [approved_post(st, clock, people, scheduled=d, channels=[python.id, general.id], waited=w,
                           kind="share" if i == 3 else "tutorial")
             for i, (d, w) in enumerate(zip(due, waits, strict=True))]
    # Python group: sent 2 s, 40 s, 10 min late, and the last one is still unconfirmed.
    outcome(st, posts[0], python.id, "sent", due[0] + timedelta(seconds=2))
    outcome(st, posts[1], python.id, "sent", due[1] + timedelta(seconds=40))
    outcome(st, posts[2], python.id, "sent", due[2] + timedelta(minutes=10))
    outcome(st, posts[3], python.id, "unconfirmed")
    # General chat: one on time, one failed, one expired, and the 23:30 local post sent 1 s late.
    outcome(st, posts[0], general.id, "sent", due[0] + timedelta(seconds=1))
    outcome(st, posts[1], general.id, "failed")
    outcome(st, posts[2], general.id, "expired")
    outcome(st, posts[3], general.id, "sent", due[3] + timedelta(seconds=1))

    result = figures(st, Period(DST_DAY, DST_DAY, NEW_YORK))

    assert result["deliveries"] | {} == {"total": 8, "sent": 5, "failed": 1, "expired": 1, "unconfirmed": 1,
                                         "pending": 0, "sending": 0, "retrying": 0, "canceled": 0}
    assert [(r["channel"], r["total"], r["sent"]) for r in result["deliveries_by_channel"]] == [
        ("General chat", 4, 2), ("Python group 1", 4, 3)]
    assert result["posts_published"] == {"tutorial": 3, "share": 1}
    # Lateness 1, 1, 2, 40, 600 seconds: nearest-rank p50 = 3rd = 2, p90 = 5th = 600, p99 = 600.
    # Eight were due: four on time, one late, and the failed, expired and unconfirmed ones not sent.
    punctual = result["punctuality"]
    assert (punctual["due"], punctual["sent"], punctual["on_time"], punctual["late"],
            punctual["not_sent"]) == (8, 5, 4, 1, 3)
    assert punctual["on_time_rate"] == pytest.approx(0.5)
    assert [(b["band"], b["up_to_seconds"], b["deliveries"]) for b in result["lateness"]] == [
        ("on_time", 300, 4), ("late_15m", 900, 1), ("late_1h", 3600, 0), ("late_1d", 86400, 0),
        ("later", None, 0), ("not_sent", None, 3)]
    assert punctual["lateness_seconds"] == pytest.approx({"p50": 2.0, "p90": 600.0, "p99": 600.0}, abs=0.01)
    # All sends fall on the local day 2026-11-01 (04:31 UTC on the 2nd is 23:31 EST on the 1st).
    assert [(r["channel"], r["active_days"], r["sent"], r["busiest_day"], r["days_over_limit"])
            for r in result["rhythm"]] == [("General chat", 1, 2, 2, 1), ("Python group 1", 1, 3, 3, 1)]
    # Turnarounds 600, 1800, 7200, 18000 s: median = 2nd = 1800, p90 = 4th = 18000.
    turnaround = result["approval_turnaround"]
    # Only the last post was decided on the day itself (09:30 UTC); the others on 31 October.
    assert (turnaround["decisions"], turnaround["median_seconds"]) == (1, pytest.approx(18000, abs=0.01))
    day_before = figures(st, Period(DST_DAY - timedelta(days=1), DST_DAY, NEW_YORK))["approval_turnaround"]
    assert day_before == {"decisions": 4, "approved": 4, "rejected": 0,
                          "median_seconds": pytest.approx(1800, abs=0.01),
                          "p90_seconds": pytest.approx(18000, abs=0.01)}

    # A day with a fixed offset would put the 04:31 UTC send on 2 November.
    next_day = figures(st, Period(date(2026, 11, 2), date(2026, 11, 2), NEW_YORK))
    assert next_day["deliveries"]["total"] == 0 and next_day["rhythm"] == []


def test_scope_narrows_every_figure(st, clock, make, people):
    python = make.channel("Python group 1", tags=["python"])
    general = make.channel("General chat")
    tutorial = approved_post(st, clock, people, scheduled=at("2026-11-10T12:00"),
                             channels=[python.id, general.id])
    share = approved_post(st, clock, people, scheduled=at("2026-11-10T14:00"), channels=[general.id],
                          kind="share", waited=timedelta(hours=1))
    outcome(st, tutorial, python.id, "sent", at("2026-11-10T12:00:03"))
    outcome(st, tutorial, general.id, "sent", at("2026-11-10T12:20"))
    outcome(st, share, general.id, "sent", at("2026-11-10T14:00:01"))
    period = Period(date(2026, 11, 9), date(2026, 11, 10), NEW_YORK)

    tagged = figures(st, period, Scope(tag="python"))
    assert tagged["deliveries"]["total"] == 1 and tagged["posts_published"] == {"tutorial": 1}
    assert tagged["punctuality"]["on_time"] == 1

    general_only = figures(st, period, Scope(channel_id=general.id))
    assert general_only["deliveries"]["sent"] == 2
    assert general_only["punctuality"]["on_time_rate"] == pytest.approx(0.5)

    shares = figures(st, period, Scope(kind="share"))
    assert shares["deliveries"]["total"] == 1
    assert shares["approval_turnaround"]["median_seconds"] == pytest.approx(3600, abs=0.01)
    assert figures(st, period, Scope(kind="greeting"))["deliveries"]["total"] == 0
    # A generous tolerance counts the 20-minute send as on time too.
    assert figures(st, period, tolerance=1800)["punctuality"]["on_time"] == 3


def test_a_rejection_counts_in_the_turnaround(st, clock, make, people):
    editor, operator = people
    channel = make.channel("General chat")
    clock.set(at("2026-11-09T10:00"))
    post_id = make_post(st, editor, at("2026-11-12T10:00"), [channel.id], "tutorial")
    with st.sessions() as session, session.begin():
        post = post_service.get_post(session, post_id, for_change=True)
        post_service.submit(session, session.merge(editor), post, now=clock.now())
    clock.advance(minutes=45)
    with st.sessions() as session, session.begin():
        post = post_service.get_post(session, post_id, for_change=True)
        post_service.reject(session, session.merge(operator), post, now=clock.now(),
                            allow_self_approval=False, comment="Add the link")
    result = figures(st, Period(date(2026, 11, 9), date(2026, 11, 9), NEW_YORK))["approval_turnaround"]
    assert result == {"decisions": 1, "approved": 0, "rejected": 1,
                      "median_seconds": pytest.approx(2700, abs=0.01),
                      "p90_seconds": pytest.approx(2700, abs=0.01)}


def test_the_database_finds_the_local_day_across_a_daylight_saving_change(st, clock, make, people):
    """Each send's local day, as the database computes it, matches Python's zone arithmetic."""
    from sqlalchemy import select

    from planner.services.report_periods import local_day, offsets

    channel = make.channel("General chat")
    post_id = approved_post(st, clock, people, scheduled=at("2026-10-31T12:00"), channels=[channel.id])
    period = Period(date(2026, 10, 31), date(2026, 11, 2), NEW_YORK)
    assert offsets(period) == [(at("2026-10-31T04:00"), -240), (at("2026-11-01T06:00"), -300)]
    instants = [at("2026-10-31T04:00"), at("2026-11-01T03:59:59"), at("2026-11-01T05:59:59"),
                at("2026-11-01T06:00"), at("2026-11-02T04:59:59"), at("2026-11-02T05:00"),
                at("2026-11-03T04:59:59")]
    with st.sessions() as session:
        dialect = session.get_bind().dialect.name
        for instant in instants:
            outcome(st, post_id, channel.id, "sent", instant)
            found = session.scalar(select(local_day(dialect, Delivery.sent_at, period)))
            assert str(found) == instant.astimezone(NEW_YORK).date().isoformat(), instant
            session.rollback()


def test_guest_sessions_and_feed_items(st, clock, make):
    """Bookings count by their slot's time; feed items by when they arrived or were triaged. A channel
    or tag narrows them through the slot's channels and the feed's default channels."""
    from planner.models import Booking, Channel, Feed, FeedItem, Slot

    operator = make.user("operator")
    python, general = make.channel("Python group 1", tags=["python"]), make.channel("General chat")
    clock.set(at("2026-11-20T00:00"))
    with st.sessions() as session, session.begin():
        def slot(starts: str, channels: list[int]) -> Slot:
            row = Slot(title="Guest session", starts_at=at(starts), duration_minutes=60,
                       timezone="UTC", channel_ids=channels, created_by_id=operator.id,
                       created_at=clock.now(), updated_at=clock.now())
            session.add(row)
            session.flush()
            return row

        past, later = slot("2026-11-18T12:00", [python.id]), slot("2026-11-25T12:00", [general.id])
        outside = slot("2026-12-05T12:00", [python.id])
        for number, (where, status) in enumerate([(past, "confirmed"), (later, "confirmed"),
                                                  (later, "canceled"), (past, "declined"),
                                                  (outside, "confirmed")]):
            session.add(Booking(slot_id=where.id, name="Speaker", email=f"s{number}@example.com",
                                topic="Type hints", abstract="Why and how", status=status,
                                created_at=clock.now(), updated_at=clock.now()))
        feeds = [Feed(url=f"https://blog.example.com/{name}.xml", owner_id=operator.id,
                      created_at=clock.now(), next_check_at=clock.now(), channels=channels)
                 for name, channels in (("python", [session.get(Channel, python.id)]), ("misc", []))]
        session.add_all(feeds)
        session.flush()
        for number, (feed, found, state, changed) in enumerate([
                (feeds[0], "2026-11-10T08:00", "used", "2026-11-12T09:00"),
                (feeds[0], "2026-11-11T08:00", "dismissed", "2026-11-11T09:00"),
                (feeds[1], "2026-11-12T08:00", "starred", "2026-11-13T09:00"),
                (feeds[1], "2026-11-13T08:00", "new", None),
                (feeds[1], "2026-10-30T08:00", "dismissed", "2026-11-02T09:00"),
                (feeds[0], "2026-10-30T09:00", "used", "2026-10-31T09:00")]):
            session.add(FeedItem(feed_id=feed.id, link=f"https://blog.example.com/{number}",
                                 content_hash=f"{number:064d}", title=f"Article {number}",
                                 found_at=at(found), state=state,
                                 state_changed_at=at(changed) if changed else None))
    november = Period(date(2026, 11, 1), date(2026, 11, 30), NEW_YORK)
    result = figures(st, november)
    assert result["guest_sessions"] == {"booked": 4, "confirmed": 2, "held": 1, "declined": 1,
                                        "canceled": 1}
    assert result["feed_items"] == {"arrived": 4, "triaged": 4, "shared": 1, "dismissed": 2}
    assert figures(st, november, Scope(kind="guest_session")) == result | {
        "scope": {"channel_id": None, "tag": None, "kind": "guest_session"}}

    for scope in (Scope(channel_id=python.id), Scope(tag="python")):
        narrowed = figures(st, november, scope)
        assert narrowed["guest_sessions"] == {"booked": 2, "confirmed": 1, "held": 1, "declined": 1,
                                              "canceled": 0}
        assert narrowed["feed_items"] == {"arrived": 2, "triaged": 2, "shared": 1, "dismissed": 1}
    general_only = figures(st, november, Scope(channel_id=general.id))
    assert general_only["guest_sessions"] == {"booked": 2, "confirmed": 1, "held": 0, "declined": 0,
                                              "canceled": 1}
    assert general_only["feed_items"] == {"arrived": 0, "triaged": 0, "shared": 0, "dismissed": 0}
    tutorials = figures(st, november, Scope(kind="tutorial"))
    assert tutorials["guest_sessions"] == dict.fromkeys(("booked", "confirmed", "held", "declined",
                                                         "canceled"), 0)
    assert tutorials["feed_items"] == result["feed_items"]  # feed items have no kind


def test_the_on_time_rate_counts_everything_that_was_due(st, clock, make, people):
    """Failed and overdue deliveries lower the rate; canceled ones and those still inside their
    tolerance do not count yet."""
    channel = make.channel("General chat")
    due = [at("2026-11-10T12:00"), at("2026-11-10T13:00"), at("2026-11-10T14:00"), at("2026-11-10T15:00")]
    posts = [approved_post(st, clock, people, scheduled=d, channels=[channel.id]) for d in due]
    outcome(st, posts[0], channel.id, "sent", due[0] + timedelta(minutes=2))
    outcome(st, posts[1], channel.id, "canceled")
    day = Period(date(2026, 11, 10), date(2026, 11, 10), NEW_YORK)

    def counted(now: datetime) -> tuple[int, int, int, float | None]:
        clock.set(now)
        found = figures(st, day)["punctuality"]
        return found["due"], found["on_time"], found["not_sent"], found["on_time_rate"]

    # 14:10: the 14:00 post still waits, past the 5-minute tolerance; the 15:00 one is not due yet.
    assert counted(at("2026-11-10T14:10")) == (2, 1, 1, 0.5)
    assert counted(at("2026-11-10T15:04")) == (2, 1, 1, 0.5)  # 15:00 may still go out on time
    assert counted(at("2026-11-10T15:06")) == (3, 1, 2, pytest.approx(1 / 3))
    # A wider tolerance keeps the bands above it only.
    clock.set(at("2026-11-10T18:00"))
    bands = figures(st, day, tolerance=1800)["lateness"]
    assert [(b["band"], b["deliveries"]) for b in bands] == [
        ("on_time", 1), ("late_1h", 0), ("late_1d", 0), ("later", 0), ("not_sent", 2)]


def test_rhythm_counts_sends_closer_than_the_minimum_gap(st, clock, make, people):
    python, general = make.channel("Python group 1"), make.channel("General chat")
    # New York's 10 November starts at 05:00 UTC: the 04:50 send falls on the 9th, yet the 05:10
    # one came only 20 minutes after it.
    for channel, times in ((python, ["04:50", "05:10", "12:00", "12:20", "12:35"]),
                           (general, ["12:00", "13:00"])):
        for time_of_day in times:
            sent = at(f"2026-11-10T{time_of_day}")
            post_id = approved_post(st, clock, people, scheduled=sent, channels=[channel.id])
            outcome(st, post_id, channel.id, "sent", sent)
    day = Period(date(2026, 11, 10), date(2026, 11, 10), NEW_YORK)

    def close(gap_minutes: int) -> list[tuple[str, int, int, int]]:
        return [(r["channel"], r["sent"], r["too_close"], r["min_gap_minutes"])
                for r in figures(st, day, gap=gap_minutes * 60)["rhythm"]]

    assert close(30) == [("General chat", 2, 0, 30), ("Python group 1", 4, 3, 30)]
    assert close(16) == [("General chat", 2, 0, 16), ("Python group 1", 4, 1, 16)]  # 12:35 only
    assert close(0) == [("General chat", 2, 0, 0), ("Python group 1", 4, 0, 0)]
