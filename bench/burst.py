"""Burst: one post to 1,000 targets, all due at the same instant, behind an endpoint taking 20 ms.

Time from the due instant until every delivery is sent and recorded, divided by the ideal
1,000 × 20 ms / concurrency. Target ≤ 1.3. A bare pool of as many ``requests.Session`` threads
posting to the same endpoint shows what this machine allows without the dispatcher.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import requests

from bench.common import Endpoint, Workspace, busy_since, cpu_jiffies, database, line, verdict
from planner.worker.dispatcher import Dispatcher

TARGET = 1.3
TARGETS = 1000
LATENCY = 0.020


def bare_pool(url: str, count: int, threads: int) -> float:
    """Seconds for ``count`` POSTs through ``threads`` threads, each with its own session."""
    sessions = [requests.Session() for _ in range(threads)]

    def post_all(session: requests.Session) -> None:
        for _ in range(count // threads):
            session.post(url, data=b"{}", headers={"webhook-id": uuid.uuid4().hex}).raise_for_status()

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(post_all, sessions))
    elapsed = time.perf_counter() - start
    for session in sessions:
        session.close()
    return elapsed


def run(quick: bool, database_kind: str) -> bool:
    with tempfile.TemporaryDirectory(prefix="planner-bench-") as folder, Endpoint(LATENCY) as endpoint, \
            database(database_kind, Path(folder)) as url:
        workspace = Workspace(url, Path(folder) / "instance")
        try:
            workspace.add_channels(TARGETS, endpoint.url, "burst")
            workspace.add_posts(1, "burst")
            with Dispatcher(workspace.st) as dispatcher:
                concurrency = dispatcher.concurrency
                bare = bare_pool(endpoint.url + "/bare", TARGETS, concurrency)
                endpoint.reset()
                due = workspace.st.clock.now()
                workspace.make_due(due)
                cpu, cores = time.process_time(), cpu_jiffies()
                dispatcher.tick(until=due + timedelta(hours=1))
                elapsed = (workspace.st.clock.now() - due).total_seconds()
                cpu, busy = time.process_time() - cpu, busy_since(cores)
            stats = endpoint.stats(arrivals=True)
            sent = workspace.count("sent")
        finally:
            workspace.close()
    assert sent == stats["unique"] == TARGETS and stats["duplicates"] == 0, stats
    ideal = TARGETS * LATENCY / concurrency
    last = max(stats["arrivals"].values()) - due.timestamp()
    line("dispatcher", f"{TARGETS} deliveries sent and recorded {elapsed:.2f} s after falling due "
                       f"(last arrival at {last:.2f} s; {database_kind}, concurrency {concurrency})")
    line("cpu", f"{cpu / TARGETS * 1000:.1f} ms CPU per delivery in the dispatcher; cores {busy:.0%} busy")
    line("ideal", f"{TARGETS} × {LATENCY * 1000:.0f} ms / {concurrency} = {ideal:.2f} s; bare pool of "
                  f"{concurrency} sessions: {bare:.2f} s ({bare / ideal:.2f} × ideal)")
    return verdict("ratio", elapsed / ideal, TARGET, at_least=False)
