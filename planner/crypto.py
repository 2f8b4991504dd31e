"""Encryption of channel secrets at rest, with a key from the environment or the instance folder.

Keys are Fernet keys. ``PLANNER_ENCRYPTION_KEY`` may list several, comma-separated: the first encrypts,
every one decrypts — that is how a key is rotated when it comes from the environment. A key from the
instance folder is rotated by ``planner keys rotate``, which writes the new key to
``encryption_key.next`` before it re-encrypts anything and moves it over ``encryption_key`` once the
database has committed. While ``encryption_key.next`` exists both keys decrypt, and a running process
notices a changed key file by itself, so the web app and the dispatcher keep working through a
rotation without a restart.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEY_FILE = "encryption_key"
NEXT_KEY_FILE = "encryption_key.next"


def parse_keys(value: str | bytes) -> list[bytes]:
    raw = value.decode() if isinstance(value, bytes) else value
    keys = [part.strip().encode() for part in raw.split(",") if part.strip()]
    if not keys:
        raise ValueError("no encryption key given")
    return keys


class SecretBox:
    def __init__(self, key: str | bytes, instance_path: Path | None = None) -> None:
        """``key``: one key or several comma-separated; ``instance_path``: follow its key files."""
        self._instance_path = instance_path
        self._stamp = _stamp(instance_path) if instance_path else None
        self._use(parse_keys(key))

    def _use(self, keys: list[bytes]) -> None:
        self.keys = keys
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    @classmethod
    def for_instance(cls, instance_path: Path, env_key: str | None = None) -> SecretBox:
        if env_key:
            return cls(env_key)
        path = instance_path / KEY_FILE
        if not path.exists():
            instance_path.mkdir(parents=True, exist_ok=True)
            try:
                write_key_file(path, Fernet.generate_key())
            except FileExistsError:
                pass
        return cls(b",".join(instance_keys(instance_path)), instance_path)

    def _follow_key_files(self) -> None:
        if self._instance_path is None:
            return
        stamp = _stamp(self._instance_path)
        if stamp != self._stamp:
            self._stamp = stamp
            self._use(instance_keys(self._instance_path))

    def seal(self, values: dict[str, Any]) -> str:
        self._follow_key_files()
        return self._fernet.encrypt(json.dumps(values).encode()).decode()

    def open(self, sealed: str | None) -> dict[str, Any]:
        if not sealed:
            return {}
        self._follow_key_files()
        try:
            return json.loads(self._fernet.decrypt(sealed.encode()))
        except InvalidToken as error:
            raise RuntimeError("channel secrets cannot be decrypted with this instance's key") from error


def instance_keys(instance_path: Path) -> list[bytes]:
    """The keys in the instance folder: the current one (it encrypts), then a rotation's next key."""
    keys = []
    for name in (KEY_FILE, NEXT_KEY_FILE):
        try:
            keys.append((instance_path / name).read_bytes().strip())
        except FileNotFoundError:
            continue
    return keys


def write_key_file(path: Path, key: bytes) -> None:
    """Create a key file readable by its owner only; never replaces an existing one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)


def _stamp(instance_path: Path) -> tuple[tuple[int, int] | None, ...]:
    stamps = []
    for name in (NEXT_KEY_FILE, KEY_FILE):
        try:
            info = os.stat(instance_path / name)
        except FileNotFoundError:
            stamps.append(None)
        else:
            stamps.append((info.st_ino, info.st_mtime_ns))
    return tuple(stamps)


def token_digest(token: str) -> str:
    """What is stored of a random token (API token, calendar or booking link): its SHA-256, so the
    token itself is never kept and a stored one is found by an indexed equality."""
    return hashlib.sha256(token.encode()).hexdigest()
