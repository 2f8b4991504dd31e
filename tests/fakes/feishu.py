"""A Feishu custom-bot webhook that behaves as the contract says.

HTTP 200 with a ``code`` envelope for everything: 19001 for an unknown token, 9499 for a body that is
not JSON, over 20 KB or not a well-formed message, 19021 when a bot with a secret gets a missing or
wrong ``sign`` or a ``timestamp`` more than an hour off, 19024 when the bot's keywords are missing
from the text, and 11232 beyond 100 requests a minute or 5 a second. Tests can queue answers in
``script`` and read accepted messages in ``messages``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.server import json_response

TOKEN = "0f3c1d2e-0000-0000-0000-00000000e9"
PATH = "/open-apis/bot/v2/hook/"
BODY_LIMIT = 20_000
SUCCESS = {"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"}
TAGS = {"text": ("text",), "a": ("text", "href"), "at": ("user_id",), "img": ("image_key",)}


@dataclass
class FakeFeishu:
    tokens: set[str] = field(default_factory=lambda: {TOKEN})
    secret: str = ""
    keywords: tuple[str, ...] = ()
    per_minute: int = 100
    per_second: int = 5
    clock: Callable[[], float] = time.time
    script: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    _seen: list[float] = field(default_factory=list)

    def __call__(self, request: Request) -> Response:
        if not request.path.startswith(PATH) or request.method != "POST":
            return Response("404 page not found", status=404)
        if request.path.removeprefix(PATH) not in self.tokens:
            return _error(19001, "param invalid: incoming webhook access token invalid")
        if self._over_rate():
            return _error(11232, "frequency limited psm[lark.oapi.app_platform_runtime]appID[1500]")
        if self.script:
            return json_response(self.script.pop(0))
        body = request.get_data()
        try:
            message = json.loads(body.decode("utf-8"))
        except ValueError:
            return _error(9499, "Bad Request")
        if len(body) > BODY_LIMIT or not _well_formed(message):
            return _error(9499, "Bad Request")
        if self.secret and not self._signed(message):
            return _error(19021, "sign match fail or timestamp is not within one hour from current time")
        if self.keywords and not any(word in _words(message) for word in self.keywords):
            return _error(19024, "Key Words Not Found")
        self.messages.append(message)
        return json_response(SUCCESS)

    def _over_rate(self) -> bool:
        now = self.clock()
        self._seen = [t for t in self._seen if now - t < 60] + [now]
        return (len(self._seen) > self.per_minute
                or sum(1 for t in self._seen if now - t < 1) > self.per_second)

    def _signed(self, message: dict[str, Any]) -> bool:
        timestamp = str(message.get("timestamp", ""))
        if not timestamp.isdigit() or abs(self.clock() - int(timestamp)) > 3600:
            return False
        key = f"{timestamp}\n{self.secret}".encode()
        expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        return hmac.compare_digest(expected, str(message.get("sign", "")))


def _well_formed(message: Any) -> bool:
    if not isinstance(message, dict):
        return False
    content = message.get("content")
    if message.get("msg_type") == "text":
        return isinstance(content, dict) and isinstance(content.get("text"), str)
    if message.get("msg_type") != "post" or not isinstance(content, dict):
        return False
    post = content.get("post")
    if not isinstance(post, dict) or not post or set(post) - {"zh_cn", "en_us"}:
        return False
    for language in post.values():
        paragraphs = language.get("content") if isinstance(language, dict) else None
        if not isinstance(paragraphs, list) or not all(isinstance(p, list) for p in paragraphs):
            return False
        for element in (e for paragraph in paragraphs for e in paragraph):
            fields = TAGS.get(element.get("tag")) if isinstance(element, dict) else None
            if fields is None or not all(isinstance(element.get(f), str) for f in fields):
                return False
    return True


def _words(message: dict[str, Any]) -> str:
    """The text keywords are looked for in: texts and titles, not link targets."""
    content = message["content"]
    if message["msg_type"] == "text":
        return content["text"]
    found = []
    for language in content["post"].values():
        found.append(language.get("title", ""))
        found.extend(e.get("text", "") for paragraph in language["content"] for e in paragraph)
    return "\n".join(found)


def _error(code: int, words: str) -> Response:
    return json_response({"code": code, "data": {}, "msg": words})
