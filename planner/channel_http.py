"""Turning transport failures and HTTP statuses into the contract's errors, for every channel kind.

Platform envelopes (an HTTP 200 carrying ``errcode``) are each kind's own business; what a status code
or a broken connection means is the same everywhere, so it lives here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import requests

from planner.channel_api import (
    OutcomeUnknownError,
    PermanentError,
    RetryableError,
    ThrottledError,
)
from planner.http import HttpClient, ResponseTooLarge, retry_after_seconds

# Statuses a proxy gives when the platform may already have acted on the request.
AMBIGUOUS = {502, 504}


def call(http: HttpClient, method: str, url: str, **kwargs: Any) -> requests.Response:
    """Send one request; a failure before the request left is retryable, after it is unknown."""
    try:
        return http.request(method, url, **kwargs)
    except requests.ConnectionError as error:
        if _reset_after_sending(error):
            raise OutcomeUnknownError(f"connection lost after sending: {_short(error)}") from error
        raise RetryableError(f"could not connect: {_short(error)}") from error
    except requests.ReadTimeout as error:
        raise OutcomeUnknownError("no answer before the read timeout") from error
    except ResponseTooLarge as error:
        raise OutcomeUnknownError(str(error)) from error
    except requests.RequestException as error:
        raise RetryableError(f"request failed: {_short(error)}") from error


def raise_for_status(response: requests.Response, message: str | None = None) -> None:
    """Map a non-2xx status: 429 throttled, 502/504 unknown, other 5xx retryable, 4xx permanent."""
    status = response.status_code
    if status < 300:
        return
    detail = message or f"HTTP {status}: {response.text[:300]}"
    if status == 429:
        raise ThrottledError(detail, retry_after=retry_after(response))
    if status in AMBIGUOUS:
        raise OutcomeUnknownError(detail)
    if status >= 500:
        raise RetryableError(detail, retry_after=retry_after(response))
    raise PermanentError(detail)


def retry_after(response: requests.Response, now: datetime | None = None) -> float | None:
    """Seconds from the response's Retry-After header (delta-seconds or an HTTP date), if it has one."""
    return retry_after_seconds(response.headers.get("Retry-After"), now)


def json_body(response: requests.Response) -> dict[str, Any]:
    """The response's JSON object; a body that is not one means the platform's answer is unknown."""
    try:
        data = response.json()
    except ValueError as error:
        raise OutcomeUnknownError(f"HTTP {response.status_code} with a body that is not JSON: "
                                  f"{response.text[:200]!r}") from error
    if not isinstance(data, dict):
        raise OutcomeUnknownError(f"HTTP {response.status_code} with unexpected JSON: {data!r:.200}")
    return data


def _reset_after_sending(error: requests.ConnectionError) -> bool:
    text = repr(error)
    return any(marker in text for marker in ("RemoteDisconnected", "ConnectionResetError",
                                              "Connection aborted", "BrokenPipe"))


def _short(error: Exception) -> str:
    return str(error).splitlines()[0][:300]
