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
        return subprocess.Popen([PLANNER, "worker"], env=env, stdout=output,
                                stderr=subprocess.STDOUT)


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
    return process.wait(timeout=timeout)
