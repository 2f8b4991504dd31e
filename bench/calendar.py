"""Calendar: ``GET /api/v1/calendar`` for one month with 20,000 posts in the database, against
``GET /healthz`` measured in the same run.

The posts are spread evenly over a year (about 1,650 fall in the month asked for), in the statuses a
real calendar holds, each aimed at one of 20 channels and carrying a tag. They are written in bulk:
20,000 posts through the services would take longer than the measurement; then the database's
statistics are gathered (ANALYZE), as autovacuum or a nightly job would. Both endpoints are called
through a real HTTP server, one request after another, alternating, as the editor with a bearer
token; the first calls are a warm-up. Target: calendar p95 ≤ 300 ms.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import requests
from sqlalchemy import insert, text
from werkzeug.serving import WSGIRequestHandler, make_server

from bench.common import (
    BODY,
    Workspace,
    busy_since,
    cpu_jiffies,
    database,
    line,
    percentile,
    verdict,
)
from planner.models import Channel, Post, PostTag, User, post_channels
from planner.services import users

TARGET_P95 = 0.300
POSTS = 20_000
CHANNELS = 20
STATUSES = ["draft"] * 3 + ["in_review"] * 2 + ["approved"] * 3 + ["published"] * 2


def fill(workspace: Workspace) -> tuple[str, int]:
    """Write the posts; returns the editor's bearer token and the number of channels."""
    workspace.add_channels(CHANNELS, "http://127.0.0.1:9", "bench")
    st = workspace.st
    with st.sessions() as session, session.begin():
        now = st.clock.now()
        first, step = now - timedelta(days=182), timedelta(days=365) / POSTS
        channel_ids = [c.id for c in session.query(Channel).order_by(Channel.id)]
        authors = [workspace.editor, workspace.operator]
        session.execute(insert(Post), [{
            "id": n + 1, "kind": ("tutorial", "share", "greeting", "guest_session", "announcement")[n % 5],
            "title": f"Lesson {n}", "body": BODY, "status": STATUSES[n % len(STATUSES)],
            "scheduled_at": first + n * step, "revision": 1, "author_id": authors[n % 2],
            "created_at": now, "updated_at": now} for n in range(POSTS)])
        session.execute(insert(post_channels), [
            {"post_id": n + 1, "channel_id": channel_ids[n % CHANNELS]} for n in range(POSTS)])
        session.execute(insert(PostTag), [
            {"post_id": n + 1, "tag": f"topic-{n % 12}"} for n in range(POSTS)])
        token = users.create_token(session, session.get(User, workspace.editor), now=now)
    with st.engine.begin() as conn:  # the statistics autovacuum (or a nightly ANALYZE) would gather
        conn.execute(text("ANALYZE"))
    return token, len(channel_ids)


def timed(http: requests.Session, url: str, **params: str) -> tuple[float, float, dict]:
    """Wall-clock seconds and this process's CPU seconds (server and client) for one GET."""
    start, cpu = time.perf_counter(), time.process_time()
    response = http.get(url, params=params)
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    response.raise_for_status()
    return elapsed, used, response.json()


def run(quick: bool, database_kind: str) -> bool:
    calls, warm_up = (60, 10) if quick else (300, 20)
    with tempfile.TemporaryDirectory(prefix="planner-bench-") as folder, \
            database(database_kind, Path(folder)) as url:
        workspace = Workspace(url, Path(folder) / "instance")
        server = make_server("127.0.0.1", 0, workspace.app, threaded=True, request_handler=_Quiet)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        try:
            token, _channels = fill(workspace)
            thread.start()
            base = f"http://127.0.0.1:{server.server_port}"
            start = workspace.st.clock.now().replace(microsecond=0)
            month = {"start": start.isoformat(), "end": (start + timedelta(days=30)).isoformat()}
            calendar, health, sizes, cpu = [], [], set(), {"calendar": 0.0, "health": 0.0}
            busy = cpu_jiffies()
            with requests.Session() as http:
                http.headers["Authorization"] = f"Bearer {token}"
                for n in range(warm_up + calls):
                    seconds, used, _body = timed(http, f"{base}/healthz")
                    if n >= warm_up:
                        health.append(seconds)
                        cpu["health"] += used
                    seconds, used, body = timed(http, f"{base}/api/v1/calendar", **month)
                    sizes.add((len(body["items"]), body["truncated"]))
                    if n >= warm_up:
                        calendar.append(seconds)
                        cpu["calendar"] += used
            cores_busy = busy_since(busy)
        finally:
            server.shutdown()
            server.server_close()
            workspace.close()
    (items, truncated), = sizes
    assert not truncated and items > 1500, sizes
    median, p95 = statistics.median(calendar) * 1000, percentile(calendar, 95) * 1000
    line("calendar", f"one month = {items} of {POSTS:,} posts ({database_kind}): median "
                     f"{median:.1f} ms, p95 {p95:.1f} ms ({calls} calls), "
                     f"{cpu['calendar'] / calls * 1000:.1f} ms CPU each")
    line("baseline", f"/healthz: median {statistics.median(health) * 1000:.1f} ms, "
                     f"p95 {percentile(health, 95) * 1000:.1f} ms (same run, alternating), "
                     f"{cpu['health'] / calls * 1000:.1f} ms CPU each")
    line("machine", f"all cores {cores_busy:.0%} busy while measuring (other processes included)")
    return verdict("calendar p95", p95, TARGET_P95 * 1000, at_least=False, unit=" ms")


class _Quiet(WSGIRequestHandler):
    def log_request(self, *_args: object) -> None:
        pass
