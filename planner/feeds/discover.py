"""Subscribing by any address: a feed is taken as it is; an HTML page is searched for its
``<link rel="alternate">`` feeds and the first one that parses is used."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

from planner.feeds.fetch import Fetcher, FetchError, FetchResult
from planner.feeds.parse import ParsedFeed, ParseError, parse

FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/rdf+xml",
              "application/feed+json", "application/xml", "text/xml"}
MAX_CANDIDATES = 3


@dataclass(frozen=True)
class Found:
    url: str
    fetched: FetchResult
    feed: ParsedFeed


class _AlternateLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "link":
            return
        values = {name: (value or "") for name, value in attrs}
        rel = values.get("rel", "").lower().split()
        kind = values.get("type", "").lower().split(";")[0].strip()
        if "alternate" in rel and kind in FEED_TYPES and values.get("href"):
            self.hrefs.append(values["href"])


def alternate_links(page: bytes, base_url: str) -> list[str]:
    finder = _AlternateLinks()
    finder.feed(page.decode("utf-8", "replace"))
    return list(dict.fromkeys(urljoin(base_url, href) for href in finder.hrefs))


def discover(fetcher: Fetcher, url: str) -> Found:
    """The feed at ``url``, or the feed its page announces; FetchError or ParseError otherwise."""
    fetched = fetcher.fetch(url)
    try:
        return Found(fetched.url, fetched, parse(fetched.body, fetched.url, fetched.content_type))
    except ParseError as not_a_feed:
        candidates = alternate_links(fetched.body, fetched.url)[:MAX_CANDIDATES]
        if not candidates:
            raise ParseError(f"{not_a_feed}; the page announces no feed either") from None
    problems = []
    for candidate in candidates:
        try:
            result = fetcher.fetch(candidate)
            return Found(result.url, result, parse(result.body, result.url, result.content_type))
        except (FetchError, ParseError) as error:
            problems.append(f"{candidate}: {error}")
    raise ParseError("the page announces feeds, but none could be read: " + "; ".join(problems))
