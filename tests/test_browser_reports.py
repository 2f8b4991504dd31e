"""Headless Chromium: an operator reads the reports in English, and in Chinese from a Chinese browser."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import IN_CI, PASSWORD
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, base_url, shot  # noqa: F401  (fixture)
from tests.test_reports_web import november  # noqa: F401  (fixture: two channels, three deliveries)

pytestmark = pytest.mark.browser


@pytest.fixture
def open_browser(base_url):  # type: ignore[no-untyped-def]  # noqa: F811
    """``open_browser(locale)`` gives a page in a browser that asks for that language."""
    if not Path(CHROMIUM).exists():
        reason = f"the browser test needs Chromium at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(reason + " — CI must run it", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)

        def open_page(locale: str):  # type: ignore[no-untyped-def]
            context = browser.new_context(base_url=base_url, locale=locale)
            page = context.new_page()
            page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            return page

        yield open_page
        browser.close()
    assert problems == []


def test_the_dashboard_in_english_and_in_chinese(open_browser, november):  # noqa: F811
    from playwright.sync_api import expect

    operator = november[1]
    for locale, labels in (("en-US", {"login": "Sign in to planner", "button": "Sign in",
                                      "reports": "Reports", "show": "Show",
                                      "section": "Deliveries per channel",
                                      "on_time": "on time (within 5 min)", "first_day": "Nov 1, 2026"}),
                           ("zh-CN", {"login": "登录 planner", "button": "登录", "reports": "报表",
                                      "show": "显示", "section": "各渠道投递",
                                      "on_time": "准时（5 分钟内）", "first_day": "2026年11月1日"})):
        page = open_browser(locale)
        page.goto("/login")
        expect(page.get_by_role("heading", name=labels["login"])).to_be_visible()
        page.locator("input[name=email]").fill(operator.email)
        page.locator("input[name=password]").fill(PASSWORD)
        page.get_by_role("button", name=labels["button"], exact=True).click()
        page.get_by_role("link", name=labels["reports"], exact=True).click()
        page.locator("input[name=start]").fill("2026-11-01")
        page.locator("input[name=end]").fill("2026-11-30")
        page.get_by_role("button", name=labels["show"], exact=True).click()
        expect(page.get_by_role("heading", name=labels["section"])).to_be_visible()
        expect(page.locator("#stat-sent")).to_have_text("2")
        expect(page.locator("#stat-on-time")).to_have_text("33%")
        expect(page.locator(".report-cards").get_by_text(labels["on_time"])).to_be_visible()
        expect(page.get_by_role("img", name=labels["section"])).to_be_visible()  # the chart
        expect(page.locator("#table-deliveries tbody tr")).to_have_count(2)
        expect(page.get_by_text(labels["first_day"], exact=False)).to_be_visible()
        expect(page.locator(".chart-pair svg.chart")).to_have_count(4)  # each with its table
        expect(page.locator(".chart-pair table")).to_have_count(4)
        expect(page.locator("#report-lateness svg.chart")).to_be_visible()
        expect(page.locator("a.csv")).to_have_count(8)
        shot(page, f"reports-{locale}")
        page.context.close()
