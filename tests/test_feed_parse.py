"""Parsing the sample feeds: every format, relative links, recovery, refusal and hostile payloads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from planner.feeds.discover import alternate_links
from planner.feeds.opml import OpmlError, Outline, read, write
from planner.feeds.parse import ParsedItem, ParseError, parse
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


def test_a_wordpress_feed():  # type: ignore[no-untyped-def]
    feed = parse(sample("wordpress.xml"), BASE)
    assert (feed.title, feed.site_url, feed.warning) == (
        "Python 学习小组", "https://pystudy.example.cn", None)
    first, second, third = feed.items
    assert (first.guid, first.author) == ("https://pystudy.example.cn/?p=1287", "小林")
    assert first.published_at == datetime(2026, 11, 21, 14, 3, 12, tzinfo=UTC)
    assert first.summary.startswith("<p>下载文件夹又满了?这一期我们用 <code>pathlib</code> 按扩展名")
    assert "[…]" in first.summary  # the excerpt (description), not the whole post
    assert second.title == "新手问答:for 循环后面的 “else” 什么时候执行?"
    assert second.author == "阿杰 & 小林"  # an entity escaped inside CDATA is decoded, once
    # Without a description, the post itself (content:encoded) is the summary, minus what is unsafe.
    assert third.summary.startswith("<p>周六晚上八点,我们在群里直播读 <a href=\"https://github.example.com/psf/requests\"")
    assert '<a rel="noopener noreferrer nofollow">点此报名</a>' in third.summary
    for bad in ("javascript:", "<iframe", "<img", "srcset", "class="):
        assert bad not in first.summary + third.summary


def test_github_releases_atom():  # type: ignore[no-untyped-def]
    feed = parse(sample("github-releases.xml"), BASE)
    assert feed.site_url == "https://github.example.com/example-org/tinyq/releases"
    release, fix = feed.items
    assert (release.title, release.author, release.guid) == (
        "v2.3.0", "wangfang", "tag:github.com,2008:Repository/412345678/v2.3.0")
    assert release.published_at == datetime(2026, 11, 20, 8, 15, 42, tzinfo=UTC)  # <updated> only
    assert release.summary.startswith("<h2>What's Changed</h2>")
    assert ('<a href="https://github.example.com/lihua" rel="noopener noreferrer nofollow">@lihua</a>'
            in release.summary)
    assert "data-hovercard" not in release.summary and "<tt>" not in release.summary
    assert fix.title == "v2.2.1: fix the <Worker> shutdown hang"  # an Atom text title, as written
    assert fix.summary == "<p>No content.</p>"


def test_a_slashdot_style_rdf_feed_in_latin_1():  # type: ignore[no-untyped-def]
    feed = parse(sample("rdf-slash.xml"), BASE)
    assert feed.title == "Tinkerers: News for people who fix things"
    lockfile, cafe = feed.items
    assert cafe.title == "A Café Owner Builds Her Own Point-of-Sale Terminal"
    assert (lockfile.author, cafe.author) == ("quietgear", "oskarb")
    assert lockfile.published_at == datetime(2026, 11, 22, 15, 51, tzinfo=UTC)
    assert lockfile.guid == lockfile.link  # rdf:about names the item
    assert lockfile.link.endswith("-lockfile?utm_source=rss1.0mainlinkanon&utm_medium=feed")
    assert lockfile.summary.startswith("An anonymous reader writes: After years of tool-specific formats")
    for bad in ("<iframe", "<img", "<div", "style="):
        assert bad not in lockfile.summary


def test_rss_0_91():  # type: ignore[no-untyped-def]
    feed = parse(sample("rss091.xml"), BASE)
    assert (feed.title, feed.site_url) == ("Old School Shell Tips", "http://oldschool.example.com/")
    assert [(i.guid, i.published_at) for i in feed.items] == [(None, None)] * 3  # dedupe goes by link
    assert feed.items[1].title == 'Why "set -e" surprises everyone once'
    assert feed.items[0].summary == ("A ten-line shell function that keeps the last seven days &amp; "
                                     "compresses the rest.")
    assert (feed.items[2].title, feed.items[2].summary) == ("Résumé of the year: the ten most-read tips", "")


def test_a_feed_cut_off_inside_its_first_item_is_reported():  # type: ignore[no-untyped-def]
    # feedparser "recovers" one empty entry from it: no item to show is a failure, not an empty feed.
    with pytest.raises(ParseError) as refused:
        parse(sample("truncated.xml"), BASE)
    assert str(refused.value) == ("not a feed that could be read: <unknown>:9:56: "
                                  "not well-formed (invalid token)")


def test_the_content_hash_knows_a_republished_item():  # type: ignore[no-untyped-def]
    original = {i.title: i for i in parse(sample("rss2.xml"), BASE).items}
    again = {i.title.replace("  ", " "): i for i in parse(sample("rss2-new-links.xml"), BASE).items}
    for title in ("Structural pattern matching, explained with <match> examples",
                  "Virtual environments on Windows without tears"):
        before, after = original[title], again[title]
        assert (before.guid, before.link) != (after.guid, after.link)  # new GUID, new link …
        assert before.content_hash == after.content_hash  # … same words, other markup and spacing
    edited = parse(sample("rss2-new-guids.xml"), BASE).items[1]
    assert edited.content_hash != original[edited.title.removesuffix(" (updated)")].content_hash


def test_items_without_a_summary_are_told_apart_by_their_link():  # type: ignore[no-untyped-def]
    def item(link: str, summary: str = "") -> ParsedItem:
        return ParsedItem(guid=None, link=link, title="Weekly update", author="", summary=summary,
                          published_at=None)

    week1, week2 = item("https://x.example.org/w/1"), item("https://x.example.org/w/2")
    assert week1.content_hash != week2.content_hash
    assert week1.content_hash == item("https://x.example.org/w/1?utm_source=rss#top").content_hash
    assert item(week1.link, "<p>Same</p>").content_hash == item(week2.link, "Same").content_hash


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
