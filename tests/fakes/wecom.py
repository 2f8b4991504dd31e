"""A WeCom group-robot webhook that behaves as the contract says.

Every answer is HTTP 200 with an ``errcode`` envelope: 93000 for an unknown key, 45009 from the 21st
request of a key within a minute (failed requests count too), 45002 for text over 2048 UTF-8 bytes,
40058 for markdown over 4096 bytes, 40008 for an unknown message type, 44004 for empty text. Tests can
queue answers in ``script`` (e.g. ``{"errcode": -1, "errmsg": "system busy"}``) and read what was
accepted in ``messages``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.server import json_response

KEY = "693a91f6-0000-0000-0000-000000000000"
PATH = "/cgi-bin/webhook/send"
HINT = "hint: [1700000000_1_abcdef], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e="
TEXT_BYTES = 2048
MARKDOWN_BYTES = 4096


@dataclass
class FakeWeCom:
    keys: set[str] = field(default_factory=lambda: {KEY})
    per_minute: int = 20
    clock: Callable[[], float] = time.monotonic
    script: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    _window: dict[str, list[float]] = field(default_factory=dict)

    def __call__(self, request: Request) -> Response:
        if request.path != PATH or request.method != "POST":
            return Response("not found", status=404)
        key = request.args.get("key", "")
        if key not in self.keys:
            return _error(93000, "invalid webhook url")
        if self._over_rate(key):
            return _error(45009, "api freq out of limit")
        if self.script:
            return json_response(self.script.pop(0))
        try:
            message = json.loads(request.get_data().decode("utf-8"))
        except ValueError:
            return _error(40035, "invalid Request Parameter, Warning: wrong json format.")
        refusal = _refusal(message)
        if refusal:
            return refusal
        self.messages.append(message)
        return json_response({"errcode": 0, "errmsg": "ok"})

    def _over_rate(self, key: str) -> bool:
        now = self.clock()
        recent = [t for t in self._window.get(key, []) if now - t < 60] + [now]
        self._window[key] = recent
        return len(recent) > self.per_minute


def _refusal(message: dict[str, Any]) -> Response | None:
    msgtype = message.get("msgtype")
    if msgtype not in ("text", "markdown", "markdown_v2"):
        return _error(40008, "invalid message type")
    content = (message.get(msgtype) or {}).get("content")
    if not isinstance(content, str) or not content:
        return _error(44004, "empty content")
    size = len(content.encode("utf-8"))
    if msgtype == "text" and size > TEXT_BYTES:
        return _error(45002, "content size out of limit")
    if msgtype != "text" and size > MARKDOWN_BYTES:
        return _error(40058, f"{msgtype}.content exceed max length {MARKDOWN_BYTES}. "
                             "invalid Request Parameter")
    return None


def _error(code: int, words: str) -> Response:
    return json_response({"errcode": code, "errmsg": f"{words}, {HINT}{code}"})
