"""The outgoing HTTP client given to channel plugins: every request has a timeout and a body cap."""

from __future__ import annotations

from typing import Any

import requests

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
        self.timeout = (connect_timeout, read_timeout)
        self.max_body = max_body

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
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

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        self.session.close()
