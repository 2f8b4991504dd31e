"""Headless Chromium: hostile feed content never runs, in the inbox or in the post editor, and the
inbox can be triaged from the keyboard."""

from __future__ import annotations

import pytest

from tests.feed_server import serve_samples
from tests.feeds_helpers import allow_loopback, subscribe
from tests.test_browser import base_url, page, problems, shot, sign_in  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def test_no_payload_executes_in_the_inbox_or_the_editor(  # type: ignore[no-untyped-def]
        page, problems, st, make, fake_platform):  # noqa: F811
    from playwright.sync_api import expect

    allow_loopback(st)
    server = fake_platform(serve_samples)
    editor = make.user("editor", email="erin@example.com")
    make.channel(name="Python learners")
    subscribe(st, editor, server.url + "/payloads.xml")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    sign_in(page, "erin@example.com")
    page.get_by_role("banner").get_by_role("link", name="Inbox").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    hostile = page.locator("article").filter(has_text="Click me")
    expect(hostile).to_contain_text('<img src=x onerror="window.__pwned=1;alert(1)">Click me')
    expect(hostile).to_contain_text("<script>window.__pwned=1</script>Mallory")
    expect(hostile.get_by_role("link", name="fine link")).to_have_attribute(
        "href", "https://hostile.example.org/ok")
    hostile.get_by_text("Hello").click()  # the stripped onclick would have fired here
    shot(page, "inbox-payloads")
    assert page.evaluate("typeof window.__pwned") == "undefined"

    # Keyboard triage: the click focused the hostile item; j moves to the next one and f stars it;
    # back in the inbox, j focuses the hostile item again and s shares it.
    page.keyboard.press("j")
    expect(page.locator("article.inbox-item").nth(1)).to_be_focused()
    page.keyboard.press("f")
    expect(page.get_by_role("link", name="Starred 1")).to_be_visible()
    expect(page.locator("article.inbox-item")).to_have_count(1)
    page.keyboard.press("j")
    expect(page.locator("article.inbox-item").first).to_be_focused()
    page.keyboard.press("s")
    expect(page.get_by_role("status")).to_have_text(
        "A draft share post was made: finish it and submit it for review.")
    expect(page.get_by_label("Title")).to_have_value(
        '<img src=x onerror="window.__pwned=1;alert(1)">Click me')
    expect(page.get_by_label("Body (Markdown)")).to_contain_text("Source: Hostile")
    shot(page, "editor-payloads")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []
    assert problems == []
