"""Turning claimed deliveries into sends: the channel's kind with its settings, the rendered messages.

A post that fans out to many channels of one kind is rendered once for each distinct value of the
settings that kind's ``render`` reads (``ChannelKind.render_settings``), and a channel's secrets are
decrypted once a minute at most, not once per delivery.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from planner.channel_api import ChannelContext, ChannelKind, Message, PostContent, RenderError
from planner.models import DeliveryStatus
from planner.services.channel_trials import redact, secret_fragments
from planner.services.delivery_outcomes import Outcome
from planner.state import PlannerState
from planner.worker.claim import Claimed

log = logging.getLogger(__name__)
MAX_CACHED = 4096
SECRETS_KEPT_SECONDS = 60


@dataclass
class Job:
    delivery_id: int
    post_id: int
    attempt_id: int
    key: str
    parts_sent: int
    attempt: int
    gap: float  # seconds between two messages to this target
    secrets: list[str]  # this channel's secret values, kept out of every stored message
    kind: ChannelKind | None  # None when it cannot be sent: ``ready`` says why
    messages: list[Message]
    ready: Outcome | None = None  # an outcome known without sending (not installed, cannot render)


class JobMaker:
    """Builds jobs for one dispatcher; renders are kept for one tick (``new_tick``), decrypted
    secrets for a minute at most."""

    def __init__(self, state: PlannerState) -> None:
        self.state = state
        self.context = ChannelContext(instance_path=state.instance_path,
                                      community_name=state.config["COMMUNITY_NAME"])
        self._secrets: dict[str | None, tuple[dict[str, Any], list[str]]] = {}
        self._secrets_since = time.monotonic()
        self._renders: dict[tuple[Any, ...], list[Message] | str] = {}

    def new_tick(self) -> None:
        self._renders.clear()
        if time.monotonic() - self._secrets_since > SECRETS_KEPT_SECONDS:
            self._secrets.clear()
            self._secrets_since = time.monotonic()

    def make(self, claimed: Claimed) -> Job:
        channel = claimed.channel
        opened, fragments = self._open(channel.secrets_encrypted)
        job = Job(claimed.id, claimed.post.id, claimed.attempt_id, claimed.idempotency_key,
                  claimed.parts_sent, claimed.attempt, channel.gap, fragments, None, [])
        if channel.kind not in self.state.registry:
            job.ready = Outcome(DeliveryStatus.failed,
                                f"channel kind {channel.kind!r} is not installed")
            return job
        kind_class = self.state.registry.get(channel.kind)
        job.kind = kind_class({**channel.settings, **opened}, self.context)
        rendered = self._render(job.kind, claimed)
        if isinstance(rendered, str):
            job.ready = Outcome(DeliveryStatus.failed, redact(rendered, fragments))
        else:
            job.messages = rendered
        return job

    def _open(self, encrypted: str | None) -> tuple[dict[str, Any], list[str]]:
        found = self._secrets.get(encrypted)
        if found is None:
            if len(self._secrets) >= MAX_CACHED:
                self._secrets.clear()
            opened = self.state.secret_box.open(encrypted)
            found = self._secrets[encrypted] = (opened, secret_fragments(opened))
        return found

    def _render(self, kind: ChannelKind, claimed: Claimed) -> list[Message] | str:
        """The messages, or why the post cannot be shown on this channel."""
        post = claimed.post
        names = type(kind).render_settings
        if names is None:  # the kind may read any setting: render for this channel alone
            settings_key: Any = ("channel", claimed.channel.id,
                                 json.dumps(kind.settings, sort_keys=True, default=str))
        else:
            settings_key = tuple(json.dumps(kind.settings.get(name), sort_keys=True, default=str)
                                 for name in names)
        key = (type(kind), settings_key, post.kind, post.title, post.body)
        found = self._renders.get(key)
        if found is None:
            if len(self._renders) >= MAX_CACHED:
                self._renders.clear()
            try:
                found = kind.render(PostContent(kind=post.kind, title=post.title, body=post.body))
            except RenderError as error:
                found = f"cannot be shown on this channel: {error}"
            except Exception as error:  # a plugin bug: nothing was sent
                log.error("delivery %s: channel kind %s failed to render the post: %s",
                          claimed.id, kind.name, redact(repr(error), self._open(
                              claimed.channel.secrets_encrypted)[1]))
                found = f"the channel kind failed to render the post: {error!r}"
            self._renders[key] = found
        return found
