"""Reports: `GET /api/v1/stats` over a year of data for 200 channels.

A year of four posts a day, each sent to a hundred of 200 channels (about 146,000 deliveries, most
sent, some late, failed or expired) and a review per post. Each request is timed through the whole
app (token check, validation, every grouped query, JSON); beside it, in the same run, a trivial
endpoint (`GET /api/v1/me`) and the bare fetch of the rows a report reads (due time, sent time,
status and channel of every delivery: what computing the figures in Python would start with) give
the scale. Target: the whole report in at most twice the time of that bare fetch.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from bench.common import database, line, percentile, verdict
from planner import create_app
from planner.models import Channel, ChannelTag, Delivery, Post, Review
from planner.services import users
from planner.state import state

TARGET = 2.0
YEAR_START = date(2025, 11, 1)
CHANNELS = 200


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

            def fetch_rows() -> None:
                with st.sessions() as session:
                    session.execute(select(Delivery.due_at, Delivery.sent_at, Delivery.status,
                                           Delivery.channel_id)).all()

            me = _times(lambda: client.get("/api/v1/me", headers=headers), 30)
            scan = _times(fetch_rows, 5)
            report = _times(lambda: client.get(stats_url, headers=headers), 10)
        finally:
            st.engine.dispose()
    line("deliveries", f"{sent:,} sent in {days} days to {CHANNELS} channels ({db})")
    for name, times in (("GET /me", me), ("bare fetch", scan), ("GET /stats", report)):
        line(name, f"median {statistics.median(times) * 1000:.1f} ms, "
                   f"p95 {percentile(times, 95) * 1000:.1f} ms")
    return verdict("report ÷ fetch", statistics.median(report) / statistics.median(scan), TARGET,
                   at_least=False)


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
    return token


def _delivery(rng: random.Random, post_id: int, channel_id: int, due: datetime, now: datetime) -> dict:
    status = rng.choices(("sent", "failed", "unconfirmed", "expired"), (96, 2, 1, 1))[0]
    return {"post_id": post_id, "channel_id": channel_id, "status": status, "due_at": due,
            "next_attempt_at": due, "idempotency_key": f"{post_id}-{channel_id}", "attempt_count": 1,
            "parts_sent": 1, "created_at": due, "updated_at": due,
            "sent_at": due + timedelta(seconds=rng.expovariate(1 / 3)) if status == "sent" else None}
