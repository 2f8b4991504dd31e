"""Punctuality: deliveries due one after another over a stretch of time, through a real ``planner worker``.

Lateness is the time a delivery reaches the endpoint minus its due time. Full: 10,000 deliveries over
10 minutes; quick: 1,000 over 60 s. Target: p99 ≤ 1 s. The baseline is a bare loop that sleeps until
each due time and POSTs, for 10 s at the same pace: the lateness this machine gives without planner.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from bench.common import (
    Endpoint,
    Workspace,
    database,
    line,
    log_warnings,
    percentile,
    start_workers,
    stop_workers,
    verdict,
    wait_until_running,
)

TARGET = 1.0
CHANNELS = 100
LATENCY = 0.020
BASELINE_SECONDS = 10
LEAD = 10  # seconds from planning the schedule to its first delivery


def bare_schedule(endpoint: Endpoint, rate: float) -> list[float]:
    """Lateness of a bare sleep-until-due-then-POST loop at ``rate`` deliveries a second."""
    endpoint.reset()
    start, due = time.time() + 0.5, {}
    with requests.Session() as session:
        for n in range(int(rate * BASELINE_SECONDS)):
            key, due[key] = uuid.uuid4().hex, start + n / rate
            time.sleep(max(0.0, due[key] - time.time()))
            session.post(endpoint.url + "/bare", data=b"{}", headers={"webhook-id": key})
    arrivals = endpoint.stats(arrivals=True)["arrivals"]
    endpoint.reset()
    return [arrivals[key] - due[key] for key in due]


def run(quick: bool, database_kind: str) -> bool:
    count, seconds = (1000, 60) if quick else (10_000, 600)
    with tempfile.TemporaryDirectory(prefix="planner-bench-") as folder, Endpoint(LATENCY) as endpoint, \
            database(database_kind, Path(folder)) as url:
        workspace = Workspace(url, Path(folder) / "instance")
        log = Path(folder) / "worker.log"
        try:
            workspace.add_channels(CHANNELS, endpoint.url, "punctual")
            workspace.add_posts(count // CHANNELS, "punctual")
            bare = bare_schedule(endpoint, count / seconds)
            # The schedule is known before the worker starts, as it is when posts are planned ahead.
            first = datetime.now(UTC) + timedelta(seconds=LEAD)
            workspace.spread_due(first, seconds)
            interval = workspace.st.config["DISPATCH_INTERVAL_SECONDS"]
            workers = start_workers(1, workspace, log, dispatch_interval_seconds=interval)
            try:
                wait_until_running(workspace, workers, log)
                assert datetime.now(UTC) < first, "the worker started after the first delivery fell due"
                endpoint.wait_for(count, timeout=LEAD + seconds + 120)
            finally:
                stop_workers(workers)
            stats = endpoint.stats(arrivals=True)
            due = workspace.due_by_key()
            warnings = log_warnings(log)
        finally:
            workspace.close()
    assert stats["unique"] == count and stats["duplicates"] == 0, (stats["unique"], stats["duplicates"])
    lateness = [arrived - due[key].timestamp() for key, arrived in stats["arrivals"].items()]
    line("dispatcher", f"{count} deliveries over {seconds} s: lateness p50 {percentile(lateness, 50):.3f} s, "
                       f"p99 {percentile(lateness, 99):.3f} s, max {max(lateness):.3f} s, "
                       f"min {min(lateness):.3f} s ({database_kind}, one worker, {interval} s ticks)")
    line("late > 1 s", f"{sum(late > 1 for late in lateness)} deliveries; worker log: {warnings}")
    line("baseline", f"bare sleep-and-POST loop, {len(bare)} deliveries: p50 {percentile(bare, 50):.3f} s, "
                     f"p99 {percentile(bare, 99):.3f} s")
    return verdict("p99", percentile(lateness, 99), TARGET, at_least=False, unit=" s")
