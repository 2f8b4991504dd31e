"""Headless Chromium: an editor imports a CSV file, then copies and revokes their calendar link."""

from __future__ import annotations

import pytest

from tests.test_browser import base_url, page, problems, shot, sign_in  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

CSV = ("\ufeffkind;title;body;scheduled_at;channels\r\n"
       'greeting;早上好;"早上好，各位！\r\n\r\n- 今天的分享见群公告";2026/11/24 8:00;Python learners\r\n')


def test_editor_imports_a_file_and_subscribes_to_the_plan(page, problems, make, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    make.user("editor", email="erin@example.com")
    make.channel(name="Python learners")
    upload = tmp_path / "week.csv"
    upload.write_bytes(CSV.encode("utf-8"))

    sign_in(page, "erin@example.com")
    page.get_by_role("banner").get_by_role("link", name="Import / export").click()
    expect(page.get_by_role("heading", name="Import and export posts")).to_be_visible()
    page.get_by_label("CSV file").set_input_files(str(upload))
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Imported 1 post(s).")
    expect(page.locator("#import-created")).to_contain_text("早上好")
    expect(page.locator("#import-created")).to_contain_text("Nov 24, 2026, 8:00 AM")
    shot(page, "import-done")

    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("banner").get_by_role("link", name="My calendar link").click()
    expect(page.get_by_text("You have no calendar link.")).to_be_visible()
    page.get_by_role("button", name="Make my calendar link").click()
    link = page.get_by_label("Your link")
    url = link.input_value()
    assert "/calendar.ics?token=" in url
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == url
    shot(page, "calendar-link")
    feed = page.request.get(url)
    assert feed.status == 200 and "SUMMARY:[Greeting] 早上好" in feed.text()

    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("Your calendar link was revoked")
    assert page.request.get(url).status == 404
    assert problems == []
