"""Overhead: deliveries per second through the dispatcher, against a bare ``requests.Session`` loop.

The dispatcher claims each delivery, loads and renders its post, signs and sends it and records the
outcome; the baseline only POSTs a body of the same size to the same fast local endpoint, one request
after another. Target: dispatcher / baseline ≥ 0.6.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import requests

from bench.common import BODY, Endpoint, Workspace, database, line, verdict
from channels.webhook import WebhookChannel, payload
from planner.channel_api import ChannelContext, PostContent
from planner.worker.dispatcher import Dispatcher

TARGET = 0.6
CHANNELS = 100  # deliveries spread over this many targets, so no target's rate limit is reached


def bare_loop(url: str, count: int) -> float:
    """Seconds for ``count`` POSTs of a post-sized body, one after another, on one session: the
    median of three runs after a warm-up."""
    kind = WebhookChannel({}, ChannelContext(instance_path=Path(".")))
    message = kind.render(PostContent(kind="tutorial", title="Lesson 0", body=BODY))[0]
    body = payload(message, int(time.time()))
    times = []
    with requests.Session() as session:
        for posts in (count // 10, count, count, count):
            start = time.perf_counter()
            for _ in range(posts):
                session.post(url, data=body, headers={"Content-Type": "application/json",
                                                      "webhook-id": uuid.uuid4().hex}).raise_for_status()
            times.append(time.perf_counter() - start)
    return sorted(times[1:])[1]


def dispatch(workspace: Workspace, concurrency: int | None = None) -> tuple[float, float, int]:
    """Make every waiting delivery due and send them: (seconds, CPU seconds, concurrency)."""
    now = workspace.st.clock.now()
    workspace.make_due(now)
    with Dispatcher(workspace.st, concurrency=concurrency) as dispatcher:
        start, cpu = time.perf_counter(), time.process_time()
        dispatcher.tick(until=now + timedelta(hours=1))
        return time.perf_counter() - start, time.process_time() - cpu, dispatcher.concurrency


def run(quick: bool, database_kind: str) -> bool:
    count = 500 if quick else 2000
    with tempfile.TemporaryDirectory(prefix="planner-bench-") as folder, Endpoint() as endpoint, \
            database(database_kind, Path(folder)) as url:
        workspace = Workspace(url, Path(folder) / "instance")
        try:
            workspace.add_channels(CHANNELS, endpoint.url, "overhead")
            workspace.add_posts(count // CHANNELS, "overhead")
            bare = bare_loop(endpoint.url + "/bare", count)
            endpoint.reset()
            elapsed, cpu, concurrency = dispatch(workspace)
            sent, stats = workspace.count("sent"), endpoint.stats()
            workspace.add_posts(count // CHANNELS, "overhead")  # the same load again, one at a time
            serial, _cpu, _one = dispatch(workspace, concurrency=1)
            stats2 = endpoint.stats()
        finally:
            workspace.close()
    assert sent == stats["unique"] == count and stats["duplicates"] == 0, (sent, stats)
    assert stats2["unique"] == 2 * count and stats2["duplicates"] == 0, stats2
    line("dispatcher", f"{count} deliveries in {elapsed:.2f} s = {count / elapsed:.0f}/s, "
                       f"{cpu / count * 1000:.1f} ms CPU each ({database_kind}, concurrency {concurrency}, "
                       f"{CHANNELS} targets); at concurrency 1: {count / serial:.0f}/s")
    line("baseline", f"{count} bare POSTs in {bare:.2f} s = {count / bare:.0f}/s "
                     "(one requests.Session, median of 3)")
    return verdict("ratio", (count / elapsed) / (count / bare), TARGET, at_least=True)
