"""Production shape: gunicorn with 4 web workers and one dispatcher; each delivery goes out once."""

import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from planner.models import Delivery
from planner.services import users
from tests.fakes.webhook import SECRET, FakeReceiver
from tests.processes import start_worker, stop, wait_until, worker_env

GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(base, method, path, token, body=None):
    request = urllib.request.Request(
        base + "/api/v1" + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


@pytest.fixture
def web(st, database_url, tmp_path):
    port = free_port()
    env = worker_env(st, database_url)
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [GUNICORN, "--workers", "4", "--bind", f"127.0.0.1:{port}", "planner:create_app()"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def answers():
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_until(answers, 30, "gunicorn to answer")
        yield base
    finally:
        stop(server)
        log.close()


def test_each_delivery_goes_out_exactly_once(st, make, database_url, tmp_path, web, fake_platform):
    receiver = FakeReceiver()
    server = fake_platform(receiver)
    editor, operator = make.user("editor"), make.user("operator")
    with st.sessions() as session, session.begin():
        editor_token = users.create_token(session, session.merge(editor), now=st.clock.now())
        operator_token = users.create_token(session, session.merge(operator), now=st.clock.now())
    channel_ids = []
    for n in range(3):
        status, channel = call(web, "POST", "/channels", operator_token, {
            "kind": "webhook", "name": f"Bridge {n}", "tags": ["bridges"],
            "settings": {"url": f"{server.url}/hooks/{n}", "secret": SECRET},
            "rate_per_minute": 6000})
        assert status == 201, channel
        channel_ids.append(channel["id"])
    publish_at = (datetime.now(UTC) + timedelta(seconds=6)).isoformat()

    def write(n):
        status, post = call(web, "POST", "/posts", editor_token, {
            "kind": "share", "title": f"Worth reading #{n}", "body": f"Article {n}",
            "scheduled_at": publish_at, "tags": ["bridges"]})
        assert status == 201, post
        assert call(web, "POST", f"/posts/{post['id']}/submit", editor_token, {})[0] == 200
        return post["id"]

    def approve(post_id):
        return call(web, "POST", f"/posts/{post_id}/approve", operator_token, {})[0]

    with ThreadPoolExecutor(8) as pool:
        post_ids = list(pool.map(write, range(20)))
        # Each post approved twice at once, as from two operators' double clicks.
        answers = list(pool.map(approve, post_ids + post_ids))
    assert sorted(answers) == [200] * 20 + [409] * 20

    worker = start_worker(worker_env(st, database_url), tmp_path / "worker.log")
    try:
        def all_sent():
            with st.sessions() as session:
                return set(session.scalars(select(Delivery.status))) == {"sent"}

        wait_until(all_sent, 40, "every delivery to be sent")
    finally:
        assert stop(worker) == 0
    with st.sessions() as session:
        assert len(session.scalars(select(Delivery)).all()) == 60
    assert len(receiver.events) == 60 and receiver.duplicates == [] and receiver.rejected == []
    assert {e["data"]["title"] for e in receiver.events} == {f"Worth reading #{n}" for n in range(20)}
