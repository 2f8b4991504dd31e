"""A fake Mastodon instance: ``POST /api/v1/statuses`` and ``GET /api/v1/accounts/verify_credentials``.

As the contract says: a bearer token; 422 over ``max_characters`` with every URL counted as 23; an
``Idempotency-Key`` seen within an hour answers with the status it created; after ``statuses_limit``
statuses a 429 with an ISO 8601 ``X-RateLimit-Reset``. A status the fake creates but whose answer it
then swallows (``lose_answers``) models a response lost on the way back.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.server import json_response

TOKEN = "mastodon-test-token"
URL = re.compile(r"https?://[^\s<>()\[\]\"']+")
IDEMPOTENCY_SECONDS = 3600


def server_length(text: str) -> int:
    """Characters as the server counts them: a linked URL is 23 whatever its length."""
    def weight(match: re.Match[str]) -> str:
        url = match.group(0).rstrip(".,;:!?")
        return "x" * 23 + match.group(0)[len(url):]
    return len(URL.sub(weight, text))


@dataclass
class FakeMastodon:
    host: str = "https://mastodon.example"
    token: str = TOKEN
    max_characters: int = 500
    statuses_limit: int = 300  # per window, per account
    window: float = 3 * 3600
    clock: Callable[[], float] = time.time
    statuses: list[dict[str, Any]] = field(default_factory=list)
    answers: list[Response] = field(default_factory=list)  # forced answers, served first
    lose_answers: int = 0  # create the next N statuses but answer 502, as if the answer were lost
    _keys: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    _window_start: float | None = None
    _in_window: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Request) -> Response:
        if self.answers:
            return self.answers.pop(0)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return json_response({"error": "The access token is invalid"}, 401)
        if request.method == "GET" and request.path == "/api/v1/accounts/verify_credentials":
            return json_response({"id": "1", "username": "planner", "acct": "planner"})
        if request.method == "POST" and request.path == "/api/v1/statuses":
            with self._lock:
                return self._post(request)
        return json_response({"error": "Record not found"}, 404)

    def _post(self, request: Request) -> Response:
        now = self.clock()
        key = request.headers.get("Idempotency-Key")
        if key and key in self._keys and now - self._keys[key][0] < IDEMPOTENCY_SECONDS:
            return self._answer(self._keys[key][1])
        params = json.loads(request.get_data() or b"{}")
        text = str(params.get("status") or "")
        if not text.strip():
            return json_response({"error": "Validation failed: Text can't be blank"}, 422)
        if server_length(text) > self.max_characters:
            return json_response({"error": "Validation failed: Text character limit of "
                                           f"{self.max_characters} exceeded"}, 422)
        if params.get("visibility", "public") not in ("public", "unlisted", "private", "direct"):
            return json_response({"error": "Validation failed: Visibility is not included in "
                                           "the list"}, 422)
        if self._window_start is None or now - self._window_start >= self.window:
            self._window_start, self._in_window = now, 0
        if self._in_window >= self.statuses_limit:
            reset = datetime.fromtimestamp(self._window_start + self.window, UTC)
            return json_response({"error": "Too many requests"}, 429, headers=self._limit_headers(
                0, reset))
        self._in_window += 1
        status_id = str(111234567890123456 + len(self.statuses))
        status = {
            "id": status_id, "created_at": datetime.fromtimestamp(now, UTC).isoformat(),
            "visibility": params.get("visibility", "public"),
            "url": f"{self.host}/@planner/{status_id}",
            "uri": f"{self.host}/users/planner/statuses/{status_id}",
            "content": f"<p>{text}</p>", "text": text,
        }
        self.statuses.append(status)
        if key:
            self._keys[key] = (now, status)
        return self._answer(status)

    def _answer(self, status: dict[str, Any]) -> Response:
        if self.lose_answers:
            self.lose_answers -= 1
            return Response("<html>502 Bad Gateway</html>", status=502)
        reset = datetime.fromtimestamp((self._window_start or self.clock()) + self.window, UTC)
        return json_response(status, headers=self._limit_headers(
            self.statuses_limit - self._in_window, reset))

    def _limit_headers(self, remaining: int, reset: datetime) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.statuses_limit),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
