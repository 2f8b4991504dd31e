"""Configuration: defaults, then the instance config file, then ``PLANNER_*`` environment variables."""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # defaults to SQLite in the instance folder
    "TIMEZONE": "Asia/Shanghai",
    "COMMUNITY_NAME": "Our community",
    "ON_TIME_TOLERANCE_MINUTES": 5,
    "FETCH_ALLOWLIST": "",
    "FEED_POLL_SECONDS": 60,
    "FEED_POLL_CONCURRENCY": 4,
    "FEED_MIN_INTERVAL_MINUTES": 15,
    "FEED_MAX_INTERVAL_MINUTES": 1440,
    "FEED_MAX_FAILURES": 8,
    "FEED_MAX_BYTES": 5 * 1024 * 1024,
    "FEED_FIRST_POLL_KEEP": 10,
    "FEED_SHARE_SCHEDULE": "mon-fri 12:00 18:00",
    "ALLOW_SELF_APPROVAL": False,
    "DISPATCH_INTERVAL_SECONDS": 5,
    "DISPATCH_BATCH_SIZE": 50,
    "DISPATCH_CONCURRENCY": 8,
    "LEASE_SECONDS": 120,
    "HEARTBEAT_STALE_SECONDS": 60,
    "MAX_ATTEMPTS": 8,
    "SERIES_HORIZON_DAYS": 14,
    "HTTP_CONNECT_TIMEOUT": 5.0,
    "HTTP_READ_TIMEOUT": 20.0,
    "IMPORT_MAX_BYTES": 1024 * 1024,
    "IMPORT_MAX_ROWS": 500,
    "BABEL_DEFAULT_LOCALE": "en",
    "LANGUAGES": ["en", "zh_Hans_CN"],
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "LOGIN_FAILURE_LIMIT": 5,
    "LOGIN_FAILURE_LIMIT_PER_ADDRESS": 20,
    "LOGIN_FAILURE_WINDOW_SECONDS": 900,
    "TRUSTED_PROXIES": 0,
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "text",
    "WTF_CSRF_TIME_LIMIT": None,
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "PUBLIC_RATE_LIMIT_WINDOW_SECONDS": 60,
    "PUBLIC_RATE_LIMIT_READS": 120,
    "PUBLIC_RATE_LIMIT_WRITES": 10,
    "SMTP_HOST": "",
    "SMTP_PORT": 25,
    "SMTP_FROM": "planner@localhost",
    "SMTP_USERNAME": "",
    "SMTP_PASSWORD": "",
    "SMTP_STARTTLS": False,
}

# Environment variables whose values are not plain strings.
_BOOLEAN = {"ALLOW_SELF_APPROVAL", "SESSION_COOKIE_SECURE", "SMTP_STARTTLS"}
_LISTS = {"CHANNEL_KINDS"}
_FLOAT = {"HTTP_CONNECT_TIMEOUT", "HTTP_READ_TIMEOUT"}
_INTEGER = {
    "ON_TIME_TOLERANCE_MINUTES",
    "FEED_POLL_SECONDS",
    "FEED_POLL_CONCURRENCY",
    "FEED_MIN_INTERVAL_MINUTES",
    "FEED_MAX_INTERVAL_MINUTES",
    "FEED_MAX_FAILURES",
    "FEED_MAX_BYTES",
    "FEED_FIRST_POLL_KEEP",
    "DISPATCH_INTERVAL_SECONDS",
    "DISPATCH_BATCH_SIZE",
    "DISPATCH_CONCURRENCY",
    "LEASE_SECONDS",
    "HEARTBEAT_STALE_SECONDS",
    "MAX_ATTEMPTS",
    "IMPORT_MAX_BYTES",
    "IMPORT_MAX_ROWS",
    "PUBLIC_RATE_LIMIT_WINDOW_SECONDS",
    "PUBLIC_RATE_LIMIT_READS",
    "PUBLIC_RATE_LIMIT_WRITES",
    "SMTP_PORT",
    "SERIES_HORIZON_DAYS",
    "LOGIN_FAILURE_LIMIT",
    "LOGIN_FAILURE_LIMIT_PER_ADDRESS",
    "LOGIN_FAILURE_WINDOW_SECONDS",
    "TRUSTED_PROXIES",
}


def instance_path_from_env(default: str | os.PathLike[str]) -> Path:
    return Path(os.environ.get("PLANNER_INSTANCE_PATH") or default).resolve()


def load(instance_path: Path, environ: os._Environ[str] | dict[str, str] = os.environ) -> dict[str, Any]:
    """Merge the three sources of configuration, lowest priority first."""
    config = dict(DEFAULTS)
    config.update(_read_instance_file(instance_path))
    for key, raw in environ.items():
        if key.startswith("PLANNER_") and key != "PLANNER_INSTANCE_PATH":
            config[key.removeprefix("PLANNER_")] = _coerce(key.removeprefix("PLANNER_"), raw)
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{instance_path / 'planner.sqlite3'}"
    return config


def _read_instance_file(instance_path: Path) -> dict[str, Any]:
    path = instance_path / "config.toml"
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return {key.upper(): value for key, value in data.items()}


def _coerce(key: str, raw: str) -> Any:
    if key in _LISTS:
        return [item.strip() for item in raw.split(",") if item.strip()]
    if key in _BOOLEAN:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if key in _INTEGER:
        return int(raw)
    if key in _FLOAT:
        return float(raw)
    return raw


def secret_key(instance_path: Path) -> str:
    """Return the instance's secret key, generating it once with owner-only permissions."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process wrote it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
