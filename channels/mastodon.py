"""``mastodon``: one status per post, ``POST /api/v1/statuses`` with an ``Idempotency-Key``.

Vanilla Mastodon shows plain text and links what looks like a URL, @mention or #hashtag, so the post's
Markdown becomes plain text: the title on the first line, a link as "text (URL)", list items with
bullets, a table one line per row, an image its link. The server counts characters with every link as
23, whatever its length; this kind counts the same way (code points, never fewer than the server's
grapheme clusters) and refuses a post over the instance's 500 rather than start a thread.

The ``Idempotency-Key`` makes a resend after a lost answer safe: for an hour the server answers with
the status the key already created.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

import requests

from planner.channel_api import (
    Capabilities,
    ChannelKind,
    Limits,
    Message,
    PermanentError,
    PostContent,
    Receipt,
    RenderError,
    Setting,
    ThrottledError,
)
from planner.channel_api import translatable as _l
from planner.channel_http import call, json_body, raise_for_status, retry_after
from planner.channel_text import Node, markdown_tree

MAX_CHARACTERS = 500  # Mastodon's default; the status is refused above the instance's limit
URL_WEIGHT = 23
VISIBILITIES = ("public", "unlisted", "private", "direct")
URL = re.compile(r"https?://[^\s<>()\[\]\"'，。！？、]+")
TRAILING = ".,;:!?'\""  # punctuation after a URL is not part of it
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


# ---- rendering --------------------------------------------------------------------------------

def count(text: str) -> int:
    """Characters as Mastodon counts a status: each link it would recognise counts 23."""
    total = len(text)
    for match in URL.finditer(text):
        url = match.group(0).rstrip(TRAILING)
        host = url.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0]
        tld = host.rsplit(".", 1)[-1] if "." in host else ""
        if len(tld) >= 2 and tld.isalpha():  # the server links only names with a top-level domain
            total += URL_WEIGHT - len(url)
    return total


def _inline(node: Node) -> str:
    if node.tag is None:
        return node.text
    if node.tag in ("script", "style"):
        return ""
    if node.tag == "br":
        return "\n"
    if node.tag == "a":
        text, href = node.text_content().strip(), node.attrs.get("href", "").strip()
        if not href.startswith(("http://", "https://", "mailto:")) or text == href:
            return text or href
        return f"{text} ({href})" if text else href
    if node.tag == "img":
        alt, src = node.attrs.get("alt", "").strip(), node.attrs.get("src", "").strip()
        if not src.startswith(("http://", "https://")):
            return alt
        return f"{alt} ({src})" if alt else src
    return "".join(_inline(child) for child in node.children)


def _clean(text: str) -> str:
    return "\n".join(line.strip() for line in text.strip().split("\n") if line.strip())


def _list(node: Node, depth: int = 0) -> list[str]:
    lines: list[str] = []
    number = int(node.attrs.get("start", "1") or 1) if node.tag == "ol" else 0
    for item in (child for child in node.children if child.tag == "li"):
        marker = f"{number}. " if node.tag == "ol" else "• "
        number += 1
        own = "".join(_inline(c) + ("\n" if c.tag == "p" else "")
                      for c in item.children if c.tag not in ("ul", "ol"))
        indent = "  " * depth
        text = _clean(own).replace("\n", "\n" + indent + "  ")
        lines.append(indent + marker + text)
        for nested in (c for c in item.children if c.tag in ("ul", "ol")):
            lines.extend(_list(nested, depth + 1))
    return lines


def _table(node: Node) -> list[str]:
    return [" | ".join(_clean(_inline(cell)).replace("\n", " ") for cell in row.children
                       if cell.tag in ("th", "td"))
            for row in _rows(node)]


def _rows(node: Node) -> list[Node]:
    if node.tag == "tr":
        return [node]
    return [row for child in node.children for row in _rows(child)]


def _blocks(node: Node) -> list[str]:
    found: list[str] = []
    for child in node.children:
        if child.tag is None:
            text = _clean(child.text)
        elif child.tag == "pre":
            text = child.text_content().rstrip("\n")  # code keeps its indentation
        elif child.tag in ("ul", "ol"):
            text = "\n".join(_list(child))
        elif child.tag == "table":
            text = "\n".join(_table(child))
        elif child.tag == "hr":
            text = "———"
        elif child.tag == "blockquote":
            quoted = "\n\n".join(_blocks(child)).split("\n")
            text = "\n".join(("> " + line).rstrip() for line in quoted)
        elif child.tag in ("div", "section", "details"):
            found.extend(_blocks(child))
            continue
        else:  # paragraphs, headings and anything inline
            text = _clean(_inline(child))
        if text.strip():
            found.append(text)
    return found


def render_text(post: PostContent) -> str:
    parts = ([post.title.strip()] if post.title.strip() else []) + _blocks(markdown_tree(post.body))
    return "\n\n".join(parts)


# ---- the channel kind -------------------------------------------------------------------------

class MastodonChannel(ChannelKind):
    """Posts a status; ``check`` asks ``verify_credentials``, which posts nothing."""

    name = "mastodon"
    label = _l("Mastodon account")
    settings_schema = (
        Setting("base_url", _l("Instance URL"), help=_l("like https://mastodon.social")),
        Setting("access_token", _l("Access token"), secret=True,
                help=_l("an application token with the write:statuses scope")),
        Setting("visibility", _l("Visibility"), required=False, default="public", choices=VISIBILITIES),
    )
    # 300 statuses per 3 hours per account: a 2-second gap keeps bursts polite, and a 429 past
    # the budget is honoured until its X-RateLimit-Reset.
    limits = Limits(max_length=MAX_CHARACTERS, unit="characters", per_minute=30, max_parts=1)
    capabilities = Capabilities(idempotency_key=True, remote_url=True, titles=False)
    render_settings = ()
    clock = staticmethod(time.time)  # for the seconds until X-RateLimit-Reset; tests replace it

    def render(self, post: PostContent) -> list[Message]:
        text = render_text(post)
        if not text.strip():
            raise RenderError(_l("the post has no text to send"))
        length = count(text)
        if length > MAX_CHARACTERS:
            raise RenderError(_l("the status is %(length)s characters as Mastodon counts them (a link "
                                 "counts %(link)s); an instance takes at most %(limit)s",
                                 length=length, link=URL_WEIGHT, limit=MAX_CHARACTERS))
        return [Message(text=text, title=post.title or None, format="text")]

    def send(self, message: Message, http: Any, idempotency_key: str) -> Receipt:
        payload = {"status": message.text, "visibility": self.settings.get("visibility") or "public"}
        headers = {"Idempotency-Key": idempotency_key}
        status = self._call(http, "POST", "/api/v1/statuses", json=payload, headers=headers)
        remote_id = status.get("id")
        return Receipt(remote_id=str(remote_id) if remote_id is not None else None,
                       remote_url=status.get("url") or status.get("uri"))

    def check(self, http: Any) -> None:
        self._call(http, "GET", "/api/v1/accounts/verify_credentials")

    def _call(self, http: Any, method: str, path: str, headers: dict[str, str] | None = None,
              **kwargs: Any) -> dict[str, Any]:
        token = str(self.settings["access_token"])
        url = str(self.settings["base_url"]).rstrip("/") + path
        # A redirect would turn the POST into a GET (or drop the token): report it instead.
        response = call(http, method, url, allow_redirects=False,
                        headers={**(headers or {}), "Authorization": f"Bearer {token}"}, **kwargs)
        if response.status_code >= 300:
            self._raise_for(response)
        return json_body(response)

    def _raise_for(self, response: requests.Response) -> None:
        status = response.status_code
        try:
            body = response.json()
            words = ": ".join(str(body[k]) for k in ("error", "error_description") if body.get(k))
        except (ValueError, AttributeError):
            words = response.text[:200]
        text = f"Mastodon {status}: {words or 'no details'}"
        if status == 429:
            reset = response.headers.get("X-RateLimit-Reset")
            wait = seconds_until(reset, self.clock()) if reset else None
            raise ThrottledError(text, retry_after=wait if wait is not None
                                 else retry_after(response))
        if status < 400:
            raise PermanentError(f"Mastodon answered HTTP {status} (moved to "
                                 f"{response.headers.get('Location', '?')}); correct the instance URL")
        raise_for_status(response, text)


def seconds_until(reset: str, now: float) -> float | None:
    """Seconds from ``now`` (Unix time) to an ISO 8601 ``X-RateLimit-Reset``; None if unreadable."""
    try:
        when = datetime.fromisoformat(reset.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)
