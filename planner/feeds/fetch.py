"""Fetching a feed: timeouts, a body cap after decompression, http/https only, checked addresses,
redirects followed one hop at a time, conditional GET, and the server's wish about when to come back."""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from planner.feeds.guard import AddressRefused, Allowlist, pool_classes

USER_AGENT = "planner/0.1 feed fetcher (+self-hosted community publishing)"
MAX_REDIRECTS = 5
REDIRECTS = {301, 302, 303, 307, 308}
MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


class FetchError(Exception):
    """The feed could not be fetched; the message says why, in words an operator can act on."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds the server asked us to wait, if it did


@dataclass(frozen=True)
class FetchPolicy:
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    max_bytes: int = 5 * 1024 * 1024
    allowlist: Allowlist = field(default_factory=Allowlist)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FetchPolicy:
        return cls(connect_timeout=float(config["HTTP_CONNECT_TIMEOUT"]),
                   read_timeout=float(config["HTTP_READ_TIMEOUT"]),
                   max_bytes=int(config["FEED_MAX_BYTES"]),
                   allowlist=Allowlist.parse(config["FETCH_ALLOWLIST"]))


@dataclass(frozen=True)
class FetchResult:
    url: str  # after redirects
    status: int  # 200, or 304 when the feed has not changed
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    retry_after: float | None = None  # seconds the server asks us to wait
    max_age: float | None = None  # seconds the answer stays fresh

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class Fetcher:
    """One HTTP session (kept-alive connections) whose every connection is checked by the guard."""

    def __init__(self, policy: FetchPolicy) -> None:
        self.policy = policy
        self.session = requests.Session()
        self.session.trust_env = False  # a proxy from the environment would bypass the address check
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = ("application/rss+xml, application/atom+xml, "
                                          "application/rdf+xml, application/xml;q=0.9, text/xml;q=0.9, "
                                          "text/html;q=0.5, */*;q=0.1")
        adapter = HTTPAdapter(pool_maxsize=4, max_retries=0)
        adapter.poolmanager.pool_classes_by_scheme = pool_classes(policy.allowlist)
        for scheme in ("http://", "https://"):
            self.session.mount(scheme, adapter)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        deadline = time.monotonic() + self.policy.connect_timeout + 2 * self.policy.read_timeout
        for _hop in range(MAX_REDIRECTS + 1):
            check_url(url)
            response = self._get(url, headers)
            with response:
                if response.status_code in REDIRECTS and response.headers.get("Location"):
                    url = urljoin(url, response.headers["Location"])
                    continue
                return self._result(url, response, deadline)
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    def _get(self, url: str, headers: dict[str, str]) -> requests.Response:
        try:
            return self.session.get(url, headers=headers, stream=True, allow_redirects=False,
                                    timeout=(self.policy.connect_timeout, self.policy.read_timeout))
        except AddressRefused as error:
            raise FetchError(str(error)) from None
        except requests.ConnectTimeout:
            raise FetchError(f"no connection within {self.policy.connect_timeout:g} s") from None
        except requests.ReadTimeout:
            raise FetchError(f"no answer within {self.policy.read_timeout:g} s") from None
        except requests.RequestException as error:
            cause = error.__context__
            while cause is not None:
                if isinstance(cause, AddressRefused):
                    raise FetchError(str(cause)) from None
                cause = cause.__context__
            raise FetchError(f"could not fetch: {str(error).splitlines()[0][:300]}") from None

    def _result(self, url: str, response: requests.Response, deadline: float) -> FetchResult:
        status = response.status_code
        retry = retry_after(response.headers.get("Retry-After"))
        if status == 304:
            return FetchResult(url=url, status=304, etag=response.headers.get("ETag"),
                               last_modified=response.headers.get("Last-Modified"),
                               max_age=max_age(response.headers.get("Cache-Control")))
        if status != 200:
            raise FetchError(f"HTTP {status} {response.reason or ''}".strip(), retry_after=retry)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.policy.max_bytes:
            raise FetchError(f"the feed is larger than {self.policy.max_bytes} bytes")
        return FetchResult(
            url=url, status=200, body=self._read(response, deadline),
            content_type=response.headers.get("Content-Type", ""),
            etag=response.headers.get("ETag"), last_modified=response.headers.get("Last-Modified"),
            retry_after=retry, max_age=max_age(response.headers.get("Cache-Control")),
        )

    def _read(self, response: requests.Response, deadline: float) -> bytes:
        """The decompressed body, refused as soon as it passes the cap (a gzip bomb stops early) or
        the deadline (a body that drips in, each byte in time for the read timeout)."""
        body = bytearray()
        late = FetchError("the feed took too long to arrive")
        cutter = _Cutter(response, deadline)
        try:
            for chunk in response.iter_content(16 * 1024):  # decoded chunks: the cap counts what we keep
                body.extend(chunk)
                if len(body) > self.policy.max_bytes:
                    raise FetchError(f"the feed is larger than {self.policy.max_bytes} bytes "
                                     "(after decompression)")
                if time.monotonic() > deadline:
                    raise late
        except requests.RequestException as error:
            if cutter.cut:
                raise late from None
            if "timed out" in str(error).lower():
                raise FetchError(f"no answer within {self.policy.read_timeout:g} s") from None
            raise FetchError(f"the answer broke off: {str(error).splitlines()[0][:300]}") from None
        finally:
            cutter.cancel()
        if cutter.cut:
            raise late
        return bytes(body)


class _Cutter:
    """Shuts the response's connection down at the deadline.

    A read of a body that is not chunked waits until it has all the bytes it asked for, and each byte
    that arrives restarts the read timeout: only cutting the connection bounds it.
    """

    def __init__(self, response: requests.Response, deadline: float) -> None:
        self.cut = False
        # A duplicate of the connection's descriptor, taken now: shutting it down shuts the
        # connection down, and it cannot have been reused for another connection by then.
        try:
            self._socket: socket.socket | None = socket.fromfd(response.raw.fileno(), socket.AF_INET,
                                                               socket.SOCK_STREAM)
        except (OSError, ValueError):
            self._socket = None
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._shut)
        self._timer.daemon = True
        if self._socket is not None:
            self._timer.start()

    def _shut(self) -> None:
        self.cut = True
        try:
            self._socket.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
        except OSError:
            pass  # the server closed it first

    def cancel(self) -> None:
        self._timer.cancel()
        if self._socket is not None:
            self._timer.join()  # never closed under a shutdown in progress
            self._socket.close()


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"only http and https feeds can be fetched, not {parts.scheme or 'a bare path'}")
    if not parts.hostname:
        raise FetchError("the address has no host")


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def max_age(value: str | None) -> float | None:
    match = MAX_AGE.search(value or "")
    return float(match.group(1)) if match else None
