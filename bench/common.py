"""What the benchmarks share: a fresh database, a workspace with approved posts, a local endpoint,
``planner worker`` processes, the machine's description and the verdict line."""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import platform
import random
import secrets
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import requests
from psycopg import sql
from sqlalchemy import func, select, update

from planner import create_app
from planner.migrate import upgrade
from planner.models import Delivery, User, WorkerHeartbeat
from planner.services import channels, posts, users
from planner.services.posts import PostInput
from planner.state import state

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PLANNER = Path(sys.executable).with_name("planner")
BODY = """This week: **structured logging** in small services.

1. Log events, not sentences: `log.info("sent", extra={"delivery": 42})`.
2. Keep one logger per module and configure handlers once, at start-up.
3. Never log a secret; redact tokens before they reach a handler.

Read the [logging cookbook](https://docs.python.org/3/howto/logging-cookbook.html) and bring one
question to Thursday's session. Questions in the thread are welcome too.
"""


# ---- databases ---------------------------------------------------------------------------------

@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """A freshly migrated database: SQLite in ``folder``, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / 'planner.sqlite3'}"
        upgrade(url)
        yield url
        return
    name = f"planner_bench_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        upgrade(f"{POSTGRES}/{name}")
        yield f"{POSTGRES}/{name}"
    finally:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# ---- the workload ------------------------------------------------------------------------------

class Workspace:
    """planner on a database, with an editor and an operator, webhook channels and approved posts."""

    def __init__(self, url: str, instance: Path) -> None:
        self.url, self.instance = url, instance
        self.app = create_app({"INSTANCE_PATH": str(instance), "DATABASE_URL": url,
                               "SECRET_KEY": "bench", "CHANNEL_KINDS": ["webhook"]})
        self.st = state(self.app)
        with self.st.sessions() as session, session.begin():
            now = self.st.clock.now()
            self.editor = users.create_user(session, email="editor@example.com", role="editor",
                                            password=secrets.token_hex(8), now=now).id
            self.operator = users.create_user(session, email="operator@example.com", role="operator",
                                              password=secrets.token_hex(8), now=now).id

    def add_channels(self, count: int, endpoint: str, tag: str) -> None:
        """``count`` webhook channels to ``endpoint``, tagged ``tag``, allowed 6,000 messages a minute."""
        with self.st.sessions() as session, session.begin():
            for n in range(count):
                channels.create_channel(
                    session, self.st.registry, self.st.secret_box, kind="webhook", name=f"{tag} {n}",
                    settings={"url": f"{endpoint}/hooks/{n}", "secret": SECRET}, tags=[tag],
                    actor="bench", now=self.st.clock.now(), rate_per_minute=6000)

    def add_posts(self, count: int, tag: str) -> None:
        """``count`` posts aimed at ``tag``, submitted and approved: one delivery per tagged channel."""
        for n in range(count):
            with self.st.sessions() as session, session.begin():
                now = self.st.clock.now()
                editor, operator = session.get(User, self.editor), session.get(User, self.operator)
                post = posts.create_post(session, editor, PostInput(
                    kind="tutorial", title=f"Lesson {n}", body=BODY,
                    scheduled_at=now + timedelta(hours=1), tags=[tag]), now=now)
                posts.submit(session, editor, post, now=now)
                posts.approve(session, operator, post, now=now, allow_self_approval=False)

    def make_due(self, when: datetime) -> None:
        """Every waiting delivery falls due at ``when``."""
        with self.st.sessions() as session, session.begin():
            session.execute(update(Delivery).where(Delivery.status.in_(["pending", "retrying"]))
                            .values(due_at=when, next_attempt_at=when))

    def spread_due(self, start: datetime, seconds: float, seed: int = 7) -> None:
        """Due times evenly spaced over ``seconds`` from ``start``, in a shuffled delivery order."""
        with self.st.sessions() as session, session.begin():
            ids = list(session.scalars(select(Delivery.id).order_by(Delivery.id)))
            random.Random(seed).shuffle(ids)
            step = seconds / len(ids)
            rows = [{"id": i, "due_at": start + timedelta(seconds=n * step),
                     "next_attempt_at": start + timedelta(seconds=n * step)} for n, i in enumerate(ids)]
            session.execute(update(Delivery), rows)

    def count(self, status: str | None = None) -> int:
        query = select(func.count()).select_from(Delivery)
        with self.st.sessions() as session:
            return session.scalar(query if status is None else query.where(Delivery.status == status))

    def due_by_key(self) -> dict[str, datetime]:
        with self.st.sessions() as session:
            return dict(session.execute(select(Delivery.idempotency_key, Delivery.due_at)).tuples().all())

    def heartbeats(self) -> int:
        with self.st.sessions() as session:
            return session.scalar(select(func.count()).select_from(WorkerHeartbeat))

    def close(self) -> None:
        self.st.engine.dispose()


# ---- the local endpoint ------------------------------------------------------------------------

class Endpoint:
    """A local receiver in a process of its own, so it does not compete for the interpreter lock with
    what is measured: a threaded WSGI server that answers 204 after ``latency`` seconds and records
    when each ``webhook-id`` first arrived, counting any repeat as a duplicate."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(latency, child), daemon=True)
        self._process.start()
        if not parent.poll(60):
            self._process.terminate()
            raise RuntimeError("the local endpoint did not start")
        self.url = parent.recv()
        self.pid = self._process.pid
        self._http = requests.Session()

    def stats(self, arrivals: bool = False) -> dict[str, Any]:
        """``requests``, ``unique``, ``duplicates`` and, if asked, ``arrivals`` (id → Unix time)."""
        return self._http.get(f"{self.url}/stats", params={"arrivals": int(arrivals)}).json()

    def reset(self) -> None:
        self._http.delete(f"{self.url}/stats")

    def wait_for(self, count: int, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (stats := self.stats())["unique"] < count and time.monotonic() < deadline:
            time.sleep(0.2)
        return stats

    def close(self) -> None:
        self._http.close()
        self._process.terminate()
        self._process.join(5)

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _serve(latency: float, conn: Any) -> None:
    from werkzeug.serving import WSGIRequestHandler, make_server

    lock = threading.Lock()
    first: dict[str, float] = {}
    counts = {"requests": 0, "duplicates": 0}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        if method == "POST":
            arrived = time.time()
            environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            hook_id = environ.get("HTTP_WEBHOOK_ID", "")
            with lock:
                counts["requests"] += 1
                if hook_id in first:
                    counts["duplicates"] += 1
                else:
                    first[hook_id] = arrived
            if latency:
                time.sleep(latency)
            start_response("204 No Content", [])
            return []
        with lock:
            if method == "DELETE":
                first.clear()
                counts.update(requests=0, duplicates=0)
            data: dict[str, Any] = {**counts, "unique": len(first)}
            if "arrivals=1" in environ.get("QUERY_STRING", ""):
                data["arrivals"] = dict(first)
        body = json.dumps(data).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    class Quiet(WSGIRequestHandler):
        def log_request(self, *_args: Any) -> None:
            pass

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    conn.send(f"http://127.0.0.1:{server.port}")
    server.serve_forever()


# ---- worker processes --------------------------------------------------------------------------

def start_workers(count: int, workspace: Workspace, log: Path, **settings: object) -> list[subprocess.Popen]:
    """``count`` real ``planner worker`` processes on the workspace's database, with ``settings``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PLANNER_")}
    env |= {"PLANNER_INSTANCE_PATH": str(workspace.instance), "PLANNER_DATABASE_URL": workspace.url,
            "PLANNER_CHANNEL_KINDS": "webhook", "PLANNER_LOG_LEVEL": "WARNING"}
    env |= {f"PLANNER_{key.upper()}": str(value) for key, value in settings.items()}
    with log.open("ab") as output:
        return [subprocess.Popen([PLANNER, "worker"], env=env, stdout=output, stderr=subprocess.STDOUT)
                for _ in range(count)]


def wait_until_running(workspace: Workspace, processes: list[subprocess.Popen], log: Path) -> None:
    """Until every worker has written its first heartbeat (it is then ticking)."""
    deadline = time.monotonic() + 60
    while workspace.heartbeats() < len(processes):
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            raise RuntimeError(f"the workers did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)


def stop_workers(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        process.wait(timeout=60)


# ---- reporting ---------------------------------------------------------------------------------

def machine() -> dict[str, str]:
    """The machine the figures come from."""
    cpu = next((line.split(":", 1)[1].strip() for line in _lines("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor() or "unknown")
    kib = next((int(line.split()[1]) for line in _lines("/proc/meminfo") if line.startswith("MemTotal")), 0)
    try:
        with psycopg.connect(f"{POSTGRES}/postgres", connect_timeout=3) as conn:
            postgres = str(conn.execute("SHOW server_version").fetchone()[0])
    except psycopg.Error as error:
        postgres = f"unreachable ({str(error).splitlines()[0]})"
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cpu": f"{os.cpu_count()} cores, {cpu}", "ram": f"{kib / 2**20:.1f} GiB",
            "os": platform.platform(), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "postgresql": postgres}


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) time of all cores since boot, from /proc/stat."""
    fields = [int(value) for value in _lines("/proc/stat")[0].split()[1:9]]
    return sum(fields) - fields[3] - fields[4], sum(fields)


def busy_since(start: tuple[int, int]) -> float:
    """The share of all cores' time spent busy since ``start`` (from :func:`cpu_jiffies`)."""
    busy, total = cpu_jiffies()
    return (busy - start[0]) / max(1, total - start[1])


def process_cpu(pid: int) -> float:
    """Seconds of CPU a running process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_processes(url: str) -> list[int]:
    """The PostgreSQL server processes serving the database at ``url`` (a server on this machine)."""
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")]


def processes_cpu(pids: list[int]) -> dict[int, float]:
    """Seconds of CPU each of ``pids`` has used; processes that are gone are left out."""
    found = {}
    for pid in pids:
        try:
            found[pid] = process_cpu(pid)
        except OSError:
            pass
    return found


def log_warnings(log: Path) -> str:
    """How many warnings and errors the workers logged, and the first of them."""
    found = [text.split(" WARNING ", 1)[-1].split(" ERROR ", 1)[-1] for text in log.read_text().splitlines()
             if " WARNING " in text or " ERROR " in text]
    return f"{len(found)} warnings" + (f" (first: {found[0][:70]}…)" if found else "")


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def line(label: str, text: str) -> None:
    print(f"  {label:<12} {text}", flush=True)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def verdict(label: str, value: float, target: float, *, at_least: bool, unit: str = "") -> bool:
    """Print the figure against its target with PASS or MISS (and by how much); True if it passed."""
    passed = value >= target if at_least else value <= target
    sign = "≥" if at_least else "≤"
    outcome = "PASS" if passed else f"MISS by {abs(value - target) / target:.0%}"
    line(label, f"{value:.2f}{unit}   target {sign} {target:g}{unit}   {outcome}")
    return passed
