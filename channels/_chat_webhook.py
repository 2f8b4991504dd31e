"""How the chat robots (WeCom, Feishu, DingTalk) post: JSON to a webhook whose URL is itself the
secret. :func:`post_json` sends a compact UTF-8 body and returns the platform's envelope,
:func:`raise_for_code` turns the envelope's error code into the channel error the contract asks for,
and :func:`redacting` re-raises any channel error with the webhook key, tokens and signatures blanked
out, without the transport error behind it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from planner.channel_api import ChannelError, OutcomeUnknownError, PermanentError
from planner.channel_http import call, json_body, raise_for_status

SECRET_PARAMS = re.compile(r"((?:key|access_token|sign)=)[^&\s'\"]+")
HOOK_TOKEN = re.compile(r"(/hook/)[^/?\s'\"]+")


def redact(text: str, secrets: list[str]) -> str:
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return HOOK_TOKEN.sub(r"\1***", SECRET_PARAMS.sub(r"\1***", text))


@contextmanager
def redacting(secrets: list[str]) -> Iterator[None]:
    """Re-raise channel errors with every secret blanked out, and without the transport error
    behind them: that one carries the full webhook URL."""
    try:
        yield
    except ChannelError as error:
        raise type(error)(redact(error.message, secrets), retry_after=error.retry_after) from None


def post_json(http: Any, url: str, payload: dict[str, Any]) -> dict[str, Any]:
    """POST compact UTF-8 JSON (platforms count the body's bytes) and return the answer's envelope."""
    response = call(http, "POST", url, data=encode(payload),
                    headers={"Content-Type": "application/json; charset=utf-8"})
    if response.status_code >= 300:
        raise_for_status(response, f"HTTP {response.status_code}: {_platform_words(response)}")
    return json_body(response)


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def body_size(payload: dict[str, Any]) -> int:
    return len(encode(payload))


def raise_for_code(platform: str, code: object, words: object,
                   errors: dict[int, tuple[type[ChannelError], float | None]]) -> None:
    """Raise what the contract says an envelope's error code means; unknown codes refuse for good."""
    if code == 0:
        return
    if not isinstance(code, int):
        raise OutcomeUnknownError(f"{platform} answered without a result code: {words!s:.200}")
    error, retry_after = errors.get(code, (PermanentError, None))
    raise error(f"{platform} error {code}: {words!s:.300}", retry_after=retry_after)


def _platform_words(response: Any) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(data, dict):
        for field in ("errmsg", "msg", "StatusMessage"):
            if data.get(field):
                return str(data[field])[:300]
    return response.text[:300]
