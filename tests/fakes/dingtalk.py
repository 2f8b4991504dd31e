"""A DingTalk custom-robot webhook that behaves as the contract says.

HTTP 200 with an ``errcode`` envelope for everything: 43002 for anything but POST, 40035 without an
access token, 300005 for an unknown one, 43004 for a body that is not JSON, 310000 when a robot with a
secret gets a missing or wrong ``sign`` ("sign not match") or a ``timestamp`` more than an hour off
("invalid timestamp"), or when its keywords are missing, 460101 for a body over 20000 bytes, 400105
for an unsupported message type, and 130101 from the 21st request within a minute, after which the
robot stays throttled for 10 minutes. Tests can queue answers in ``script`` and read accepted
messages in ``messages`` and the raw query strings in ``queries``.
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

TOKEN = "abc123"
PATH = "/robot/send"
BODY_LIMIT = 20_000
COOL_DOWN = 600


@dataclass
class FakeDingTalk:
    tokens: set[str] = field(default_factory=lambda: {TOKEN})
    secret: str = ""
    keywords: tuple[str, ...] = ()
    per_minute: int = 20
    clock: Callable[[], float] = time.time
    script: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    _seen: list[float] = field(default_factory=list)
    _throttled_until: float = 0.0

    def __call__(self, request: Request) -> Response:
        if request.path != PATH:
            return Response("not found", status=404)
        self.queries.append(request.query_string.decode("ascii"))
        if request.method != "POST":
            return _error(43002, "需要POST请求")
        token = request.args.get("access_token")
        if not token:
            return _error(40035, "缺少参数 access_token")
        if token not in self.tokens:
            return _error(300005, "token is not exist")
        if self._throttled():
            return _error(130101, "send too fast, exceed 20 times per minute")
        if self.script:
            return json_response(self.script.pop(0))
        if not request.content_type.startswith("application/json"):
            return _error(43004, "无效的HTTP HEADER Content-Type")
        if self.secret:
            refusal = self._signature_refusal(request)
            if refusal:
                return _error(310000, refusal)
        body = request.get_data()
        try:
            message = json.loads(body.decode("utf-8"))
        except ValueError:
            return _error(43004, "invalid json")
        if len(body) > BODY_LIMIT:
            return _error(460101, f"message too long, exceed {BODY_LIMIT} bytes")
        if not _well_formed(message):
            return _error(400105, "不支持的消息类型")
        if self.keywords and not any(word in _words(message) for word in self.keywords):
            return _error(310000, "keywords not in content")
        self.messages.append(message)
        return json_response({"errcode": 0, "errmsg": "ok"})

    def _throttled(self) -> bool:
        now = self.clock()
        if now < self._throttled_until:
            return True
        self._seen = [t for t in self._seen if now - t < 60] + [now]
        if len(self._seen) > self.per_minute:
            self._throttled_until = now + COOL_DOWN
            return True
        return False

    def _signature_refusal(self, request: Request) -> str | None:
        timestamp = request.args.get("timestamp", "")
        if not timestamp.isdigit() or abs(self.clock() * 1000 - int(timestamp)) > 3_600_000:
            return "invalid timestamp"
        string_to_sign = f"{timestamp}\n{self.secret}".encode()
        digest = hmac.new(self.secret.encode(), string_to_sign, hashlib.sha256).digest()
        expected = base64.b64encode(digest).decode()
        if not hmac.compare_digest(expected, request.args.get("sign", "")):  # args are URL-decoded
            return "sign not match"
        return None


def _well_formed(message: Any) -> bool:
    if not isinstance(message, dict):
        return False
    if message.get("msgtype") == "text":
        return isinstance((message.get("text") or {}).get("content"), str)
    if message.get("msgtype") == "markdown":
        markdown = message.get("markdown") or {}
        return all(isinstance(markdown.get(f), str) and markdown[f] for f in ("title", "text"))
    return False


def _words(message: dict[str, Any]) -> str:
    if message["msgtype"] == "text":
        return message["text"]["content"]
    return message["markdown"]["title"] + "\n" + message["markdown"]["text"]


def _error(code: int, words: str) -> Response:
    return json_response({"errcode": code, "errmsg": words})
