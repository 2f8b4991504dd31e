"""Fetching feeds safely: addresses checked at connect time, redirects, caps, timeouts, conditional GET."""

from __future__ import annotations

import socket
import time
from contextlib import ExitStack
from datetime import UTC, datetime

import pytest
import requests

from planner.feeds.fetch import Fetcher, FetchError, FetchPolicy, max_age
from planner.feeds.guard import Allowlist, is_public
from planner.http import retry_after_seconds
from tests.feed_server import sample, serve_samples

LOOPBACK = Allowlist.parse("127.0.0.1")


@pytest.fixture
def feeds(fake_platform):  # type: ignore[no-untyped-def]
    return fake_platform(serve_samples)


def fetcher(allow: Allowlist = LOOPBACK, **policy) -> Fetcher:  # type: ignore[no-untyped-def]
    return Fetcher(FetchPolicy(allowlist=allow, **{"connect_timeout": 2, "read_timeout": 2} | policy))


def test_a_feed_is_fetched_with_its_validators(feeds):  # type: ignore[no-untyped-def]
    with fetcher() as f:
        result = f.fetch(feeds.url + "/rss2.xml")
    assert result.status == 200 and result.body == sample("rss2.xml")
    assert result.etag and result.last_modified == "Sun, 22 Nov 2026 10:00:00 GMT"
    assert result.max_age == 60


