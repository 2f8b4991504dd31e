"""Headless Chromium through the whole guest journey: book, manage, reschedule, confirm, review."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.booking_helpers import weekly_slots
from tests.conftest import IN_CI
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, base_url, problems, shot, sign_in  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def berlin_page(base_url, problems):  # type: ignore[no-untyped-def]  # noqa: F811
    """A browser whose clock says Europe/Berlin, so the booking page has a timezone to detect."""
    if not Path(CHROMIUM).exists():
        reason = f"the browser test needs Chromium at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(reason + " — CI must run it", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=base_url, locale="en-US", timezone_id="Europe/Berlin")
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        yield page
        context.close()
        browser.close()


def test_a_guest_books_reschedules_and_the_operator_confirms(  # type: ignore[no-untyped-def]
        berlin_page, problems, st, make):  # noqa: F811
    from playwright.sync_api import expect

    page = berlin_page
    olga = make.user("operator", email="olga@example.com")
    make.user("operator", email="rui@example.com")
    channel = make.channel(name="Python learners")
    weekly_slots(st, olga, [channel.id])

    # The guest opens the booking page: times appear in the browser's timezone.
    page.goto("/book")
    expect(page).to_have_url("/book?tz=Europe%2FBerlin")
    expect(page.get_by_role("heading", name="Book a guest session")).to_be_visible()
    first = page.locator("article").first
    expect(first).to_contain_text("Thursday, November 26, 2026 · 13:00–14:00")
    shot(page, "book-open-slots")
    page.get_by_label("Times shown in").select_option("Asia/Shanghai")
    expect(page).to_have_url("/book?tz=Asia%2FShanghai")
    expect(page.locator("article").first).to_contain_text("20:00–21:00")

    # A form with a mistake first, then the booking.
    page.locator("article").first.get_by_role("link", name="Book this slot").click()
    page.get_by_label("Your name").fill("Mei Lin")
    page.get_by_label("Email").fill("mei-at-example")
    page.get_by_label("Topic").fill("Async in practice")
    page.get_by_label("Abstract").fill("Event loops without tears.")
    page.get_by_role("button", name="Book this slot").click()
    expect(page.locator("#email-error")).to_have_text(
        "an email address such as name@example.com is required")
    page.get_by_label("Email").fill("mei@example.org")
    page.get_by_role("button", name="Book this slot").click()
    expect(page.get_by_role("heading", name="Thank you, Mei Lin!")).to_be_visible()
    shot(page, "book-done")
    manage_url = page.locator("#manage-link").get_attribute("href")
    assert manage_url and "/book/manage/" in manage_url

    # From the manage link: move to the next Thursday.
    page.goto(manage_url)
    expect(page.locator("#booking-status")).to_have_text("Waiting for confirmation")
    page.get_by_label("New slot").select_option(index=0)
    page.get_by_role("button", name="Reschedule").click()
    expect(page.get_by_role("status")).to_have_text(
        "Your session is moved. Download the calendar file again.")
    expect(page.locator(".when")).to_contain_text("Thursday, December 3, 2026 · 20:00–21:00")
    shot(page, "book-manage")

    # The operator confirms; the session and its announcements wait in the review queue.
    sign_in(page, "olga@example.com")
    page.get_by_role("banner").get_by_role("link", name="Slots").click()
    expect(page.get_by_role("heading", name="Guest slots")).to_be_visible()
    page.get_by_role("link", name="Mei Lin: Async in practice").click()
    page.get_by_label("Message to the speaker").fill("Welcome aboard!")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_have_text(
        "Confirmed: the session and its announcements are in the review queue.")
    shot(page, "booking-confirmed")
    page.get_by_role("banner").get_by_role("link", name="Review").click()
    queued = page.locator("article")
    expect(queued).to_have_count(4)
    expect(queued.filter(has_text="Guest session: Async in practice")).to_have_count(1)
    expect(queued.filter(has_text="Tomorrow: Async in practice")).to_contain_text(
        "2026-12-03 20:00 (Asia/Shanghai)")
    shot(page, "review-queue-guest-session")

    page.goto(manage_url)
    expect(page.locator("#booking-status")).to_have_text("Confirmed")
    expect(page.get_by_text("Welcome aboard!")).to_be_visible()
    # Chromium logs the 422 that answered the form with a mistake; nothing else went wrong.
    assert problems == ["console: Failed to load resource: the server responded with a status of "
                        "422 (UNPROCESSABLE ENTITY)"]
