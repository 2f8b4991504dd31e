"""``outbox``: writes each delivery to a file in the instance folder instead of a platform.

Used by the demo workspace and for dry runs. The file is named after the idempotency key, so sending
the same delivery twice leaves one file: like the platforms that deduplicate, it never publishes twice.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from planner.channel_api import (
    Capabilities,
    ChannelKind,
    Limits,
    Message,
    PostContent,
    Receipt,
    RetryableError,
)
from planner.channel_api import translatable as _l

FOLDER = "outbox"


class OutboxChannel(ChannelKind):
    name = "outbox"
    label = _l("Outbox (files in the instance folder)")
    limits = Limits(max_length=None, unit="characters", per_minute=600)
    capabilities = Capabilities(idempotency_key=True, remote_url=False, titles=True)
    render_settings = ()

    def render(self, post: PostContent) -> list[Message]:
        return [Message(text=post.body, title=post.title or None, format="markdown")]

    def send(self, message: Message, http: Any, idempotency_key: str) -> Receipt:
        folder = self.context.instance_path / FOLDER
        path = folder / f"{_safe(idempotency_key)}.json"
        record = {
            "idempotency_key": idempotency_key,
            "written_at": datetime.now(UTC).isoformat(),
            "message": asdict(message),
        }
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as error:
            raise RetryableError(f"could not write {path.name}: {error.strerror}") from error
        return Receipt(remote_id=path.name)


@dataclass(frozen=True)
class OutboxEntry:
    file: str
    idempotency_key: str
    written_at: str
    title: str | None
    text: str


def read_outbox(instance_path: Path, limit: int = 200) -> list[OutboxEntry]:
    """What the outbox "sent", newest first."""
    folder = instance_path / FOLDER
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)[:limit]
    entries = []
    for path in files:
        record = json.loads(path.read_text(encoding="utf-8"))
        message = record["message"]
        entries.append(
            OutboxEntry(
                file=path.name,
                idempotency_key=record["idempotency_key"],
                written_at=record["written_at"],
                title=message.get("title"),
                text=message["text"],
            )
        )
    return entries


def _safe(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in key)