def test_a_conditional_get_is_answered_304(feeds):  # type: ignore[no-untyped-def]
    with fetcher() as f:
        first = f.fetch(feeds.url + "/atom.xml")
        again = f.fetch(feeds.url + "/atom.xml", etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.body == b""
    assert feeds.requests[-1].headers["If-None-Match"] == first.etag
    assert feeds.requests[-1].headers["If-Modified-Since"] == first.last_modified


def test_loopback_is_refused_without_the_allowlist(feeds):  # type: ignore[no-untyped-def]
    with fetcher(Allowlist()) as f, pytest.raises(FetchError) as refused:
        f.fetch(feeds.url + "/rss2.xml")
    assert str(refused.value) == ("127.0.0.1 is a private or reserved address (127.0.0.1); "
                                  "add it to FETCH_ALLOWLIST to allow it")
    assert feeds.requests == []


def test_a_name_is_checked_on_the_address_it_resolves_to(feeds):  # type: ignore[no-untyped-def]
    url = feeds.url.replace("127.0.0.1", "localhost") + "/rss2.xml"
    with fetcher(Allowlist()) as f, pytest.raises(FetchError, match="localhost resolves to a private"):
        f.fetch(url)
    with fetcher(Allowlist.parse("localhost")) as f:
        assert f.fetch(url).status == 200
    with fetcher(Allowlist.parse("127.0.0.0/8")) as f:
        assert f.fetch(url).status == 200


def test_a_redirect_to_a_private_address_is_refused(feeds):  # type: ignore[no-untyped-def]
    with fetcher() as f, pytest.raises(FetchError) as refused:
        f.fetch(feeds.url + "/to-private")
    assert str(refused.value).startswith("169.254.169.254 is a private or reserved address")


def test_redirects_are_followed_a_few_hops_only(feeds):  # type: ignore[no-untyped-def]
    with fetcher() as f:
        assert f.fetch(feeds.url + "/moved/rdf.xml").url == feeds.url + "/rdf.xml"
        with pytest.raises(FetchError, match="more than 5 redirects"):
            f.fetch(feeds.url + "/loop")
    assert len([r for r in feeds.requests if r.path == "/loop"]) == 6


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed", "gopher://x/"])
def test_only_http_and_https(url):  # type: ignore[no-untyped-def]
    with fetcher() as f, pytest.raises(FetchError, match="only http and https feeds can be fetched"):
        f.fetch(url)


def test_an_oversized_body_is_refused(feeds):  # type: ignore[no-untyped-def]
    with fetcher(max_bytes=1024 * 1024) as f, pytest.raises(FetchError) as refused:
        f.fetch(feeds.url + "/huge")
    assert str(refused.value) == "the feed is larger than 1048576 bytes"


def test_an_oversized_body_without_a_length_is_cut_off_while_reading(feeds):  # type: ignore[no-untyped-def]
    with requests.Session() as plain:  # what the fetcher is up against: no size announced
        plain.trust_env = False
        streamed = plain.get(feeds.url + "/streamed-huge", stream=True)
        streamed.close()
        assert streamed.headers.get("Transfer-Encoding") == "chunked"
        assert "Content-Length" not in streamed.headers
    with fetcher(max_bytes=1024 * 1024) as f, pytest.raises(FetchError) as refused:
        f.fetch(feeds.url + "/streamed-huge")
    assert str(refused.value) == "the feed is larger than 1048576 bytes (after decompression)"


@pytest.mark.parametrize("query", ["", "&length"], ids=["chunked", "with-a-length"])
def test_a_body_that_drips_in_is_cut_off_at_the_deadline(feeds, query):  # type: ignore[no-untyped-def]
    # Each byte comes in time for the read timeout (0.3 s); the whole answer would take 5 s. The
    # deadline is the connect timeout plus twice the read timeout: 0.8 s.
    started = time.monotonic()
    with fetcher(connect_timeout=0.2, read_timeout=0.3) as f, pytest.raises(FetchError) as refused:
        f.fetch(feeds.url + "/drip?seconds=5" + query)
    assert str(refused.value) == "the feed took too long to arrive"
    assert time.monotonic() - started < 3


def test_a_server_that_never_accepts_times_out():  # type: ignore[no-untyped-def]
    # A listening socket that never accepts, its queue full: the next connection is never answered.
    with socket.socket() as listener, ExitStack() as fillers:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        address = listener.getsockname()
        for _ in range(16):
            filler = fillers.enter_context(socket.socket())
            filler.settimeout(0.2)
            try:
                filler.connect(address)
            except TimeoutError:
                break
        else:
            pytest.skip("this system answers connections beyond a listening socket's queue")
        with fetcher(connect_timeout=0.3) as f, pytest.raises(FetchError) as refused:
            f.fetch(f"http://127.0.0.1:{address[1]}/feed.xml")
    assert str(refused.value) == "no connection within 0.3 s"


def test_a_gzip_bomb_is_refused_after_decompression(feeds):  # type: ignore[no-untyped-def]
    with fetcher(max_bytes=1024 * 1024) as f, pytest.raises(FetchError) as refused:
        f.fetch(feeds.url + "/bomb")
    assert str(refused.value) == "the feed is larger than 1048576 bytes (after decompression)"


def test_a_slow_server_times_out(feeds):  # type: ignore[no-untyped-def]
    with fetcher(read_timeout=0.3) as f, pytest.raises(FetchError, match=r"no answer within 0.3 s"):
        f.fetch(feeds.url + "/slow?seconds=1.5")


def test_an_error_status_carries_retry_after(feeds):  # type: ignore[no-untyped-def]
    with fetcher() as f, pytest.raises(FetchError, match="HTTP 429") as busy:
        f.fetch(feeds.url + "/busy")
    assert busy.value.retry_after == 7200


def test_header_helpers():  # type: ignore[no-untyped-def]
    assert max_age("public, max-age=900") == 900
    assert max_age("no-cache") is None
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
    now = datetime(2015, 10, 21, 7, 0, tzinfo=UTC)
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now) == 1680
    # A date with "-0000" has no zone: read as UTC, not refused or crashed on.
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 -0000", now) == 1680
    assert retry_after_seconds("Wed, 21 Oct 2015 06:00:00 GMT", now) == 0


@pytest.mark.parametrize("address,public", [
    ("93.184.216.34", True), ("10.1.2.3", False), ("192.168.1.1", False), ("127.0.0.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
    ("::1", False), ("fe80::1", False), ("fc00::1", False), ("::ffff:10.0.0.1", False),
    ("2606:4700::1111", True),
])
def test_private_reserved_and_carrier_grade_nat_are_not_public(address, public):  # type: ignore[no-untyped-def]
    import ipaddress

    assert is_public(ipaddress.ip_address(address)) is public
