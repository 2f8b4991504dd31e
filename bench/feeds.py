"""Feeds: the first poll of 200 feeds × 50 items against a bare fetch+feedparser loop, and a second
poll answered with 304s against the first.

planner's poll claims the due feeds, fetches each through the guarded fetcher (checked address, body
cap, deadline), parses it, sanitises every summary, dedupes against what the feed brought before and
stores the items, each feed in its own transaction, ``FEED_POLL_CONCURRENCY`` feeds at a time (as in
production). The baseline is the bare loop the target names, one feed after another: for each feed
``requests.Session().get(url)`` (one session, kept-alive connections), then
``feedparser.parse(response.content, response_headers={"content-location": url, "content-type": ...})``
with feedparser's defaults, which parse, sanitise the HTML and resolve relative links: the same kinds
of work planner does (planner leaves the last two to nh3 and its own link check).
Targets: first poll / baseline ≥ 0.8 (throughput), first poll / second poll ≥ 20 (time).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import feedparser
import requests
from sqlalchemy import func, select, update

from bench.common import database, line, verdict
from planner import create_app
from planner.feeds.parse import read
from planner.feeds.poller import poll_due
from planner.models import Feed, FeedItem
from planner.services import feeds as feed_service
from planner.services import users
from planner.state import state

FEEDS, ITEMS = 200, 50
THROUGHPUT_TARGET, NOT_MODIFIED_TARGET = 0.8, 20.0
SUMMARY = ("<p>This week's lesson walks through <strong>{topic}</strong> with a worked example, "
           "common mistakes and a short exercise. <a href=\"/lessons/{n}/{i}\">Read the lesson</a> "
           "and share your answer in the group thread.</p><ul><li>level: beginner</li>"
           "<li>time: 20 minutes</li></ul>")
TOPICS = ["list comprehensions", "virtual environments", "reading tracebacks", "f-strings", "pathlib",
          "dataclasses", "logging", "unit tests", "CSV files", "HTTP requests"]


def feed_document(n: int) -> bytes:
    items = []
    for i in range(ITEMS):
        topic = TOPICS[(n + i) % len(TOPICS)]
        items.append(
            f"<item><title>Lesson {i} of feed {n}: {topic}</title>"
            f"<link>https://feed{n}.example.org/lessons/{i}</link><guid>feed{n}-lesson-{i}</guid>"
            f"<pubDate>Mon, {1 + i % 28:02d} Nov 2026 09:00:00 +0000</pubDate>"
            f"<description><![CDATA[{SUMMARY.format(topic=topic, n=n, i=i)}]]></description></item>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Feed {n}</title>'
            f"<link>https://feed{n}.example.org/</link><description>Lessons</description>"
            + "".join(items) + "</channel></rss>").encode()


def _serve(conn: Any) -> None:
    from werkzeug.serving import WSGIRequestHandler, make_server

    documents = {f"/feed/{n}.xml": feed_document(n) for n in range(FEEDS)}
    etags = {path: '"' + hashlib.sha256(body).hexdigest()[:16] + '"' for path, body in documents.items()}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        if path not in documents:
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        if environ.get("HTTP_IF_NONE_MATCH") == etags[path]:
            start_response("304 Not Modified", [("ETag", etags[path]), ("Content-Length", "0")])
            return [b""]
        body = documents[path]
        start_response("200 OK", [("Content-Type", "application/rss+xml"), ("ETag", etags[path]),
                                  ("Content-Length", str(len(body)))])
        return [body]

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args: Any) -> None:
            pass

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    conn.send(f"http://127.0.0.1:{server.port}")
    server.serve_forever()


def bare_read(body: bytes, url: str, content_type: str) -> Any:
    """One feed as a script without planner reads it: feedparser with its defaults."""
    return feedparser.parse(body, response_headers={"content-location": url, "content-type": content_type})


def lean_read(body: bytes, url: str, content_type: str) -> Any:
    """The same, with feedparser told what planner tells it (:func:`planner.feeds.parse.read`): no
    sanitising or link resolution inside feedparser. Shown beside the target, not judged."""
    return read(body, url, content_type)


def bare_loop(urls: list[str], reader: Callable[[bytes, str, str], Any] = bare_read) -> float:
    """Seconds to GET every feed on one session and read it with feedparser, one after another."""
    with requests.Session() as session:
        def fetched(url: str) -> Any:
            response = session.get(url)
            response.raise_for_status()
            return reader(response.content, url, response.headers.get("Content-Type", ""))

        for url in urls[:20]:  # warm-up
            fetched(url)
        start = time.perf_counter()
        for url in urls:
            assert len(fetched(url).entries) == ITEMS
        return time.perf_counter() - start


def run(quick: bool, database_kind: str) -> bool:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=_serve, args=(child,), daemon=True)
    server.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("the local feed server did not start")
        base = parent.recv()
        urls = [f"{base}/feed/{n}.xml" for n in range(FEEDS)]
        with tempfile.TemporaryDirectory(prefix="planner-bench-") as folder, \
                database(database_kind, Path(folder)) as url:
            return _measure(url, Path(folder) / "instance", urls)
    finally:
        server.terminate()
        server.join(5)


def _measure(url: str, instance: Path, urls: list[str]) -> bool:
    app = create_app({"INSTANCE_PATH": str(instance), "DATABASE_URL": url, "SECRET_KEY": "bench",
                      "CHANNEL_KINDS": ["outbox"], "FETCH_ALLOWLIST": "127.0.0.1",
                      "FEED_FIRST_POLL_KEEP": ITEMS})
    st = state(app)
    try:
        now = st.clock.now()
        outlines = "".join(f'<outline type="rss" text="Feed {n}" xmlUrl="{u}"/>' for n, u in enumerate(urls))
        with st.sessions() as session, session.begin():
            editor = users.create_user(session, email="editor@example.com", role="editor",
                                       password="bench password 1", now=now)
            added, _skipped = feed_service.import_opml(
                session, editor, f"<opml version='2.0'><body>{outlines}</body></opml>".encode(), now=now)
        assert added == FEEDS
        baseline = bare_loop(urls)
        line("baseline", f"{FEEDS} feeds × {ITEMS} items fetched and read by feedparser (its defaults, "
                         f"one thread) in {baseline:.2f} s ({FEEDS * ITEMS / baseline:.0f} items/s)")
        lean = bare_loop(urls, lean_read)
        line("lean loop", f"the same with planner's feedparser options in {lean:.2f} s "
                          f"({FEEDS * ITEMS / lean:.0f} items/s)")

        start, cpu = time.perf_counter(), time.process_time()
        first = poll_due(st)
        first_time, first_cpu = time.perf_counter() - start, time.process_time() - cpu
        with st.sessions() as session:
            stored = session.scalar(select(func.count()).select_from(FeedItem))
        assert stored == FEEDS * ITEMS and not any(r.error for r in first), (stored, first[:3])
        line("first poll", f"{stored} items stored in {first_time:.2f} s ({stored / first_time:.0f} items/s, "
                           f"CPU {first_cpu / first_time:.0%} of one core, "
                           f"concurrency {st.config['FEED_POLL_CONCURRENCY']})")

        with st.sessions() as session, session.begin():
            session.execute(update(Feed).values(next_check_at=st.clock.now()))
        start = time.perf_counter()
        second = poll_due(st)
        second_time = time.perf_counter() - start
        assert len(second) == FEEDS and all(r.not_modified for r in second)
        line("second poll", f"{FEEDS} feeds answered 304 in {second_time:.2f} s")
        line("vs lean", f"{lean / first_time:.2f}× (not a target: feedparser does less work there)")
        passed = verdict("throughput", baseline / first_time, THROUGHPUT_TARGET, at_least=True, unit="×")
        return verdict("304 speed-up", first_time / second_time, NOT_MODIFIED_TARGET, at_least=True,
                       unit="×") and passed
    finally:
        st.engine.dispose()
