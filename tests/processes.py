"""Real ``planner worker`` processes for the crash and shutdown tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update

from planner.models import Delivery

PLANNER = Path(sys.executable).with_name("planner")
_started: list[subprocess.Popen[bytes]] = []


def worker_env(st, database_url: str, **settings: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    env = {key: value for key, value in os.environ.items() if not key.startswith("PLANNER_")}
    env |= {
        "PLANNER_INSTANCE_PATH": str(st.instance_path),
        "PLANNER_DATABASE_URL": database_url,
        "PLANNER_LEASE_SECONDS": "1",
        "PLANNER_DISPATCH_INTERVAL_SECONDS": "1",
        "PLANNER_LOG_LEVEL": "WARNING",
    }
    return env | {f"PLANNER_{key.upper()}": value for key, value in settings.items()}


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        process = subprocess.Popen([PLANNER, "worker"], env=env, stdout=output,
                                   stderr=subprocess.STDOUT)
    _started.append(process)
    return process


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what} after {timeout} s")


def due_now(st) -> None:  # type: ignore[no-untyped-def]
    """Make every waiting delivery due by the real clock the worker processes use."""
    now = datetime.now(UTC)
    with st.sessions() as session, session.begin():
        session.execute(update(Delivery).where(Delivery.status.in_(["pending", "retrying"]))
                        .values(due_at=now, next_attempt_at=now))


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> int:
    if process.poll() is None:
        process.terminate()
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"worker {process.pid} did not stop within {timeout} s of SIGTERM") from None


def kill_leftovers() -> list[int]:
    """Kill every worker a test started and did not stop (a failed assertion skips its cleanup), so
    none lives on into the next test's database; returns the pids that had to be killed."""
    killed = []
    while _started:
        process = _started.pop()
        if process.poll() is None:
            process.kill()
            killed.append(process.pid)
        process.wait()
    return killed
