"""A fake Telegram Bot API: ``getMe``, ``getChat`` and ``sendMessage`` in HTML parse mode.

It behaves as the contract says: the HTTP status equals ``error_code``; the text must be valid HTML
of the tags Telegram accepts and at most 4096 characters once the markup is parsed; a group takes
``per_minute`` messages a minute, then answers 429 with ``parameters.retry_after``.
"""

from __future__ import annotations

import html
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.server import json_response

TOKEN = "123456:TEST-secret-token"
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                "blockquote", "tg-spoiler", "span"}
TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-z-]+=\"[^\"]*\")*)\s*>")
ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


class ParseError(ValueError):
    pass


def visible_text(text: str) -> str:
    """The text Telegram shows for an HTML-mode message; ParseError where Telegram would refuse."""
    shown: list[str] = []
    open_tags: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "<":
            match = TAG.match(text, position)
            if not match:
                raise ParseError(f"unexpected '<' at byte offset {position}")
            closing, name = match.group(1), match.group(2).lower()
            if name not in ALLOWED_TAGS:
                raise ParseError(f'Unsupported start tag "{name}" at byte offset {position}')
            if closing:
                if not open_tags or open_tags.pop() != name:
                    raise ParseError(f'Unmatched end tag at byte offset {position}, expected '
                                     f'"</{open_tags[-1] if open_tags else ""}>"')
            else:
                open_tags.append(name)
            position = match.end()
        elif char == "&":
            match = ENTITY.match(text, position)
            if not match:
                raise ParseError(f"Unsupported HTML entity at byte offset {position}")
            shown.append(html.unescape(match.group(0)))
            position = match.end()
        else:
            shown.append(char)
            position += 1
    if open_tags:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return "".join(shown)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Chat:
    id: int
    title: str
    type: str = "supergroup"
    username: str | None = None


@dataclass
class FakeTelegram:
    """Call it with a request; ``sent`` holds what each chat received."""

    token: str = TOKEN
    per_minute: int = 20
    clock: Callable[[], float] = time.monotonic
    chats: dict[int, Chat] = field(default_factory=lambda: {
        -1001234567890: Chat(-1001234567890, "Python learners"),
        -1009876543210: Chat(-1009876543210, "Rust 学习群", username="rustlearners"),
    })
    kicked: set[int] = field(default_factory=set)
    migrated: dict[int, int] = field(default_factory=dict)  # old group id -> supergroup id
    answers: list[Response] = field(default_factory=list)  # forced answers, served first
    sent: list[tuple[int, str]] = field(default_factory=list)
    _times: dict[int, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Request) -> Response:
        match = re.fullmatch(r"/bot([^/]+)/(\w+)", request.path)
        if not match:
            return error(404, "Not Found")
        token, method = match.group(1), match.group(2).lower()
        if token != self.token:
            return error(401, "Unauthorized")
        if self.answers:
            return self.answers.pop(0)
        payload = json.loads(request.get_data() or b"{}")
        if method == "getme":
            return ok({"id": 123456, "is_bot": True, "first_name": "Planner", "username": "planner_bot"})
        if method == "getchat":
            chat = self._chat(payload.get("chat_id"))
            return ok(self._chat_json(chat)) if isinstance(chat, Chat) else chat
        if method == "sendmessage":
            with self._lock:
                return self._send(payload)
        return error(404, "Not Found: method not found")

    def _chat(self, chat_id: Any) -> Chat | Response:
        if isinstance(chat_id, int) and chat_id in self.migrated:
            return error(400, "Bad Request: group chat was upgraded to a supergroup chat",
                         {"migrate_to_chat_id": self.migrated[chat_id]})
        for chat in self.chats.values():
            if chat_id == chat.id or (chat.username and chat_id == f"@{chat.username}"):
                if chat.id in self.kicked:
                    return error(403, "Forbidden: bot was kicked from the supergroup chat")
                return chat
        return error(400, "Bad Request: chat not found")

    def _send(self, payload: dict[str, Any]) -> Response:
        chat = self._chat(payload.get("chat_id"))
        if not isinstance(chat, Chat):
            return chat
        if payload.get("parse_mode") != "HTML":
            return error(400, "Bad Request: this fake only speaks HTML parse mode")
        try:
            text = visible_text(str(payload.get("text", "")))
        except ParseError as problem:
            return error(400, f"Bad Request: can't parse entities: {problem}")
        if not text.strip():
            return error(400, "Bad Request: message text is empty")
        if utf16_length(text) > 4096:
            return error(400, "Bad Request: message is too long")
        now = self.clock()
        times = self._times.setdefault(chat.id, deque())
        while times and now - times[0] >= 60:
            times.popleft()
        if len(times) >= self.per_minute:
            wait = max(1, math.ceil(60 - (now - times[0])))
            return error(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        times.append(now)
        self.sent.append((chat.id, payload["text"]))
        return ok({"message_id": len(self.sent) + 320, "chat": self._chat_json(chat),
                   "date": int(time.time()), "text": text})

    @staticmethod
    def _chat_json(chat: Chat) -> dict[str, Any]:
        data: dict[str, Any] = {"id": chat.id, "title": chat.title, "type": chat.type}
        if chat.username:
            data["username"] = chat.username
        return data


def ok(result: Any) -> Response:
    return json_response({"ok": True, "result": result})


def error(code: int, description: str, parameters: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return json_response(body, status=code)
