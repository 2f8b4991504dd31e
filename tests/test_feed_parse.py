"""Parsing the sample feeds: every format, relative links, recovery, refusal and hostile payloads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from planner.feeds.discover import alternate_links
from planner.feeds.opml import OpmlError, Outline, read, write
from planner.feeds.parse import ParseError, parse
from tests.feed_server import sample

BASE = "https://blog.example.org/feeds/rss.xml"


def test_rss2():  # type: ignore[no-untyped-def]
    feed = parse(sample("rss2.xml"), BASE)
    assert feed.title == "Python Weekly Digest" and feed.site_url == "https://digest.example.org/"
    first = feed.items[0]
    assert first.guid == "digest-1042"
    assert first.title == "Structural pattern matching, explained with <match> examples"  # text, as written
    assert first.author == "Lin Wei"
    assert first.published_at == datetime(2026, 11, 22, 9, tzinfo=UTC)
    assert [i.link.rsplit("/", 1)[1] for i in feed.items] == [
        "pattern-matching", "venv-windows", "tracebacks"]


def test_atom_with_an_html_title():  # type: ignore[no-untyped-def]
    feed = parse(sample("atom.xml"), BASE)
    assert [i.title for i in feed.items] == ["Grouping by week in pandas", "CSV encodings that bite"]
    assert feed.items[1].summary == "<p>GBK, UTF-8 with a BOM, and how to tell them apart.</p>"


def test_rdf():  # type: ignore[no-untyped-def]
    feed = parse(sample("rdf.xml"), BASE)
    assert feed.title == "Automation News"
    assert feed.items[0].published_at == datetime(2026, 11, 19, 4, tzinfo=UTC)
    assert feed.items[0].author == "Zhang Min"


def test_relative_links_are_resolved_against_the_feed():  # type: ignore[no-untyped-def]
    item = parse(sample("relative.xml"), BASE).items[0]
    assert item.link == "https://blog.example.org/posts/relative-links"
    assert 'href="https://blog.example.org/about"' in item.summary
    assert 'href="https://blog.example.org/feeds/guide.html"' in item.summary
    assert "<img" not in item.summary and "chart.png" not in item.summary


def test_a_malformed_feed_is_accepted_when_it_recovers():  # type: ignore[no-untyped-def]
    feed = parse(sample("malformed.xml"), BASE)
    assert feed.warning and "not well-formed" in feed.warning
    assert [i.title for i in feed.items] == ["An item with an unescaped & ampersand", "Second item"]


def test_a_page_that_is_no_feed_is_reported():  # type: ignore[no-untyped-def]
    with pytest.raises(ParseError, match="not a feed that could be read"):
        parse(sample("broken.txt"), BASE)


def test_payloads_are_neutralised():  # type: ignore[no-untyped-def]
    feed = parse(sample("payloads.xml"), BASE)
    first, second = feed.items
    assert first.link == ""  # javascript: links are dropped
    # Titles are plain text, shown escaped.
    assert first.title == '<img src=x onerror="window.__pwned=1;alert(1)">Click me'
    assert first.author == "<script>window.__pwned=1</script>Mallory"
    for bad in ("<script", "onclick", "onerror", "<iframe", "javascript:"):
        assert bad not in first.summary
    assert ('<a href="https://hostile.example.org/ok" rel="noopener noreferrer nofollow">fine link</a>'
            in first.summary)
    for bad in ("<svg", "onload", "<style", "<form", "<input"):
        assert bad not in second.summary
    assert second.summary == "Plain words"


def test_alternate_links_of_a_page():  # type: ignore[no-untyped-def]
    assert alternate_links(sample("page.html"), "https://digest.example.org/blog/") == [
        "https://digest.example.org/rss2.xml"]


def test_opml_round_trip():  # type: ignore[no-untyped-def]
    outlines = read(sample("subscriptions.opml"))
    assert outlines[0] == Outline("https://digest.example.org/feed.xml", "Python Weekly Digest", ["python"])
    assert outlines[2].tags == ["automation", "weekly"]
    assert read(write(outlines, "planner")) == outlines


@pytest.mark.parametrize("document,message", [
    (b"<html></html>", "not an OPML file: no <opml><body>"),
    (b"<opml", "not an OPML file: unclosed token: line 1, column 0"),
    (b'<!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body/></opml>', "OPML files with a DOCTYPE or entities"),
])
def test_bad_opml(document, message):  # type: ignore[no-untyped-def]
    with pytest.raises(OpmlError) as error:
        read(document)
    assert str(error.value).startswith(message)
