"""Headless Chromium: an editor writes a post, an operator approves it, the dispatcher sends it."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from werkzeug.serving import make_server

from planner.worker.dispatcher import Dispatcher
from tests.conftest import IN_CI, PASSWORD

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Set PLANNER_TEST_SCREENSHOTS to a folder (outside the repo) to keep a picture of every page.
SCREENSHOTS = os.environ.get("PLANNER_TEST_SCREENSHOTS")


@pytest.fixture
def base_url(app):  # type: ignore[no-untyped-def]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-test-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def problems() -> list[str]:
    """Console errors and uncaught exceptions of the page; the test asserts there are none."""
    return []


@pytest.fixture
def page(base_url, problems):  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        reason = f"the browser test needs Chromium at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(reason + " — CI must run it", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=base_url, locale="en-US")
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        yield page
        context.close()
        browser.close()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def sign_in(page, email: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in to planner")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    shot(page, f"login-{email.split('@')[0]}")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Calendar")).to_be_visible()


def test_editor_writes_operator_approves_dispatcher_publishes(  # type: ignore[no-untyped-def]
        page, problems, st, make, clock):
    from playwright.sync_api import expect

    make.user("editor", email="erin@example.com")
    make.user("operator", email="oscar@example.com")
    make.channel(name="Python learners")
    title = "Tip of the week: f-strings"
    publish_at = clock.now().astimezone(SHANGHAI).replace(hour=10, minute=30, tzinfo=None)
    assert publish_at.replace(tzinfo=SHANGHAI) > clock.now()

    # The editor writes a post and submits it.
    sign_in(page, "erin@example.com")
    shot(page, "calendar-empty")
    topbar = page.get_by_role("banner")
    topbar.get_by_role("link", name="New post").click()
    expect(page.get_by_role("heading", name="New post")).to_be_visible()
    page.get_by_label("Kind").select_option(label="Tutorial")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Body (Markdown)").fill('Use **f-strings**:\n\n```python\nf"{name}!"\n```\n')
    page.get_by_label("Publish at").fill(publish_at.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Python learners").check()
    shot(page, "new-post-filled")
    page.get_by_role("button", name="Save and submit for review").click()
    expect(page.get_by_role("status")).to_have_text("Submitted for review.")
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    expect(page.get_by_text("In review", exact=True)).to_be_visible()
    expect(page.get_by_text(publish_at.strftime("%Y-%m-%d %H:%M"), exact=True)).to_be_visible()
    post_url = page.url
    shot(page, "post-in-review")
    topbar.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")

    # The operator approves it from the review queue.
    sign_in(page, "oscar@example.com")
    page.get_by_role("banner").get_by_role("link", name="Review").click()
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    queued = page.locator("article").filter(has=page.get_by_role("heading", name=title))
    expect(queued).to_contain_text("Python learners")
    shot(page, "review-queue")
    queued.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_have_text("Approved: it will be published at its time.")
    expect(page.get_by_text("Nothing is waiting for review.")).to_be_visible()
    shot(page, "review-queue-empty")

    # Time passes; the dispatcher publishes through the outbox channel.
    clock.set(publish_at.replace(tzinfo=SHANGHAI) + timedelta(minutes=1))
    dispatcher = Dispatcher(st)
    try:
        report = dispatcher.tick()
    finally:
        dispatcher.close()
    assert report.outcomes == {"sent": 1}

    page.goto(post_url)
    expect(page.get_by_text("Published", exact=True)).to_be_visible()
    delivery = page.get_by_role("row").filter(has_text="Python learners")
    expect(delivery).to_contain_text("Sent")
    shot(page, "post-published")
    page.get_by_role("banner").get_by_role("link", name="Outbox").click()
    expect(page.get_by_role("heading", name="Outbox")).to_be_visible()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    shot(page, "outbox")

    assert problems == []
