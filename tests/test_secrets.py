"""No secret is ever shown: not in a page, an export, an API answer, an error, the audit log or a log line.

A workspace is set up with every kind of secret planner holds — channel credentials (a Telegram bot
token, a webhook signing secret, a Mastodon access token), the instance's secret key, encryption key
and SMTP password, API tokens, a private calendar link, a guest's booking link, passwords — and is
used: deliveries fail at the platform (which echoes what it was sent), a channel test fails, a page
fails unexpectedly, someone mistypes a password. Then every surface is read and searched for each
secret. Two links are shown on purpose, to their owner only: the calendar link on its owner's
account page and ``/api/v1/me``, and the booking link on the guest's own pages.
"""

from __future__ import annotations

import base64
import io
import json
import logging
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from werkzeug.wrappers import Response

from planner import create_app, logs
from planner.models import AuditEntry, Booking, Delivery, DeliveryAttempt, User
from planner.state import state
from planner.web import reports
from planner.worker.dispatcher import Dispatcher
from tests.conftest import PASSWORD, Auth
from tests.seed_helpers import token

BOT_TOKEN = "123456:AAH-bot-token-that-must-never-show"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"webhook-signing-secret-bytes").decode()
MASTODON_TOKEN = "mastodon-access-token-9f8e7d6c5b4a"
SECRET_KEY = "instance-secret-key-3c2b1a0f9e8d"
SMTP_PASSWORD = "smtp-password-7a6b5c4d"
WRONG_PASSWORD = "hunter2-hunter2-wrong"
ENCRYPTION_KEY = Fernet.generate_key().decode()


@pytest.fixture
def captured():
    """Every log line of every logger, at DEBUG, as planner's handlers write them."""
    stream = io.StringIO()
    root = logging.getLogger()
    handler = logs.handler(stream)
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.setLevel(level)
    root.removeHandler(handler)


@pytest.fixture
def workspace(database_url, tmp_path, clock, fake_platform):  # type: ignore[no-untyped-def]
    def echo(request):  # type: ignore[no-untyped-def]
        """A platform that fails and repeats what it was sent, as some do."""
        text = f"Bad Gateway at {request.path}?{request.query_string.decode()} " \
               f"auth={request.headers.get('Authorization')} body={request.get_data(as_text=True)}"
        return Response(json.dumps({"ok": False, "description": text, "error": text}), status=502,
                        content_type="application/json")

    platform = fake_platform(echo)
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "DATABASE_URL": database_url, "CLOCK": clock, "SECRET_KEY": SECRET_KEY,
                      "ENCRYPTION_KEY": ENCRYPTION_KEY, "SMTP_PASSWORD": SMTP_PASSWORD,
                      "PROPAGATE_EXCEPTIONS": False,
                      "CHANNEL_KINDS": ["telegram", "webhook", "mastodon", "outbox"]})

    def boom():
        raise RuntimeError(f"the platform at {platform.url}/bot{BOT_TOKEN}/sendMessage refused "
                           f"{WEBHOOK_SECRET}")

    app.add_url_rule("/boom", view_func=boom)
    app.add_url_rule("/api/v1/boom", view_func=boom)
    yield app, platform
    state(app).engine.dispose()


