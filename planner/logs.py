"""Logging for the ``planner`` processes: one line per event, and nothing that carries a secret.

Every line names the request it belongs to (``request_id``, ``-`` outside a request), in plain text
or, with ``LOG_FORMAT = "json"``, as one JSON object per line for a log collector.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar
from pathlib import Path
from typing import IO, Any

from planner import config as configuration

request_id: ContextVar[str] = ContextVar("request_id", default="-")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# Fields the access log adds to its records; the JSON format writes them out as keys.
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "user_id")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        entry.update({key: getattr(record, key) for key in ACCESS_FIELDS if hasattr(record, key)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def handler(stream: IO[str], fmt: str = "text") -> logging.Handler:
    """A handler writing ``fmt`` ("text" or "json") lines, each with its request id."""
    result = logging.StreamHandler(stream)
    result.addFilter(RequestIdFilter())
    result.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    return result


QUIET = {
    # urllib3 logs request lines at DEBUG, and platform URLs can carry keys and tokens.
    "urllib3": logging.WARNING,
    # The development server logs each request line with its query string, which can carry a
    # token: planner's own access line (planner.access) replaces it.
    "werkzeug": logging.WARNING,
    # APScheduler announces every tick at INFO, and warns when it skips a tick because the last
    # one is still sending (the dispatcher then carries on by itself): what matters, the
    # dispatcher reports itself.
    "apscheduler": logging.ERROR,
    # Alembic lists its plugins and dialect details on every upgrade; the revisions it runs remain.
    "alembic.runtime.plugins": logging.WARNING,
}


def configure(settings: dict[str, Any] | None = None) -> None:
    """Log to standard error as the configuration (``LOG_LEVEL``, ``LOG_FORMAT``) says."""
    if settings is None:
        settings = configuration.load(configuration.instance_path_from_env(Path.cwd() / "instance"))
    fmt = str(settings.get("LOG_FORMAT") or "text").lower()
    if fmt not in ("text", "json"):
        raise ValueError(f"LOG_FORMAT must be 'text' or 'json', not {fmt!r}")
    logging.basicConfig(level=str(settings.get("LOG_LEVEL") or "INFO").upper(),
                        handlers=[handler(sys.stderr, fmt)])
    for name, level in QUIET.items():
        logging.getLogger(name).setLevel(level)
