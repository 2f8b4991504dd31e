"""Headless Chromium: an editor writes a post, an operator approves it, the dispatcher sends it; and
on the calendar, a post written by clicking an empty day, dragged to another day (a refused drag snaps
back and says why), a draft from the tray given a day, and the post approved."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from planner.models import Post, User
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
    expect(page.get_by_text("Nov 23, 2026, 10:30 AM", exact=True)).to_be_visible()
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


def drag(page, source, target) -> None:  # type: ignore[no-untyped-def]
    """Press on ``source``, move in steps (FullCalendar waits for real movement), release on ``target``."""
    start, end = source.bounding_box(), target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 5, start["y"] + start["height"] / 2 + 5, steps=3)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] * 0.75, steps=15)
    page.mouse.up()


def scheduled(st, title: str) -> datetime | None:
    with st.sessions() as session:
        return session.scalars(select(Post.scheduled_at).where(Post.title == title)).one()


def test_calendar_click_drag_and_approve(page, problems, st, make,  # type: ignore[no-untyped-def]
                                        monkeypatch):
    from playwright.sync_api import expect

    from planner.services import calendar as calendar_service
    from tests.review_helpers import set_rules

    erin = make.user("editor", email="erin@example.com")
    oscar = make.user("operator", email="oscar@example.com")
    group = make.channel(name="Python learners")
    make.post(erin, title="Someday: decorators", scheduled_at=None)
    make.post(erin, title="Late call", scheduled_at=datetime(2026, 11, 24, 16, 30, tzinfo=UTC))
    with st.sessions() as session, session.begin():
        session.get(User, oscar.id).timezone = "UTC"
    title = "Guest session: packaging"

    page.set_viewport_size({"width": 1280, "height": 1100})  # the whole month, for the mouse to reach
    sign_in(page, "erin@example.com")
    calendar = page.locator("#calendar")
    expect(calendar.get_by_role("heading", name="November 2026")).to_be_visible()
    # 16:30 UTC on the 24th is 00:30 on the 25th for Erin, who reads Shanghai time.
    expect(page.locator('td[data-date="2026-11-25"] .post-event', has_text="Late call")).to_contain_text(
        "00:30")
    expect(page.locator('td[data-date="2026-11-24"]')).not_to_contain_text("Late call")
    shot(page, "calendar-month")
    filters = page.locator("#calendar-filters")
    filters.get_by_label("Kind").select_option(label="Greeting")
    expect(calendar.locator(".post-event", has_text="Late call")).to_have_count(0)
    filters.get_by_label("Kind").select_option(label="all")
    expect(calendar.locator(".post-event", has_text="Late call")).to_have_count(1)

    # Clicking an empty day opens the editor with that day at 09:00.
    day = page.locator('td.fc-daygrid-day[data-date="2026-11-25"]')
    day.click(position={"x": 10, "y": day.bounding_box()["height"] - 5})  # below its one post
    expect(page.get_by_role("heading", name="New post")).to_be_visible()
    expect(page.get_by_label("Publish at")).to_have_value("2026-11-25T09:00")
    page.get_by_label("Kind").select_option(label="Guest session")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Body (Markdown)").fill("How to publish a package, with Q&A.")
    page.get_by_label("Python learners").check()
    page.get_by_role("button", name="Save and submit for review").click()
    expect(page.get_by_role("status")).to_have_text("Submitted for review.")
    assert scheduled(st, title) == datetime(2026, 11, 25, 1, 0, tzinfo=UTC)

    # Drag it two days later: the server moves it and the calendar says so.
    page.get_by_role("banner").get_by_role("link", name="Calendar", exact=True).click()
    event = calendar.locator(".post-event", has_text=title)
    expect(event).to_contain_text("In review")
    expect(page.locator('td[data-date="2026-11-25"]')).to_contain_text(title)
    drag(page, event, page.locator('td.fc-daygrid-day[data-date="2026-11-27"]'))
    expect(page.locator("#calendar-message")).to_have_text(f"Moved “{title}” to 2026-11-27 09:00.")
    expect(page.locator('td[data-date="2026-11-27"]')).to_contain_text(title)
    assert scheduled(st, title) == datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    shot(page, "calendar-moved")

    # A day in the past is refused: the post snaps back and the reason is shown.
    drag(page, event, page.locator('td.fc-daygrid-day[data-date="2026-11-20"]'))
    expect(page.locator("#calendar-message")).to_have_text(
        f"“{title}” was not moved: the publish time is in the past")
    expect(page.locator('td[data-date="2026-11-27"]')).to_contain_text(title)
    expect(page.locator('td[data-date="2026-11-20"]')).not_to_contain_text(title)
    assert scheduled(st, title) == datetime(2026, 11, 27, 1, 0, tzinfo=UTC)

    # A draft from the tray gets a day (at 09:00) by dropping it on the calendar.
    tray_item = page.locator("#calendar-tray .tray-item", has_text="Someday: decorators")
    drag(page, tray_item, page.locator('td.fc-daygrid-day[data-date="2026-11-26"]'))
    expect(page.locator("#calendar-message")).to_have_text(
        "Moved “Someday: decorators” to 2026-11-26 09:00.")
    expect(tray_item).to_have_count(0)
    expect(page.locator('td[data-date="2026-11-26"]')).to_contain_text("Someday: decorators")
    assert scheduled(st, "Someday: decorators") == datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    shot(page, "calendar-tray-dropped")
    page.get_by_role("banner").get_by_role("button", name="Sign out").click()

    # The operator approves it; the calendar shows it approved on its new day.
    sign_in(page, "oscar@example.com")
    page.get_by_role("banner").get_by_role("link", name="Review").click()
    queued = page.locator("article").filter(has=page.get_by_role("heading", name=title))
    queued.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_have_text("Approved: it will be published at its time.")
    page.get_by_role("banner").get_by_role("link", name="Calendar", exact=True).click()
    expect(page.locator('td[data-date="2026-11-27"] .post-event', has_text=title)).to_contain_text(
        "Approved")
    # Oscar reads UTC: the same post is on the 24th for him, and his moved post is at 01:00.
    expect(page.locator('td[data-date="2026-11-24"] .post-event', has_text="Late call")).to_contain_text(
        "16:30")
    expect(page.locator('td[data-date="2026-11-27"] .post-event', has_text=title)).to_contain_text(
        "01:00")

    # At most one post a day per channel: dragging the approved post onto a day that has one is
    # refused, and the post snaps back, still approved, with the rule it would break.
    set_rules(st, per_day=1)
    make.post(erin, status="approved", reviewer=oscar, title="Busy day", channel_ids=[group.id],
              scheduled_at=datetime(2026, 11, 28, 3, tzinfo=UTC))
    page.reload()
    busy = page.locator('td.fc-daygrid-day[data-date="2026-11-28"]')
    expect(busy).to_contain_text("Busy day")
    drag(page, calendar.locator(".post-event", has_text=title), busy)
    expect(page.locator("#calendar-message")).to_have_text(
        f"“{title}” was not moved: Python learners already has 1 post(s) on 2026-11-28 "
        "(Asia/Shanghai); the community's rules allow at most 1 a day")
    expect(page.locator('td[data-date="2026-11-27"] .post-event', has_text=title)).to_contain_text(
        "Approved")
    expect(busy).not_to_contain_text(title)
    assert scheduled(st, title) == datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    shot(page, "calendar-move-refused")
    calendar.get_by_role("button", name="week").click()
    expect(calendar.locator(".fc-timegrid-event", has_text=title)).to_contain_text("01:00")
    shot(page, "calendar-week")
    calendar.get_by_role("button", name="list").click()
    expect(calendar.locator(".fc-list-event", has_text=title)).to_contain_text("Approved")
    shot(page, "calendar-list")
    shot(page, "calendar-approved")

    # A range with more posts than the server sends says so instead of looking complete.
    expect(page.locator("#calendar-truncated")).to_be_hidden()
    monkeypatch.setattr(calendar_service, "MAX_ITEMS", 2)
    page.reload()
    expect(page.locator("#calendar-truncated")).to_have_text(
        "This range holds more than 2 posts; only the first 2 are shown. Narrow it with the filters "
        "or a shorter view.")
    expect(calendar.locator(".post-event")).to_have_count(2)
    shot(page, "calendar-truncated")

    # The console lines are Chromium noting the two refused moves' 422 answers.
    assert problems == ["console: Failed to load resource: the server responded with a status of 422 "
                        "(UNPROCESSABLE ENTITY)"] * 2
