"""Reports: `GET /api/v1/stats` over a year of data for 200 channels.

A year of four posts a day, each sent to a hundred of 200 channels (about 146,000 deliveries, most
sent, some late, failed or expired) and a review per post; two guest sessions a week, each slot going
to ten channels and booked (most confirmed, some declined or canceled); 30 feeds, each with ten default
channels, bringing 8 items a day (about 88,000), most triaged within two days. Each request is timed
through the whole app (token check, validation, every grouped query, JSON): the whole year, and the
whole year narrowed to a tag (which every figure, guest sessions and feed items included, applies).
The workspace sets a daily limit and a minimum gap between posts, so the rhythm figures (days over the
limit, sends too close together) are computed too. Beside them, in the same run, a trivial endpoint
(`GET /api/v1/me`) and the bare fetch of the rows a report reads give the scale: one query for the
due time, sent time, status and channel of every delivery due in the year, as datetimes, which is
what computing the figures in Python would start with. Targets: the year's report in at most twice
the time of that bare fetch, and its p95 (narrowed or not) at most a second.

The database is measured as a bulk load leaves it, before any ANALYZE: PostgreSQL's planner then
has no statistics (autovacuum would gather them later), which is where a poor plan shows most.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from bench.common import database, line, percentile, verdict
from planner import create_app
from planner.models import Booking, Channel, ChannelTag, Delivery, Feed, FeedItem, Post, Review, Slot
from planner.models.feed import feed_channels
from planner.services import users, workspace
from planner.services.report_periods import Period
from planner.state import state

TARGET = 2.0  # the year's report ÷ the bare fetch of its deliveries
TARGET_P95 = 1.0  # seconds, for the year, narrowed to a tag or not
YEAR_START = date(2025, 11, 1)
CHANNELS = 200
RULES = {"max_posts_per_channel_per_day": 3, "min_minutes_between_posts": 60}


def run(quick: bool, db: str) -> bool:
    days = 60 if quick else 365
    with tempfile.TemporaryDirectory() as tmp, database(db, Path(tmp)) as url:
        app = create_app({"INSTANCE_PATH": str(Path(tmp) / "instance"), "DATABASE_URL": url,
                          "SECRET_KEY": "bench", "CHANNEL_KINDS": ["outbox"]})
        st = state(app)
        try:
            token = _fill(st, days)
            client = app.test_client()
            headers = {"Authorization": f"Bearer {token}"}
            last = YEAR_START + timedelta(days=days - 1)
            stats_url = f"/api/v1/stats?start={YEAR_START}&end={last}"
            answer = client.get(stats_url, headers=headers)
            assert answer.status_code == 200, answer.get_json()
            sent = answer.get_json()["deliveries"]["sent"]

            year = Period(YEAR_START, last, ZoneInfo(app.config["TIMEZONE"]))  # as the report takes it

            def fetch_rows() -> int:
                with st.sessions() as session:
                    return len(session.execute(
                        select(Delivery.due_at, Delivery.sent_at, Delivery.status, Delivery.channel_id)
                        .where(Delivery.due_at >= year.start, Delivery.due_at < year.end)).all())

            tagged = client.get(f"{stats_url}&tag=python", headers=headers).get_json()
            me = _times(lambda: client.get("/api/v1/me", headers=headers), 30)
            scan = _times(fetch_rows, 5)
            report = _times(lambda: client.get(stats_url, headers=headers), 10)
            narrowed = _times(lambda: client.get(f"{stats_url}&tag=python", headers=headers), 10)
            figures, fetched = answer.get_json(), fetch_rows()
        finally:
            st.engine.dispose()
    line("deliveries", f"{sent:,} sent in {days} days to {CHANNELS} channels ({db})")
    line("fetched", f"{fetched:,} rows: every delivery due in the year "
                    f"({figures['deliveries']['total']:,} in the report)")
    line("sessions", f"{figures['guest_sessions']['booked']:,} booked "
                     f"({tagged['guest_sessions']['booked']:,} to python channels)")
    line("feed items", f"{figures['feed_items']['arrived']:,} arrived "
                       f"({tagged['feed_items']['arrived']:,} in feeds for python channels)")
    for name, times in (("GET /me", me), ("bare fetch", scan), ("GET /stats", report),
                        ("… tag=python", narrowed)):
        line(name, f"median {statistics.median(times) * 1000:.1f} ms, "
                   f"p95 {percentile(times, 95) * 1000:.1f} ms")
    ratio = verdict("report ÷ fetch", statistics.median(report) / statistics.median(scan), TARGET,
                    at_least=False)
    slowest = max(percentile(report, 95), percentile(narrowed, 95))
    return verdict("p95", slowest, TARGET_P95, at_least=False, unit=" s") and ratio


def _times(call: Callable[[], object], repeat: int) -> list[float]:
    call()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def _fill(st, days: int) -> str:  # type: ignore[no-untyped-def]
    """Rows straight into the tables (the services are too slow to write a year in a benchmark)."""
    rng = random.Random(11)
    now = datetime.now(UTC)
    with st.sessions() as session, session.begin():
        operator = users.create_user(session, email="ops@example.com", role="operator",
                                     password="bench password 1", now=now)
        token = users.create_token(session, operator, now=now)
        for key, value in RULES.items():
            workspace.put(session, key, value, actor=operator, now=now)
        channel_ids = list(session.scalars(insert(Channel).returning(Channel.id), [
            {"kind": "outbox", "name": f"Group {n:03}", "settings": {}, "secrets_encrypted": None,
             "enabled": True, "consecutive_failures": 0, "created_at": now, "updated_at": now}
            for n in range(CHANNELS)]))
        session.execute(insert(ChannelTag), [
            {"channel_id": cid, "tag": "python" if i % 2 else "general"}
            for i, cid in enumerate(channel_ids)])
        for day in range(days):
            midnight = datetime.combine(YEAR_START + timedelta(days=day), datetime.min.time(), tzinfo=UTC)
            for slot, hour in enumerate((0, 4, 8, 12)):
                due = midnight + timedelta(hours=hour)
                submitted = due - timedelta(hours=rng.randint(2, 30))
                post_id = session.scalar(insert(Post).returning(Post.id), {
                    "kind": ("tutorial", "share", "greeting", "announcement")[slot], "title": "Post",
                    "body": "Body", "status": "published", "scheduled_at": due, "revision": 1,
                    "author_id": operator.id, "submitted_at": submitted, "decided_at": submitted,
                    "published_at": due, "created_at": submitted, "updated_at": due})
                decided = submitted + timedelta(minutes=rng.randint(1, 600))
                session.execute(insert(Review), [{
                    "post_id": post_id, "reviewer_id": operator.id, "decision": "approved", "comment": "",
                    "submitted_at": submitted, "created_at": decided}])
                session.execute(insert(Delivery), [
                    _delivery(rng, post_id, cid, due, now) for cid in channel_ids[slot % 2::2]])
        _guest_sessions(session, rng, operator.id, channel_ids, days, now)
        _feed_items(session, rng, operator.id, channel_ids, days, now)
    return token


def _guest_sessions(session, rng: random.Random, owner: int, channel_ids: list[int], days: int,  # type: ignore[no-untyped-def]
                    now: datetime) -> None:
    """Two sessions a week (Tuesday and Thursday evenings), each to ten channels, each booked."""
    first = datetime.combine(YEAR_START, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    starts = [first + timedelta(days=day) for day in range(days) if day % 7 in (1, 3)]
    slot_ids = list(session.scalars(insert(Slot).returning(Slot.id), [
        {"title": "Guest session", "starts_at": start, "duration_minutes": 60, "timezone": "UTC",
         "channel_ids": rng.sample(channel_ids, 10), "announcement_channel_ids": [],
         "state": "closed", "created_by_id": owner, "created_at": start - timedelta(days=30),
         "updated_at": start - timedelta(days=30)} for start in starts]))
    session.execute(insert(Booking), [
        {"slot_id": slot_id, "name": "Speaker", "email": f"speaker{n}@example.com", "topic": "A talk",
         "abstract": "What it is about", "created_at": now, "updated_at": now,
         "status": rng.choices(("confirmed", "declined", "canceled"), (8, 1, 1))[0]}
        for n, slot_id in enumerate(slot_ids)])


def _feed_items(session, rng: random.Random, owner: int, channel_ids: list[int], days: int,  # type: ignore[no-untyped-def]
                now: datetime) -> None:
    """30 feeds with ten default channels each, 8 items a day each; most triaged within two days."""
    feed_ids = list(session.scalars(insert(Feed).returning(Feed.id), [
        {"url": f"https://blog{n}.example.com/feed.xml", "owner_id": owner, "created_at": now,
         "next_check_at": now} for n in range(30)]))
    session.execute(insert(feed_channels), [
        {"feed_id": feed_id, "channel_id": channel_id}
        for feed_id in feed_ids for channel_id in rng.sample(channel_ids, 10)])
    start = datetime.combine(YEAR_START, datetime.min.time(), tzinfo=UTC)
    for day in range(days):
        rows = []
        for feed_id in feed_ids:
            for number in range(8):
                found = start + timedelta(days=day, minutes=rng.randint(0, 1439))
                state = rng.choices(("new", "dismissed", "starred", "used"), (1, 6, 1, 2))[0]
                rows.append({
                    "feed_id": feed_id, "link": f"https://blog.example.com/{feed_id}/{day}/{number}",
                    "content_hash": f"{feed_id:08}{day:08}{number:048}", "title": "An article",
                    "found_at": found, "state": state,
                    "state_changed_at": None if state == "new" else found + timedelta(
                        minutes=rng.randint(5, 2880))})
        session.execute(insert(FeedItem), rows)


def _delivery(rng: random.Random, post_id: int, channel_id: int, due: datetime, now: datetime) -> dict:
    status = rng.choices(("sent", "failed", "unconfirmed", "expired"), (96, 2, 1, 1))[0]
    return {"post_id": post_id, "channel_id": channel_id, "status": status, "due_at": due,
            "next_attempt_at": due, "idempotency_key": f"{post_id}-{channel_id}", "attempt_count": 1,
            "parts_sent": 1, "created_at": due, "updated_at": due,
            "sent_at": due + timedelta(seconds=rng.expovariate(1 / 3)) if status == "sent" else None}
