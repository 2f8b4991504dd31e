"""Scale-out on PostgreSQL: 4 ``planner worker`` processes against 1, on an endpoint taking 50 ms.

Each run gets a fresh database and the same load, and every worker the same concurrency. Throughput
counts from the first arrival at the endpoint to the last, so start-up is left out. Target: 4 workers
/ 1 worker ≥ 3.5, with no delivery arriving twice.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import (
    Endpoint,
    Workspace,
    busy_since,
    cpu_jiffies,
    database,
    line,
    log_warnings,
    process_cpu,
    processes_cpu,
    server_processes,
    start_workers,
    stop_workers,
    verdict,
    wait_until_running,
)

TARGET = 3.5
LATENCY = 0.050
CHANNELS = 500
CONCURRENCY = 8


@dataclass
class Run:
    rate: float  # deliveries a second, first arrival to last
    duplicates: int
    busy: float  # share of all cores busy meanwhile
    cpu_ms: float  # worker CPU per delivery
    database_ms: float  # PostgreSQL's CPU per delivery, for this database
    endpoint_ms: float  # the endpoint's CPU per delivery
    warnings: str

    def describe(self, count: int, ideal: float) -> str:
        return (f"{count} deliveries at {self.rate:.0f}/s (ideal {ideal:.0f}/s), {self.duplicates} "
                f"duplicates; CPU per delivery: workers {self.cpu_ms:.1f} ms, PostgreSQL "
                f"{self.database_ms:.1f} ms, endpoint {self.endpoint_ms:.1f} ms; cores {self.busy:.0%} "
                "busy")


def measure(workers: int, count: int, endpoint: Endpoint, folder: Path) -> Run:
    with database("postgresql", folder) as url:
        workspace = Workspace(url, folder / f"instance-{workers}")
        log = folder / f"workers-{workers}.log"
        try:
            workspace.add_channels(CHANNELS, endpoint.url, "scale")
            workspace.add_posts(count // CHANNELS, "scale")
            endpoint.reset()
            processes = start_workers(workers, workspace, log, dispatch_concurrency=CONCURRENCY,
                                      dispatch_interval_seconds=1)
            try:
                wait_until_running(workspace, processes, log)
                cpu_before = sum(process_cpu(p.pid) for p in processes)
                servers = processes_cpu(server_processes(url))
                endpoint_before = process_cpu(endpoint.pid)
                workspace.make_due(datetime.now(UTC) + timedelta(seconds=1))
                start = cpu_jiffies()
                endpoint.wait_for(count, timeout=60 + count / 10)
                deadline = time.monotonic() + 30
                while workspace.count("sent") < count and time.monotonic() < deadline:
                    time.sleep(0.2)
                busy = busy_since(start)
                cpu = sum(process_cpu(p.pid) for p in processes) - cpu_before
                server_cpu = sum(used - servers.get(pid, 0.0) for pid, used
                                 in processes_cpu(server_processes(url)).items())
                endpoint_cpu = process_cpu(endpoint.pid) - endpoint_before
            finally:
                stop_workers(processes)
            stats = endpoint.stats(arrivals=True)
            sent = workspace.count("sent")
        finally:
            workspace.close()
    assert sent == stats["unique"] == count, (sent, stats["unique"], log.read_text()[-2000:])
    arrivals = stats["arrivals"].values()
    return Run(count / (max(arrivals) - min(arrivals)), stats["duplicates"], busy, cpu / count * 1000,
               server_cpu / count * 1000, endpoint_cpu / count * 1000, log_warnings(log))


def run(quick: bool, _database_kind: str) -> bool:
    count = 2000 if quick else 8000
    with tempfile.TemporaryDirectory(prefix="planner-bench-") as folder, Endpoint(LATENCY) as endpoint:
        one = measure(1, count, endpoint, Path(folder))
        four = measure(4, count, endpoint, Path(folder))
    ideal = CONCURRENCY / LATENCY
    line("load", f"{CHANNELS} targets, {count // CHANNELS} posts aimed at all of them; "
                 f"each worker sends {CONCURRENCY} at a time")
    line("1 worker", one.describe(count, ideal))
    line("4 workers", four.describe(count, 4 * ideal))
    line("logs", f"1 worker: {one.warnings}; 4 workers: {four.warnings}")
    passed = verdict("speed-up", four.rate / one.rate, TARGET, at_least=True)
    duplicates = one.duplicates + four.duplicates
    line("duplicates", f"{duplicates}   target 0   {'PASS' if duplicates == 0 else 'MISS'}")
    return passed and duplicates == 0
