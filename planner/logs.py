"""Logging for the ``planner`` processes: one line per event, and nothing that carries a secret.

Every line names the request it belongs to (``request_id``, ``-`` outside a request), in plain text
or, with ``LOG_FORMAT = "json"``, as one JSON object per line for a log collector.

The code takes care not to log secrets; as a last guard, every planner handler also blanks what looks
like one (tokens and keys in URLs, bearer tokens, bot tokens, signing secrets, planner's API tokens)
and the values the process was told to keep out (its secret key, encryption keys, SMTP password),
in the message and in any traceback, before the line is written.
"""

from __future__ import annotations

import json
import logging
import re
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


REDACTED = "••••"
SECRET_SHAPES = (
    # key=…, access_token=…, sign=…, secret=… in URLs (WeCom, DingTalk, WeChat, signed webhooks)
    re.compile(r"((?:[?&;]|\b)(?:key|access_token|token|secret|appsecret|sign|signature|password|"
               r"api_key)=)[^&\s'\"<>]+", re.IGNORECASE),
    re.compile(r"(\bBearer\s+)[A-Za-z0-9._~+/-]+=*", re.IGNORECASE),  # Authorization headers
    re.compile(r"(['\"]?Api-Key['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+", re.IGNORECASE),  # Discourse
    re.compile(r"(/bot)\d{5,}:[A-Za-z0-9_-]{20,}"),  # Telegram bot tokens in API paths
    re.compile(r"()\b\d{5,}:[A-Za-z0-9_-]{30,}"),  # … and on their own
    re.compile(r"(/hook/)[A-Za-z0-9-]{16,}"),  # Feishu webhook URLs
    re.compile(r"()\bwhsec_[A-Za-z0-9+/=]{8,}"),  # Standard Webhooks signing secrets
    re.compile(r"()\bplnr_[A-Za-z0-9_-]{16,}"),  # planner's own API tokens
    re.compile(r"(/book/manage/)[^/\s?#'\"]+"),  # a guest's booking link: the path is the key
)
_kept_out: set[str] = set()


def keep_out(*values: str | bytes | None) -> None:
    """Never write these values (secret keys, passwords) in a log line from now on."""
    for value in values:
        text = value.decode() if isinstance(value, bytes) else value
        if text and len(text) >= 6:  # shorter ones would blank ordinary words
            _kept_out.add(text)


def redact(text: str) -> str:
    for value in sorted(_kept_out, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    for shape in SECRET_SHAPES:
        text = shape.sub(lambda match: match.group(1) + REDACTED, text)
    return text


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class SecretFilter(logging.Filter):
    """Blank every secret in the record's message and traceback before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        if isinstance(getattr(record, "path", None), str):  # the access log's own field
            record.path = redact(record.path)
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
        if record.exc_info or record.exc_text:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def handler(stream: IO[str], fmt: str = "text") -> logging.Handler:
    """A handler writing ``fmt`` ("text" or "json") lines, each with its request id."""
    result = logging.StreamHandler(stream)
    result.addFilter(RequestIdFilter())
    result.addFilter(SecretFilter())
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