def test_no_secret_is_shown_anywhere(workspace, captured):
    app, platform = workspace
    world = use_the_workspace(app, platform)
    client, api = world["client"], world["api"]
    tried = world["tried"]
    secrets = {
        "telegram bot token": BOT_TOKEN, "its secret half": BOT_TOKEN.split(":")[1],
        "webhook signing secret": WEBHOOK_SECRET, "its key": WEBHOOK_SECRET.removeprefix("whsec_"),
        "mastodon access token": MASTODON_TOKEN, "SECRET_KEY": SECRET_KEY,
        "encryption key": ENCRYPTION_KEY, "SMTP password": SMTP_PASSWORD,
        "password": PASSWORD, "mistyped password": WRONG_PASSWORD,
        "password hash": world["password_hash"],
        "calendar token": world["calendar_token"], "booking token": world["booking_token"],
    } | {f"API token {n}": value for n, value in enumerate(world["api_tokens"])} | {
        f"API token {n} without its prefix": value.removeprefix("plnr_")
        for n, value in enumerate(world["api_tokens"])}
    # Where a link is shown on purpose: to its owner.
    allowed = {"/account/calendar": {"calendar token"}, "/api/v1/me": {"calendar token"},
               "/book/manage": {"booking token"}}

    post, channel = world["post_id"], world["channel_id"]
    start, end = "2026-11-01", "2026-12-31"
    pages = ["/", "/deliveries", "/outbox", f"/posts/{post}", "/review", "/settings", "/settings/rules",
             "/channels", f"/channels/{channel}/edit", "/account", "/account/security",
             "/account/calendar", "/reports", "/slots", f"/slots/{world['slot_id']}",
             f"/bookings/{world['booking_id']}", "/feeds", "/inbox", "/series",
             f"/posts/export?start={start}&end={end}", "/feeds/export.opml", "/metrics", "/healthz",
             f"/calendar.ics?token={world['calendar_token']}",
             f"/book/manage/{world['booking_token']}", f"/book/manage/{world['booking_token']}/booking.ics",
             *(f"/reports/{name}.csv?start={start}&end={end}" for name in reports.TABLES), "/boom"]
    answers = {path: client.get(path) for path in pages}
    api_paths = ["/api/v1/posts/export?start=2026-11-01T00:00:00Z&end=2026-12-31T00:00:00Z",
                 f"/api/v1/posts/{post}/deliveries", f"/api/v1/posts/{post}", "/api/v1/channels",
                 f"/api/v1/channels/{channel}", "/api/v1/me", "/api/v1/stats", "/api/v1/slots",
                 f"/api/v1/bookings/{world['booking_id']}", "/api/v1/boom"]
    answers |= {path: api(path) for path in api_paths}
    answers["channel test"] = tried
    for path, answer in answers.items():
        assert answer.status_code in (200, 500), (path, answer.status_code)
    assert answers["/boom"].status_code == 500 and answers["/api/v1/boom"].status_code == 500

    texts = {path: answer.get_data(as_text=True) for path, answer in answers.items()}
    for answer in answers.values():
        answer.close()
    with app.app_context(), state(app).sessions() as session:
        texts["audit log"] = json.dumps([[e.action, e.data] for e in session.scalars(select(AuditEntry))],
                                        ensure_ascii=False)
        texts["deliveries"] = json.dumps([[d.last_error, d.remote_url] for d in session.scalars(
            select(Delivery))] + [a.message for a in session.scalars(select(DeliveryAttempt))])
    texts["logs"] = captured.getvalue()

    leaks = [f"{name} in {where}" for where, text in texts.items() for name, value in secrets.items()
             if value in text and name not in next((names for prefix, names in allowed.items()
                                                   if where.startswith(prefix)), set())]
    print(f"\nsecret grep: {len(secrets)} secrets × {len(texts)} surfaces ({len(answers)} pages, "
          "exports and API answers; the audit log, the delivery errors and every log line)")
    assert not leaks, "\n".join(leaks)
    # The search would have found them: the secrets were really used, and the surfaces are real.
    assert platform_saw(platform, BOT_TOKEN) and platform_saw(platform, MASTODON_TOKEN)
    assert world["calendar_token"] in texts["/account/calendar"]
    assert "BEGIN:VCALENDAR" in texts[f"/calendar.ics?token={world['calendar_token']}"]
    assert "planner_deliveries" in texts["/metrics"] and "Python group" in texts["/channels"]
    assert "bot_token" in texts["audit log"] and "502" in texts["deliveries"]
    assert "Traceback" in texts["logs"] and "/bot••••/sendMessage" in texts["logs"]


