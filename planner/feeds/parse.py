"""Parsing fetched bytes with feedparser into plain, safe items.

Titles and authors become plain text; summaries are sanitised HTML from an allowlist with http/https
links only, relative links resolved against the feed's address (:func:`cleaner`).
"""

from __future__ import annotations

import calendar
import hashlib
import html
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import nh3

# No images: the pages' Content Security Policy would block them anyway, and a feed's images are
# often tracking pixels. The article is one click away.
TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "em", "figcaption", "figure", "h1", "h2", "h3",
        "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "q", "s", "small", "strong", "sub",
        "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul"}
ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "td": {"colspan", "rowspan"},
              "th": {"colspan", "rowspan"}}
SCHEMES = {"http", "https"}
LINK_REL = "noopener noreferrer nofollow"
# Markup dropped, the text kept (script and style contents dropped too). Built once: nh3 checks a
# cleaner's settings each time one is built, which costs more than cleaning a summary.
TEXT = nh3.Cleaner(tags=set())
# A document that sets its own base (``xml:base``, or the loose parser's ``base``), perhaps relative
# to the feed's address.
SETS_A_BASE = re.compile(rb"xml:base|\sbase\s*=", re.IGNORECASE)
TITLE_MAX = 500
AUTHOR_MAX = 200
URL_MAX = 2000


class ParseError(Exception):
    """The bytes are not a feed feedparser could read any entries from."""


@dataclass(frozen=True)
class ParsedItem:
    guid: str | None
    link: str
    title: str
    author: str
    summary: str  # sanitised HTML
    published_at: datetime | None

    @cached_property
    def text(self) -> str:
        """The summary as plain text, worked out once for the content hash and the rules."""
        return plain_text(self.summary)

    @cached_property
    def content_hash(self) -> str:
        """What the item says, to know it again when a feed re-publishes it under a new GUID and a new
        link (tracking parameters, a changed permalink): its title and plain-text summary, folded.

        An item without a summary adds its link without query or fragment, so a feed of items all
        titled "Weekly update" keeps them apart while a re-published one with new tracking
        parameters is still known.
        """
        summary = self.text
        parts = [_folded(self.title), _folded(summary)]
        if not summary:
            parts.append(urlsplit(self.link)._replace(query="", fragment="").geturl())
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    site_url: str
    items: list[ParsedItem]
    warning: str | None  # what feedparser had to recover from, if anything


def read(body: bytes, base_url: str, content_type: str = "") -> Any:
    """feedparser's reading of the bytes, as planner asks for it: without feedparser's own sanitising
    and link resolution, which :func:`sanitise` and :func:`safe_url` do once, afterwards.

    feedparser is told the feed's address only when the document sets a base of its own, which may
    be relative to it (or when the bytes are not ASCII-compatible, so that cannot be seen here). Given
    an address, feedparser resolves every element's base against it, about a third of its time, for
    links that :func:`safe_url` resolves against the same address anyway.
    """
    headers = {"content-type": content_type or "application/xml"}
    if not _ascii_compatible(body) or SETS_A_BASE.search(body):
        headers["content-location"] = base_url
    # A stream, never the bytes themselves: feedparser opens bytes that name a file, so a server
    # answering "/etc/some-file.xml" would have that file read and shown as the feed.
    return feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=False,
                            resolve_relative_uris=False)


def _ascii_compatible(body: bytes) -> bool:
    start = body.removeprefix(b"\xef\xbb\xbf").lstrip()[:2]
    return start[:1] == b"<" and start[1:2] != b"\x00"


def parse(body: bytes, base_url: str, content_type: str = "") -> ParsedFeed:
    data = read(body, base_url, content_type)
    problem = _bozo_text(data) if data.get("bozo") else None
    clean = cleaner(base_url)
    items = [i for i in (_item(entry, base_url, clean) for entry in data.entries) if i is not None]
    # A broken document that yields no usable item (a transfer cut off inside the first one) is a
    # failure, not an empty feed; a well-formed feed without items is fine.
    if not items and (problem or not data.get("version")):
        raise ParseError(f"not a feed that could be read: {problem}" if problem
                         else "not an RSS, Atom or RDF feed")
    feed = data.feed
    site = safe_url(feed.get("link", ""), base_url) or base_url
    return ParsedFeed(title=_title(feed)[:200] or urlsplit(base_url).hostname or base_url,
                      site_url=site, items=items, warning=problem)


def _item(entry: Any, base_url: str, clean: nh3.Cleaner) -> ParsedItem | None:
    link = safe_url(entry.get("link", ""), base_url)
    title = _title(entry)[:TITLE_MAX]
    content = entry.get("content") or []
    raw = entry.get("summary") or (content[0].get("value", "") if content else "")
    summary = clean.clean(raw or "").strip()
    if not (title or link or summary):
        return None
    guid = (entry.get("id") or "").strip()[:URL_MAX] or None
    # Text as written; entities left in by feeds that escape inside CDATA ("A &amp; B") are decoded.
    author = " ".join(html.unescape(entry.get("author", "")).split())[:AUTHOR_MAX]
    return ParsedItem(guid=guid, link=link, title=title or plain_text(summary)[:80] or link,
                      author=author, summary=summary, published_at=_when(entry))


def _title(node: Any) -> str:
    """A title as plain text: markup in an HTML title is dropped, a text title is kept as written."""
    detail = node.get("title_detail") or {}
    value = node.get("title", "")
    return text(value) if "html" in detail.get("type", "") else " ".join(value.split())


def _when(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, ValueError):
        return None


def _bozo_text(data: Any) -> str:
    error = data.get("bozo_exception")
    return str(error).splitlines()[0][:300] if error else "malformed feed"


def safe_url(value: str, base_url: str) -> str:
    """An absolute http/https address, or empty."""
    value = (value or "").strip()
    if not value:
        return ""
    url = urljoin(base_url, value)
    return url[:URL_MAX] if urlsplit(url).scheme in SCHEMES else ""


def cleaner(base_url: str) -> nh3.Cleaner:
    """The allowlist sanitiser for one feed's summaries, its links resolved against the feed's
    address; built once a feed rather than once a summary."""
    def rewrite(_tag: str, name: str, value: str) -> str | None:
        if name == "href":
            return safe_url(value, base_url) or None
        return value

    return nh3.Cleaner(tags=TAGS, attributes=ATTRIBUTES, url_schemes=SCHEMES, attribute_filter=rewrite,
                       link_rel=LINK_REL)


def text(fragment: str) -> str:
    """Plain text: tags dropped, entities decoded, whitespace folded."""
    return " ".join(html.unescape(TEXT.clean(fragment or "")).split())


def plain_text(fragment: str) -> str:
    return text(fragment.replace("<", " <"))


def _folded(value: str) -> str:
    """Case and width folded and spacing dropped (markup changes move spaces around), so cosmetic
    edits do not make an item new."""
    return "".join(unicodedata.normalize("NFKC", value).casefold().split())
