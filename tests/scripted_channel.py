"""A channel kind whose answers a test scripts: it lets the dispatcher meet every kind of outcome."""

from __future__ import annotations

from typing import Any, ClassVar

from planner.channel_api import (
    Capabilities,
    ChannelKind,
    Limits,
    Message,
    PostContent,
    Receipt,
)


class ScriptedChannel(ChannelKind):
    name = "scripted"
    label = "Scripted (tests)"
    limits = Limits(per_minute=600)
    capabilities = Capabilities(idempotency_key=False, remote_url=True)
    script: ClassVar[list[Exception | Receipt]] = []  # a plugin bug raises any exception
    sent: ClassVar[list[tuple[str, str]]] = []
    parts: ClassVar[int] = 1

    def render(self, post: PostContent) -> list[Message]:
        return [Message(text=f"({n}/{self.parts}) {post.body}", title=post.title, part=n,
                        parts=self.parts) for n in range(1, self.parts + 1)]

    def send(self, message: Message, http: Any, idempotency_key: str) -> Receipt:
        answer = self.script.pop(0) if self.script else Receipt("1", "https://example.test/1")
        if isinstance(answer, Exception):
            raise answer
        self.sent.append((idempotency_key, message.text))
        return answer


class ConfirmingChannel(ScriptedChannel):
    """Like a forum with ``external_id``: it can be asked whether a key was published."""

    name = "confirming"
    capabilities = Capabilities(confirmable=True, remote_url=True)
    published: ClassVar[dict[str, Receipt]] = {}
    asked: ClassVar[list[str]] = []

    def confirm(self, message: Message, http: Any, idempotency_key: str) -> Receipt | None:
        self.asked.append(idempotency_key)
        return self.published.get(idempotency_key)
