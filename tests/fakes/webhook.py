"""A fake Standard Webhooks receiver: it verifies every signature and drops duplicate ``webhook-id``s.

Verification is written here independently of the channel, as a consumer would: constant-time
comparison against each ``v1`` entry, and timestamps at most five minutes old or ahead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.server import json_response

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the reference library's test secret
TOLERANCE = 5 * 60


class Unverified(ValueError):
    pass


def verify(secret: str, headers: dict[str, str], body: bytes, now: float) -> str:
    """The message id of a correctly signed, fresh request; Unverified otherwise."""
    try:
        message_id = headers["webhook-id"]
        timestamp = headers["webhook-timestamp"]
        signatures = headers["webhook-signature"]
    except KeyError as missing:
        raise Unverified(f"missing header {missing}") from None
    if not timestamp.isdigit() or abs(now - int(timestamp)) > TOLERANCE:
        raise Unverified("timestamp too old or too new")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for entry in signatures.split(" "):
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return message_id
    raise Unverified("no matching signature")


@dataclass
class FakeReceiver:
    secret: str = SECRET
    clock: Callable[[], float] = time.time
    answers: list[Response] = field(default_factory=list)  # forced answers, served first
    lose_answers: int = 0  # accept the next N events but answer 504, as if the answer were lost
    events: list[dict[str, Any]] = field(default_factory=list)  # each accepted event, once
    duplicates: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Request) -> Response:
        if self.answers:
            return self.answers.pop(0)
        body = request.get_data()
        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            message_id = verify(self.secret, headers, body, self.clock())
        except Unverified as problem:
            self.rejected.append(str(problem))
            return json_response({"error": str(problem)}, 401)
        with self._lock:
            if message_id in {event["id"] for event in self.events}:
                self.duplicates.append(message_id)
            else:
                self.events.append({"id": message_id, **json.loads(body)})
            if self.lose_answers:
                self.lose_answers -= 1
                return Response("<html>504 Gateway Timeout</html>", status=504)
        return Response(status=204)
