"""The outgoing HTTP client given to channel plugins: every request has a timeout and a body cap.

Proxy settings (``HTTPS_PROXY``, ``NO_PROXY``…) and a CA bundle from ``REQUESTS_CA_BUNDLE`` are
honoured as ``requests`` does, but worked out once per host instead of by scanning the environment on
every request, which costs more than the rest of a small POST. Credentials from ``~/.netrc`` are never
sent: a channel's own settings carry its credentials.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.utils import get_environ_proxies

from planner.worker import failpoints

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 20.0
MAX_BODY_BYTES = 5 * 1024 * 1024


class ResponseTooLarge(Exception):
    pass


class HttpClient:
    def __init__(self, *, connect_timeout: float = CONNECT_TIMEOUT,
                 read_timeout: float = READ_TIMEOUT, max_body: int = MAX_BODY_BYTES) -> None:
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "planner/0.1 (+self-hosted community publishing)"
        self.session.trust_env = False  # the environment is read once, below
        self.timeout = (connect_timeout, read_timeout)
        self.max_body = max_body
        self._ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        self._proxies: dict[str, dict[str, str]] = {}

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("proxies", self._proxies_for(url))
        if self._ca_bundle:
            kwargs.setdefault("verify", self._ca_bundle)
        response = self.session.request(method, url, stream=True, **kwargs)
        failpoints.hit("after_request")  # the platform has the request; its answer is unread
        body = bytearray()
        for chunk in response.iter_content(64 * 1024):
            body.extend(chunk)
            if len(body) > self.max_body:
                response.close()
                raise ResponseTooLarge(f"{url} answered with more than {self.max_body} bytes")
        response._content = bytes(body)  # the body is read once, with the cap applied
        return response

    def _proxies_for(self, url: str) -> dict[str, str]:
        parts = urlsplit(url)
        host = f"{parts.scheme}://{parts.netloc}"
        found = self._proxies.get(host)
        if found is None:
            if len(self._proxies) > 1024:
                self._proxies.clear()
            found = self._proxies[host] = get_environ_proxies(url)
        return found

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        self.session.close()


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date (a date without a
    zone taken as UTC); None when there is no header or it says neither."""
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
