"""The process-wide caches of the wechat_mp kind: a kind is built per delivery, but the account's
stable access token and the media id of its cover image are shared by every delivery in the process
until they expire or the platform refuses them, rather than fetched and uploaded again for each
message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SharedCache:
    """Values shared by every instance in the process (a kind is built per delivery), with expiry."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self.now = now
        self._lock = threading.Lock()
        self._values: dict[tuple[str, str], tuple[str, float]] = {}

    def get(self, key: tuple[str, str]) -> str | None:
        with self._lock:
            value, expires_at = self._values.get(key, ("", 0.0))
            return value if value and expires_at > self.now() else None

    def put(self, key: tuple[str, str], value: str, ttl: float = float("inf")) -> None:
        with self._lock:
            self._values[key] = (value, self.now() + ttl)

    def forget(self, key: tuple[str, str], value: str) -> None:
        """Drop ``value`` unless another thread already replaced it."""
        with self._lock:
            if self._values.get(key, ("",))[0] == value:
                del self._values[key]

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


TOKENS = SharedCache()
COVERS = SharedCache()
