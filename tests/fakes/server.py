"""A real HTTP server on 127.0.0.1 for a fake platform: tests give it a handler and read its log."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[Request], Response]


class FakePlatform:
    """Serves ``handler`` on an ephemeral loopback port and records every request it receives."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self._thread = threading.Thread(target=lambda: self._server.serve_forever(poll_interval=0.05),
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    def start(self) -> FakePlatform:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakePlatform:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _wsgi(self, environ, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        body = request.get_data()
        with self._lock:
            self.requests.append(Recorded(request.method, request.path, dict(request.args),
                                          dict(request.headers), body))
        return self.handler(request)(environ, start_response)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status=status, headers=headers,
                    content_type="application/json; charset=utf-8")
