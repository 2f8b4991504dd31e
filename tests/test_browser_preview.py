"""Headless Chromium: the editor's live preview follows the typing, per target channel kind."""
# ruff: noqa: F811  (the browser fixtures are imported from test_browser and used by name)

from __future__ import annotations

import pytest

from tests.review_helpers import channel, enable_kinds
from tests.test_browser import SHANGHAI, base_url, page, problems, shot, sign_in  # noqa: F401

pytestmark = pytest.mark.browser


def test_preview_and_length_meter_follow_the_editor(page, problems, st, make, clock):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    enable_kinds(st)
    make.user("editor", email="erin@example.com")
    channel(st, "mastodon", "Fediverse")        # counts characters, 500, one message
    channel(st, "wecom", "Python group")        # counts UTF-8 bytes, 4096, splits into parts

    sign_in(page, "erin@example.com")
    page.get_by_role("banner").get_by_role("link", name="New post").click()
    expect(page.get_by_role("heading", name="New post")).to_be_visible()
    panel = page.locator("#live-preview")
    expect(panel).to_contain_text("Choose a channel or a tag to see the preview.")

    page.get_by_label("Fediverse").check()
    page.get_by_label("Python group").check()
    page.get_by_label("Title").fill("f-strings")
    page.get_by_label("Body (Markdown)").press_sequentially("Use **f-strings**")
    fedi = page.get_by_role("region", name="Preview on Fediverse")
    group = page.get_by_role("region", name="Preview on Python group")
    expect(fedi.locator("pre")).to_have_text("f-strings\n\nUse f-strings")
    expect(fedi).to_contain_text("24 of 500 characters")
    expect(group.locator("pre")).to_have_text("# f-strings\n\nUse **f-strings**")
    expect(group).to_contain_text("30 of 4096 bytes")
    expect(fedi.locator("meter")).to_have_attribute("value", "24")
    shot(page, "editor-preview-short")

    # Chinese text: three bytes a character for WeCom, one character for Mastodon.
    page.get_by_label("Body (Markdown)").press_sequentially("，很好用。")
    expect(fedi).to_contain_text("29 of 500 characters")
    expect(group).to_contain_text("45 of 4096 bytes")

    # Too long for one Mastodon status: that target refuses, the WeCom group still takes it.
    page.get_by_label("Body (Markdown)").fill("长" * 600)
    expect(fedi).to_contain_text("over the limit of 500 characters")
    expect(fedi.locator(".finding-error")).to_contain_text(
        "Blocks approval: Fediverse (Mastodon account) cannot take this post: the status is 611 "
        "characters")
    expect(group).to_contain_text("1813 of 4096 bytes")
    expect(group.locator(".finding-error")).to_have_count(0)
    shot(page, "editor-preview-too-long")

    # Shortened again, saved and submitted: the post's page shows the same previews and checks.
    page.get_by_label("Body (Markdown)").fill("Use **f-strings**, see https://docs.python.org/3/")
    expect(fedi.locator(".finding-error")).to_have_count(0)
    expect(panel).to_contain_text("All pre-publish checks pass.")
    publish_at = clock.now().astimezone(SHANGHAI).replace(hour=10, minute=30, tzinfo=None)
    page.get_by_label("Publish at").fill(publish_at.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Save and submit for review").click()
    expect(page.get_by_role("status")).to_have_text("Submitted for review.")
    checks = page.locator("#checks")
    expect(checks).to_contain_text("All pre-publish checks pass.")
    expect(checks.get_by_role("region", name="Preview on Python group")).to_contain_text(
        "# f-strings")
    shot(page, "post-with-checks")

    assert problems == []
