"""Request ids, the access log, errors reported with their id, and no secret in any log line."""

import io
import json
import logging
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from werkzeug.wrappers import Response

from planner import create_app, logs
from planner.models import AuditEntry
from planner.services import users
from planner.state import state
from planner.web.context import db
from tests.conftest import Auth
from tests.processes import stop, wait_until
from tests.test_gunicorn import free_port

BOT_TOKEN = "123456:AAH-bot-token-that-must-never-show"


@pytest.fixture
def captured():
    """Every log line of every logger, at DEBUG, as the planner processes format them."""
    stream = io.StringIO()
    root = logging.getLogger()
    handlers = []

    def start(fmt="text"):
        handler = logs.handler(stream, fmt)
        root.addHandler(handler)
        handlers.append(handler)
        return stream

    levels = {name: logging.getLogger(name).level for name in ("", *logs.QUIET)}
    root.setLevel(logging.DEBUG)
    for name, level in logs.QUIET.items():  # as logs.configure leaves them
        logging.getLogger(name).setLevel(level)
    yield start
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    for handler in handlers:
        root.removeHandler(handler)


@pytest.fixture
def failing(app):
    """A page that fails unexpectedly, with errors answered (not raised) as in production."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def boom():
        logging.getLogger("planner.test").info("about to fail")
        raise RuntimeError("the database went away")

    app.add_url_rule("/boom", view_func=boom, methods=["GET", "POST"])
    app.add_url_rule("/api/v1/boom", view_func=boom, methods=["GET", "POST"])
    app.add_url_rule("/boom-in-sql", view_func=lambda: db().execute(text("SELECT * FROM no_such_table")))
    return app


def bearer(st, email="owen@example.com", role="operator"):
    with st.sessions() as session, session.begin():
        user = users.create_user(session, email=email, role=role, password="correct horse battery",
                                 now=st.clock.now())
        return user.id, users.create_token(session, user, now=st.clock.now())


def test_each_request_gets_an_id_and_keeps_a_safe_incoming_one(client):
    first, second = client.get("/login"), client.get("/login")
    assert len(first.headers["X-Request-ID"]) == 16
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    kept = client.get("/login", headers={"X-Request-ID": "edge-7f3a9c21.b"})
    assert kept.headers["X-Request-ID"] == "edge-7f3a9c21.b"
    for unsafe in ("short", "x" * 65, "id with spaces", "id\u2028line", "<script>alert(1)</script>"):
        replaced = client.get("/login", headers={"X-Request-ID": unsafe})
        assert replaced.headers["X-Request-ID"] != unsafe and len(replaced.headers["X-Request-ID"]) == 16


def test_access_line_without_query_string_and_with_the_user(client, st, captured):
    stream = captured()
    user_id, token = bearer(st)
    response = client.get(f"/api/v1/posts?status=draft&token={token}",
                          headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-00000001"})
    assert response.status_code == 422  # "token" is no query parameter of this endpoint
    lines = [line for line in stream.getvalue().splitlines() if "planner.access" in line]
    assert len(lines) == 1
    assert "[req-00000001] GET /api/v1/posts 422 " in lines[0]
    assert lines[0].endswith(f"ms user={user_id}")
    assert "status=draft" not in stream.getvalue() and token not in stream.getvalue()


def test_a_signed_in_page_names_its_user(client, make, captured):
    stream = captured()
    user = make.user("editor", "eva@example.com")
    Auth(client).login("eva@example.com")
    client.get("/")
    assert "GET / 200 " in stream.getvalue() and f"user={user.id}" in stream.getvalue()
    assert "POST /login 302 " in stream.getvalue()


def test_an_unexpected_error_is_logged_with_its_traceback_and_shown_with_its_id(failing, captured):
    stream = captured()
    client = failing.test_client()
    page = client.get("/boom", headers={"X-Request-ID": "report-4242"})
    assert page.status_code == 500
    html = page.get_data(as_text=True)
    assert "tell your admin the request id report-4242" in html and "Request id: report-4242" in html
    assert "the database went away" not in html
    log = stream.getvalue()
    assert "[report-4242] about to fail" in log
    assert "ERROR planner.app [report-4242] Exception on /boom [GET]" in log
    assert "Traceback" in log and "RuntimeError: the database went away" in log
    assert "[report-4242] GET /boom 500 " in log
    api = client.get("/api/v1/boom", headers={"X-Request-ID": "report-4343"})
    assert api.status_code == 500
    assert api.json["error"]["code"] == "internal_error"
    assert "report-4343" in api.json["error"]["message"] and api.json["error"]["fields"] == {}


def test_the_error_page_survives_a_failed_transaction_and_a_failing_database(failing, make, st,
                                                                              tmp_path):
    client = failing.test_client()
    Auth(client).login(make.user("editor", "eva@example.com").email)
    page = client.get("/boom-in-sql", headers={"X-Request-ID": "report-5000"})
    assert page.status_code == 500  # the page's layout read the database again after a rollback
    assert "Request id: report-5000" in page.get_data(as_text=True) and "Sign out" in page.get_data(
        as_text=True)
    working = st.engine
    st.engine = create_engine(f"sqlite:///{tmp_path}/gone/planner.sqlite3")  # the database went away
    try:
        plain = client.get("/boom", headers={"X-Request-ID": "report-5001"})
    finally:
        st.engine.dispose()
        st.engine = working
    assert plain.status_code == 500 and plain.content_type.startswith("text/plain")
    assert plain.get_data(as_text=True) == "Something went wrong on our side. Request id: report-5001"


def test_a_request_refused_before_its_view_still_has_its_id(client, captured):
    stream = captured()
    refused = client.post("/login", data={"email": "eva@example.com", "password": "x"},
                          headers={"X-Request-ID": "refused-0001"})
    assert refused.status_code == 400 and refused.headers["X-Request-ID"] == "refused-0001"
    assert "[refused-0001] POST /login 400 " in stream.getvalue()


def test_json_log_lines(failing, captured):
    stream = captured("json")
    client = failing.test_client()
    client.get("/login?next=/somewhere", headers={"X-Request-ID": "json-00000001"})
    client.get("/boom", headers={"X-Request-ID": "json-00000002"})
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [e for e in entries if e["logger"] == "planner.access"]
    assert {k: access[0][k] for k in ("request_id", "method", "path", "status", "user_id")} == {
        "request_id": "json-00000001", "method": "GET", "path": "/login", "status": 200,
        "user_id": None}
    assert isinstance(access[0]["duration_ms"], float) and access[0]["time"].endswith("Z")
    error = next(e for e in entries if e["level"] == "ERROR")
    assert error["request_id"] == "json-00000002"
    assert "RuntimeError: the database went away" in error["exception"]


def test_no_secret_reaches_the_logs(database_url, tmp_path, clock, captured, fake_platform):
    """A channel secret, a bearer token and a password travel through requests that succeed, fail at
    the platform or are refused; not one log line carries them, nor a page, an API answer or the
    audit log the secret."""
    platform = fake_platform(lambda request: Response(
        json.dumps({"ok": False, "description": f"Bad Gateway at {request.path}"}), status=502,
        content_type="application/json"))
    stream = captured()
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "DATABASE_URL": database_url, "CLOCK": clock, "PROPAGATE_EXCEPTIONS": False,
                      "CHANNEL_KINDS": ["telegram"]})
    try:
        st = state(app)
        _user_id, token = bearer(st)
        client = app.test_client()
        auth = {"Authorization": f"Bearer {token}"}
        created = client.post("/api/v1/channels", headers=auth, json={
            "kind": "telegram", "name": "Python group", "tags": [],
            "settings": {"bot_token": BOT_TOKEN, "chat_id": "-100123", "api_base": platform.url}})
        assert created.status_code == 201, created.json
        tried = client.post(f"/api/v1/channels/{created.json['id']}/test", headers=auth,
                            json={"action": "message"})
        assert tried.json["ok"] is False
        assert platform.requests and BOT_TOKEN in platform.requests[0].path  # it was really used
        client.post("/api/v1/channels", headers=auth, json={
            "kind": "telegram", "name": "Python group", "tags": [], "settings": {"bot_token": BOT_TOKEN}})
        answers = [created, tried, client.get("/api/v1/channels", headers=auth),
                   client.get(f"/api/v1/channels/{created.json['id']}", headers=auth)]
        client.get(f"/api/v1/channels?access_token={token}&bot_token={BOT_TOKEN}", headers=auth)
        browser = Auth(client)
        browser.login("owen@example.com", "a wrong password: hunter2-hunter2")
        browser.login("owen@example.com")
        pages = [client.get(path) for path in ("/channels", f"/channels/{created.json['id']}/edit")]
        assert all(page.status_code == 200 for page in pages)
        with st.sessions() as session:
            audit_rows = json.dumps([entry.data for entry in session.scalars(select(AuditEntry))])
    finally:
        state(app).engine.dispose()
    shown = audit_rows + "".join(r.get_data(as_text=True) for r in answers + pages)
    assert "Python group" in shown and "bot_token" in shown  # the names are there, not the values
    assert BOT_TOKEN not in shown and BOT_TOKEN.split(":")[1] not in shown
    log = stream.getvalue()
    assert "planner.access" in log and "/api/v1/channels/1/test 200" in log
    assert "telegram test message failed" in log  # the platform's failure is reported, redacted
    for secret in (BOT_TOKEN, BOT_TOKEN.split(":")[1], token, token.removeprefix("plnr_"),
                   "hunter2-hunter2"):
        assert secret not in log


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_log_line_never_carries_a_secret_even_when_the_code_forgets(fmt):
    """The last guard behind the careful code: whatever a log call is handed (a URL with its key,
    an exception whose traceback names a bot token), the line written carries no secret."""
    stream = io.StringIO()
    logger = logging.getLogger("planner.worker.forgetful")
    handler = logs.handler(stream, fmt)
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logs.keep_out("instance-secret-0a1b2c3d")
    secrets = [BOT_TOKEN, "693a91f6-7xx8-4bd6-9e5f-0c1a2b3c4d5e", "SEC0123456789abcdef",
               "plnr_" + "t" * 43, "0123abcd-4567-89ef-0123-456789abcdef", "instance-secret-0a1b2c3d",
               "whsec_" + "w" * 40, "discourse-api-key-42", "q1w2e3r4t5y6-manage-token"]
    try:
        logger.info("sending to https://api.telegram.org/bot%s/sendMessage", BOT_TOKEN)
        logger.warning("robot %s refused", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?"
                       f"key={secrets[1]}")
        logger.warning("headers %s", {"Authorization": f"Bearer {secrets[3]}",
                                      "Api-Key": secrets[7]})
        logger.info("GET /book/manage/%s/booking.ics", secrets[8])
        try:
            raise ConnectionError(f"https://oapi.dingtalk.com/robot/send?access_token=x1y2z3w4"
                                  f"&sign={secrets[2]} https://open.feishu.cn/open-apis/bot/v2/hook/"
                                  f"{secrets[4]} {secrets[5]} {secrets[6]}")
        except ConnectionError:
            logger.exception("delivery %s: the channel kind raised", 7)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    written = stream.getvalue()
    assert "delivery 7: the channel kind raised" in written and "ConnectionError" in written
    assert "/bot••••/sendMessage" in written and "send?key=••••" in written
    assert [secret for secret in secrets if secret in written] == []
    if fmt == "json":
        assert all(json.loads(line)["logger"] == "planner.worker.forgetful"
                   for line in written.splitlines())


def test_configure_refuses_an_unknown_format():
    with pytest.raises(ValueError, match="LOG_FORMAT must be 'text' or 'json', not 'xml'"):
        logs.configure({"LOG_FORMAT": "xml"})


def test_the_request_id_is_kept_out_of_other_requests(client):
    client.get("/login")
    assert logs.request_id.get() == "-"



def test_gunicorn_writes_json_access_lines_with_request_ids(sqlite_template, tmp_path):
    """Under gunicorn nobody else sets planner's logging up: the app does, as configured."""
    shutil.copy(sqlite_template, tmp_path / "planner.sqlite3")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANNER_")}
    env |= {"PLANNER_INSTANCE_PATH": str(tmp_path), "PLANNER_LOG_FORMAT": "json"}
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen([Path(sys.executable).with_name("gunicorn"), "--workers", "1",
                                   "--bind", f"127.0.0.1:{port}", "planner:create_app()"],
                                  env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        def answered():
            request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz?key=s3cr3t-value",
                                             headers={"X-Request-ID": "probe-0000001"})
            try:
                with urllib.request.urlopen(request, timeout=1) as response:
                    return response.headers["X-Request-ID"] == "probe-0000001"
            except OSError:
                return False

        wait_until(answered, 30, "gunicorn to answer")
    finally:
        stop(server)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    access = [e for e in lines if e.get("request_id") == "probe-0000001"]
    assert access and access[0]["path"] == "/healthz" and access[0]["status"] == 200
    assert "s3cr3t-value" not in log_path.read_text()