def use_the_workspace(app, platform) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """Channels with credentials, a failed test and failed deliveries, a calendar link, a booking,
    a mistyped password; returns what the test reads and the secrets made on the way."""
    st = state(app)
    admin = _user(st, "admin@example.com", "admin")
    tokens = {"admin": token(st, admin), "operator": token(st, _user(st, "operator@example.com", "operator")),
              "editor": token(st, _user(st, "editor@example.com", "editor"))}
    client = app.test_client()

    def api(path, method="GET", who="admin", body=None):  # type: ignore[no-untyped-def]
        return client.open(path, method=method, json=body,
                           headers={"Authorization": f"Bearer {tokens[who]}"})

    channels = [
        {"kind": "telegram", "name": "Python group", "settings": {
            "bot_token": BOT_TOKEN, "chat_id": "-100123", "api_base": platform.url}},
        {"kind": "webhook", "name": "Hook", "settings": {"url": f"{platform.url}/hook",
                                                          "secret": WEBHOOK_SECRET}},
        {"kind": "mastodon", "name": "Toots", "settings": {"base_url": platform.url,
                                                           "access_token": MASTODON_TOKEN}},
    ]
    ids = []
    for body in channels:
        created = api("/api/v1/channels", "POST", "operator", body | {"tags": []})
        assert created.status_code == 201, created.get_data(as_text=True)
        ids.append(created.get_json()["id"])
    tried = api(f"/api/v1/channels/{ids[0]}/test", "POST", "operator", {"action": "message"})
    assert tried.get_json()["ok"] is False
    now = st.clock.now()
    post = api("/api/v1/posts", "POST", "editor", {
        "kind": "tutorial", "title": "Tip", "body": "Use **f-strings**.",
        "scheduled_at": (now + timedelta(minutes=5)).isoformat(), "channel_ids": ids}).get_json()
    api(f"/api/v1/posts/{post['id']}/submit", "POST", "editor", {})
    assert api(f"/api/v1/posts/{post['id']}/approve", "POST", "operator", {}).status_code == 200
    calendar = api("/api/v1/me/calendar-link", "POST", "admin", {}).get_json()
    st.clock.advance(minutes=10)
    with Dispatcher(st) as dispatcher:  # the sends fail at the platform, which echoes them
        dispatcher.tick()
    slot = api("/api/v1/slots", "POST", "operator", {
        "title": "Guests", "starts_at": (now + timedelta(days=3)).isoformat(),
        "duration_minutes": 60, "timezone": "Asia/Shanghai", "channel_ids": [ids[0]],
        "min_notice_minutes": 0}).get_json()["items"][0]
    booked = client.post(f"/api/v1/public/slots/{slot['id']}/bookings", json={
        "name": "Speaker", "email": "speaker@example.org", "topic": "Types", "abstract": "Why",
        "bio": "", "contact": ""})
    assert booked.status_code == 201, booked.get_data(as_text=True)
    browser = Auth(client)
    assert browser.login("admin@example.com", WRONG_PASSWORD).status_code == 401
    assert browser.login("admin@example.com").status_code == 302
    with st.sessions() as session:
        password_hash = session.scalar(select(User.password_hash).where(User.id == admin.id))
        booking_id = session.scalar(select(Booking.id))
    return {"client": client, "api": api, "tried": tried, "post_id": post["id"],
            "channel_id": ids[0], "slot_id": slot["id"], "booking_id": booking_id,
            "calendar_token": calendar["calendar_url"].rsplit("token=", 1)[1],
            "booking_token": booked.get_json()["manage_url"].split("?")[0].rstrip("/").rsplit("/", 1)[1],
            "api_tokens": list(tokens.values()), "password_hash": password_hash}


def platform_saw(platform, value: str) -> bool:  # type: ignore[no-untyped-def]
    return any(value in request.path or value in str(request.headers)
               or value.encode() in request.body for request in platform.requests)


def _user(st, email: str, role: str):  # type: ignore[no-untyped-def]
    from planner.services import users

    with st.sessions() as session, session.begin():
        return users.create_user(session, email=email, role=role, password=PASSWORD,
                                 now=st.clock.now())
