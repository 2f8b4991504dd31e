"""The Content Security Policy allows no inline script or style, so the templates must need none;
and every answer, public or not, error or not, carries the policy and refuses to be framed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import Auth
from tests.seed_helpers import seed

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
INLINE = {
    "an inline <script> (scripts come from static files)":
        re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>|<script\b[^>]*>\s*[^<\s]", re.IGNORECASE),
    "an event handler attribute (on…=)": re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE),
    "a style attribute": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.IGNORECASE),
    "a javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
    # An empty <style> that a script fills through the CSSOM (FullCalendar) is allowed.
    "an inline <style> block": re.compile(r"<style\b[^>]*>\s*[^<\s]", re.IGNORECASE),
}


def test_templates_need_no_inline_script_or_style():
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) > 30
    found = [f"{path.relative_to(TEMPLATES)}:{text[:match.start()].count(chr(10)) + 1}: {what}"
             for path in templates for text in [path.read_text(encoding="utf-8")]
             for what, pattern in INLINE.items() for match in pattern.finditer(text)]
    print(f"\nCSP template check: {len(templates)} templates, {len(INLINE)} kinds of inline code")
    assert found == []


@pytest.mark.parametrize("html", [
    "<script>alert(1)</script>", "<script type='module'>go()</script>", '<a href="#" onclick="go()">',
    '<div style="color: red">', '<a href="javascript:go()">', "<style>p { color: red }</style>",
])
def test_the_template_check_finds_inline_code(html):
    assert any(pattern.search(html) for pattern in INLINE.values())


def test_the_template_check_lets_static_scripts_through():
    html = '<script src="/static/app.js" defer></script><style data-fullcalendar></style>'
    assert not any(pattern.search(html) for pattern in INLINE.values())


def policy(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    header = response.headers.get("Content-Security-Policy", "")
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_every_kind_of_answer_carries_the_policy_and_refuses_framing(app, client, st, make):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.add_url_rule("/boom", view_func=lambda: 1 / 0)
    world = seed(st, make, client)
    anonymous = ["/login", "/book", f"/book/{world.ids['free_slot']}",
                 f"/book/manage/{world.booking_token}", "/static/style.css", "/healthz",
                 "/api/v1/openapi.json", "/api/v1/public/slots", "/no-such-page", "/api/v1/no-such-thing",
                 "/calendar.ics?token=wrong", "/boom"]
    answers = {path: client.get(path) for path in anonymous}
    Auth(client).login(world.editor.email)
    answers |= {f"{path} (editor)": client.get(path)
                for path in ("/", "/posts/new", f"/posts/{world.ids['draft']}", "/inbox",
                             "/account/security", "/settings")}
    statuses = {path: answer.status_code for path, answer in answers.items()}
    assert statuses["/no-such-page"] == 404 and statuses["/boom"] == 500
    assert statuses["/settings (editor)"] == 403 and statuses["/ (editor)"] == 200
    for path, answer in answers.items():
        rules = policy(answer)
        assert rules.get("default-src") == ["'self'"], path
        assert rules.get("frame-ancestors") == ["'none'"], path
        assert rules.get("object-src") == ["'none'"], path
        for directive in ("script-src", "style-src"):  # the site's files, or one exact hashed text
            sources = rules.get(directive, [])
            assert sources and sources[0] == "'self'", (path, directive, sources)
            assert all(re.fullmatch(r"'sha256-[A-Za-z0-9+/]+=*'", s) for s in sources[1:]), (
                path, directive, sources)
        assert answer.headers["X-Frame-Options"] == "DENY", path
        assert answer.headers["X-Content-Type-Options"] == "nosniff", path
        assert answer.headers["Referrer-Policy"] == "same-origin", path
        answer.close()
    print(f"\nsecurity headers checked on {len(answers)} answers: {statuses}")
