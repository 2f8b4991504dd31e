"""Fixtures: every database test runs on SQLite and, when PLANNER_TEST_POSTGRES_URL is set, on PostgreSQL."""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from planner import create_app
from planner.clock import ManualClock
from planner.db import normalise_url
from planner.migrate import upgrade
from planner.models import Base
from planner.services import channels as channel_service
from planner.services import posts as post_service
from planner.services import users
from planner.services.posts import PostInput
from planner.state import state as planner_state

PG_URL = os.environ.get("PLANNER_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # a Monday, 08:00 in Asia/Shanghai
PASSWORD = "correct horse battery"


# ---- network guard -----------------------------------------------------------------------------

_real_connect = socket.socket.connect


def _guarded_connect(self, address):  # type: ignore[no-untyped-def]
    host = address[0] if isinstance(address, tuple) else None
    if host is not None:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise RuntimeError(f"tests may not reach the network ({host})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture(autouse=True)
def no_leftover_workers():  # type: ignore[no-untyped-def]
    """A worker process left running would keep writing to the next test's database."""
    from tests.processes import kill_leftovers

    yield
    kill_leftovers()


# ---- databases ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """One SQLite database migrated from empty by Alembic; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "planner.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    if not PG_URL:
        message = "PostgreSQL tests need PLANNER_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1/test)"
        if IN_CI:
            pytest.fail(message + " — CI must run them", pytrace=False)
        pytest.skip(message)
    engine = create_engine(normalise_url(PG_URL))
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except Exception as error:  # unreachable server: fail loudly, never skip silently
        pytest.fail(f"PostgreSQL at {PG_URL} is not usable: {error}", pytrace=False)
    finally:
        engine.dispose()
    upgrade(PG_URL)
    return PG_URL


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        path = tmp_path / "planner.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_migrated")
    engine = create_engine(normalise_url(url))
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


# ---- the app -----------------------------------------------------------------------------------

@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def app(database_url, tmp_path, clock):  # type: ignore[no-untyped-def]
    app = create_app({
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "CLOCK": clock,
        "CHANNEL_KINDS": ["outbox"],
    })
    yield app
    planner_state(app).engine.dispose()


@pytest.fixture
def st(app):  # type: ignore[no-untyped-def]
    return planner_state(app)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def api(st, client):  # type: ignore[no-untyped-def]
    """The JSON API as a given user: ``api.call("GET", "/posts", editor)`` or ``api("GET", …)``."""
    from tests.api_client import ApiClient

    return ApiClient(st, client)


@pytest.fixture
def runner(app):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


# ---- factories ---------------------------------------------------------------------------------

class Factory:
    def __init__(self, st) -> None:  # type: ignore[no-untyped-def]
        self.st = st
        self._count = 0

    def user(self, role: str = "editor", email: str | None = None):  # type: ignore[no-untyped-def]
        self._count += 1
        email = email or f"{role}{self._count}@example.com"
        with self.st.sessions() as session, session.begin():
            return users.create_user(session, email=email, role=role, password=PASSWORD,
                                     now=self.st.clock.now())

    def channel(self, name: str | None = None, tags: list[str] | None = None, kind: str = "outbox",
                **extra):  # type: ignore[no-untyped-def]
        self._count += 1
        with self.st.sessions() as session, session.begin():
            return channel_service.create_channel(
                session, self.st.registry, self.st.secret_box, kind=kind,
                name=name or f"Group {self._count}", settings={}, tags=tags or [],
                actor="test", now=self.st.clock.now(), **extra)

    def post(self, author, *, status: str = "draft", reviewer=None, **overrides):  # type: ignore[no-untyped-def]
        """A post in the given status, reached through the real transitions."""
        now = self.st.clock.now()
        data = {"kind": "tutorial", "title": "Tip of the week", "body": "Use **f-strings**.",
                "scheduled_at": now + timedelta(hours=1)} | overrides
        with self.st.sessions() as session, session.begin():
            author = session.merge(author)
            post = post_service.create_post(session, author, PostInput(**data), now=now)
            if status in ("in_review", "approved"):
                post_service.submit(session, author, post, now=now)
            if status == "approved":
                reviewer = session.merge(reviewer)
                post_service.approve(session, reviewer, post, now=now, allow_self_approval=False)
            return post.id


@pytest.fixture
def make(st) -> Factory:  # type: ignore[no-untyped-def]
    return Factory(st)


@pytest.fixture
def tick(st):  # type: ignore[no-untyped-def]
    """Run one dispatcher tick through the real worker code, then close the dispatcher."""
    from planner.worker.dispatcher import Dispatcher

    def run(**options):  # type: ignore[no-untyped-def]
        with Dispatcher(st, **options) as dispatcher:
            return dispatcher.tick()

    return run


# ---- fake platforms ----------------------------------------------------------------------------

@pytest.fixture
def fake_platform():  # type: ignore[no-untyped-def]
    """Start fake platform servers: ``fake_platform(handler)`` returns a running FakePlatform."""
    from tests.fakes.server import FakePlatform

    started = []

    def start(handler):  # type: ignore[no-untyped-def]
        server = FakePlatform(handler).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def http():  # type: ignore[no-untyped-def]
    """The outgoing HTTP client channel kinds get, with short timeouts for tests."""
    from planner.http import HttpClient

    client = HttpClient(connect_timeout=2, read_timeout=2)
    yield client
    client.close()


# ---- signing in --------------------------------------------------------------------------------

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1) or match.group(2)


class Auth:
    def __init__(self, client) -> None:  # type: ignore[no-untyped-def]
        self.client = client

    def login(self, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
        token = csrf_from(self.client.get("/login").get_data(as_text=True))
        return self.client.post("/login", data={"email": email, "password": password,
                                                "csrf_token": token})

    def token(self, path: str = "/") -> str:
        return csrf_from(self.client.get(path).get_data(as_text=True))


@pytest.fixture
def auth(client) -> Auth:  # type: ignore[no-untyped-def]
    return Auth(client)
