"""Fetching a feed: timeouts, a body cap after decompression, http/https only, checked addresses,
redirects followed one hop at a time, conditional GET, and the server's wish about when to come back."""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import urllib3
from requests.certs import where  # the CA bundle requests verifies with (certifi), as before
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.response import BaseHTTPResponse

from planner.feeds.guard import AddressRefused, Allowlist, pool_classes
from planner.http import retry_after_seconds

USER_AGENT = "planner/0.1 feed fetcher (+self-hosted community publishing)"
MAX_REDIRECTS = 5
REDIRECTS = {301, 302, 303, 307, 308}
HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept": ("application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, "
               "text/xml;q=0.9, text/html;q=0.5, */*;q=0.1"),
    "Accept-Encoding": urllib3.util.make_headers(accept_encoding=True)["accept-encoding"],
}
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
    """One pool of kept-alive connections whose every connection is checked by the guard.

    urllib3 directly, not requests: a feed poll needs none of what requests adds (cookies, proxies
    from the environment, which would bypass the address check anyway, redirects followed for us), and
    that machinery costs more CPU than the rest of an answered-304 poll.
    """

    def __init__(self, policy: FetchPolicy) -> None:
        self.policy = policy
        self.pool = urllib3.PoolManager(num_pools=10, maxsize=4, retries=False, ca_certs=where())
        self.pool.pool_classes_by_scheme = pool_classes(policy.allowlist)
        self.timeout = urllib3.Timeout(connect=policy.connect_timeout, read=policy.read_timeout)

    def close(self) -> None:
        self.pool.clear()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        headers = dict(HEADERS)
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        deadline = time.monotonic() + self.policy.connect_timeout + 2 * self.policy.read_timeout
        for _hop in range(MAX_REDIRECTS + 1):
            check_url(url)
            response = self._get(url, headers)
            try:
                if response.status in REDIRECTS and response.headers.get("Location"):
                    url = urljoin(url, response.headers["Location"])
                    continue
                return self._result(url, response, deadline)
            finally:
                _let_go(response)
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    def _get(self, url: str, headers: dict[str, str]) -> BaseHTTPResponse:
        try:
            return self.pool.request("GET", url, headers=headers, redirect=False, retries=False,
                                     preload_content=False, timeout=self.timeout)
        except AddressRefused as error:
            raise FetchError(str(error)) from None
        except NewConnectionError as error:  # refused, unreachable (a kind of ConnectTimeoutError)
            raise FetchError(_could_not(error)) from None
        except ConnectTimeoutError:
            raise FetchError(f"no connection within {self.policy.connect_timeout:g} s") from None
        except ReadTimeoutError:
            raise FetchError(f"no answer within {self.policy.read_timeout:g} s") from None
        except (HTTPError, OSError, ValueError) as error:
            cause: BaseException | None = error
            while cause is not None:
                if isinstance(cause, AddressRefused):
                    raise FetchError(str(cause)) from None
                cause = cause.__context__
            raise FetchError(_could_not(error)) from None

    def _result(self, url: str, response: BaseHTTPResponse, deadline: float) -> FetchResult:
        status = response.status
        retry = retry_after_seconds(response.headers.get("Retry-After"))
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

    def _read(self, response: BaseHTTPResponse, deadline: float) -> bytes:
        """The decompressed body, refused as soon as it passes the cap (a gzip bomb stops early) or
        the deadline (a body that drips in, each byte in time for the read timeout)."""
        body = bytearray()
        late = FetchError("the feed took too long to arrive")
        cutter = _Cutter(response, deadline)
        try:
            for chunk in response.stream(16 * 1024, decode_content=True):  # the cap counts what we keep
                body.extend(chunk)
                if len(body) > self.policy.max_bytes:
                    raise FetchError(f"the feed is larger than {self.policy.max_bytes} bytes "
                                     "(after decompression)")
                if time.monotonic() > deadline:
                    raise late
        except ReadTimeoutError:
            if cutter.cut:
                raise late from None
            raise FetchError(f"no answer within {self.policy.read_timeout:g} s") from None
        except (HTTPError, OSError) as error:
            if cutter.cut:
                raise late from None
            raise FetchError(f"the answer broke off: {str(error).splitlines()[0][:300]}") from None
        finally:
            cutter.cancel()
        if cutter.cut:
            raise late
        return bytes(body)


def _let_go(response: BaseHTTPResponse) -> None:
    """The connection back to the pool once its answer has been read to the end (a 304 has no body);
    otherwise closed, since what is left of an unread body would be taken for the next answer."""
    if response.status == 304:
        response.read()  # nothing to read: marks the answer complete
    if not response.closed:
        response.close()
    response.release_conn()


def _could_not(error: BaseException) -> str:
    return f"could not fetch: {str(error).splitlines()[0][:300]}"


class _Cutter:
    """Shuts the response's connection down at the deadline.

    A read of a body that is not chunked waits until it has all the bytes it asked for, and each byte
    that arrives restarts the read timeout: only cutting the connection bounds it.
    """

    def __init__(self, response: BaseHTTPResponse, deadline: float) -> None:
        self.cut = False
        # A duplicate of the connection's descriptor, taken now: shutting it down shuts the
        # connection down, and it cannot have been reused for another connection by then.
        try:
            self._socket: socket.socket | None = socket.fromfd(response.fileno(), socket.AF_INET,
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


def max_age(value: str | None) -> float | None:
    match = MAX_AGE.search(value or "")
    return float(match.group(1)) if match else None
