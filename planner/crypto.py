"""Encryption of channel secrets at rest, with a key from the environment or the instance folder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    def __init__(self, key: str | bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def for_instance(cls, instance_path: Path, env_key: str | None = None) -> SecretBox:
        if env_key:
            return cls(env_key)
        path = instance_path / "encryption_key"
        if not path.exists():
            instance_path.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(Fernet.generate_key())
        return cls(path.read_bytes().strip())

    def seal(self, values: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(values).encode()).decode()

    def open(self, sealed: str | None) -> dict[str, Any]:
        if not sealed:
            return {}
        try:
            return json.loads(self._fernet.decrypt(sealed.encode()))
        except InvalidToken as error:
            raise RuntimeError("channel secrets cannot be decrypted with this instance's key") from error
