"""A local feed server for the feed tests: the sample files, conditional GET, and misbehaviours."""

from __future__ import annotations

import gzip
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

from werkzeug.wrappers import Request, Response

SAMPLES = Path(__file__).resolve().parent / "feeds_samples"
TYPES = {".xml": "application/rss+xml; charset=utf-8", ".html": "text/html; charset=utf-8",
         ".opml": "text/x-opml", ".txt": "text/plain"}
CHUNK = 64 * 1024


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def drip(seconds: float, every: float = 0.05) -> Iterator[bytes]:
    """A feed that arrives a few bytes at a time, each in time for a read timeout, for ``seconds``."""
    yield b"<rss><channel>"
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(every)
        yield b" "
    yield b"</channel></rss>"


def chunks(size: int) -> Iterator[bytes]:
    """``size`` bytes of a feed, streamed without a Content-Length."""
    yield b"<rss>"
    for _ in range(size // CHUNK):
        yield b" " * CHUNK
    yield b"</rss>"


def serve_samples(request: Request) -> Response:
    """``/<sample file>`` with an ETag and Last-Modified, answering 304 to a matching conditional GET
    (``?max_age=`` and ``?retry_after=`` set those headers); ``/slow``, ``/huge``, ``/streamed-huge``,
    ``/drip``, ``/bomb``, ``/to-private``, ``/loop``, ``/busy`` misbehave as named."""
    name = request.path.strip("/")
    if name == "slow":
        time.sleep(float(request.args.get("seconds", "2")))
        return Response(sample("rss2.xml"), content_type=TYPES[".xml"])
    if name == "huge":
        return Response(b"<rss>" + b" " * (3 * 1024 * 1024) + b"</rss>", content_type=TYPES[".xml"])
    if name == "streamed-huge":  # chunked: the size shows only while reading
        return Response(chunks(3 * 1024 * 1024), content_type=TYPES[".xml"])
    if name == "drip":
        seconds = float(request.args.get("seconds", "3"))
        body = drip(seconds)
        # With a (made-up) length the body is not chunked: a reader gets no chunk boundaries.
        length = {"Content-Length": "1000000"} if "length" in request.args else {}
        return Response(body, content_type=TYPES[".xml"], headers=length)
    if name == "bomb":
        return Response(gzip.compress(b"<rss>" + b"\0" * (64 * 1024 * 1024)), content_type=TYPES[".xml"],
                        headers={"Content-Encoding": "gzip"})
    if name == "to-private":
        return Response("", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    if name == "loop":
        return Response("", status=302, headers={"Location": "/loop"})
    if name == "busy":
        return Response("slow down", status=429,
                        headers={"Retry-After": request.args.get("retry_after", "7200")})
    if name.startswith("moved/"):
        return Response("", status=301, headers={"Location": "/" + name.removeprefix("moved/")})
    path = SAMPLES / name
    if not name or not path.is_file():
        return Response("not found", status=404)
    body = path.read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    last_modified = "Sun, 22 Nov 2026 10:00:00 GMT"
    headers = {"ETag": etag, "Last-Modified": last_modified,
               "Cache-Control": f"public, max-age={request.args.get('max_age', '60')}"}
    if "retry_after" in request.args:
        headers["Retry-After"] = request.args["retry_after"]
    if request.headers.get("If-None-Match") == etag:
        return Response(status=304, headers=headers)
    return Response(body, content_type=TYPES.get(path.suffix, "application/octet-stream"), headers=headers)
