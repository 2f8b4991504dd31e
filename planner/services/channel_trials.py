"""Trying a channel out: checking its credentials, posting a test message, and keeping its secrets
out of what comes back. Call these with no transaction open, they talk to the platform. Whatever a
plugin raises is turned into a ChannelError whose text carries no secret of the channel, and the
same redaction serves the worker when it records a failed delivery.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask_babel import gettext
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from planner.channel_api import (
    ChannelContext,
    ChannelError,
    ChannelKind,
    OutcomeUnknownError,
    PermanentError,
    PostContent,
    Receipt,
    RenderError,
    RetryableError,
    ThrottledError,
)
from planner.crypto import SecretBox
from planner.errors import Conflict
from planner.models import Channel, User
from planner.registry import Registry
from planner.services import audit
from planner.services.channels import build_kind

log = logging.getLogger(__name__)

ERROR_FAMILIES = (ThrottledError, RetryableError, PermanentError, OutcomeUnknownError)


def can_check(kind: type[ChannelKind]) -> bool:
    """Whether the kind overrides ``check``: the default validates nothing."""
    return kind.check is not ChannelKind.check


def check_channel(channel: Channel, registry: Registry, box: SecretBox, context: ChannelContext,
                  http: Any) -> bool:
    """Validate the credentials without posting. False when the kind has no way to do that."""
    kind = build_kind(channel, registry, box, context)
    if not can_check(type(kind)):
        return False
    with _redacting(channel, box, "credential check"):
        kind.check(http)
    return True


def send_test_message(channel: Channel, registry: Registry, box: SecretBox,
                      context: ChannelContext, http: Any) -> Receipt:
    """Post a short, visible test message with the kind's own renderer, under a fresh key."""
    kind = build_kind(channel, registry, box, context)
    key = f"planner-test-{channel.id}-{uuid.uuid4().hex[:16]}"
    post = PostContent(
        kind="announcement",
        # Unique, because forums refuse a title they have seen; 15 to 32 characters suit them all.
        title=gettext("planner test message %(code)s", code=key[-6:]),
        body=gettext("This is a **test message** for the channel “%(name)s”. If you can read it, "
                     "planner can publish here; you may delete it.", name=channel.name),
    )
    receipt: Receipt | None = None
    with _redacting(channel, box, "test message"):
        try:
            messages = kind.render(post)
        except RenderError as error:
            raise PermanentError(f"the test message cannot be shown on this channel: {error}") from None
        for number, message in enumerate(messages, start=1):
            sent = kind.send(message, http, key if len(messages) == 1 else f"{key}-p{number}")
            receipt = receipt or sent
    return receipt or Receipt()


@dataclass(frozen=True)
class TryResult:
    action: str  # "check" or "message"
    checked: bool = True  # False: the kind cannot check credentials without posting
    receipt: Receipt | None = None
    error: ChannelError | None = None  # its message is redacted

    @property
    def ok(self) -> bool:
        return self.error is None


def try_channel(session: Session, registry: Registry, box: SecretBox, channel: Channel,
                action: str, *, context: ChannelContext, http: Any, actor: User | str,
                now: datetime) -> TryResult:
    """Check the credentials (``check``) or post a test message (``message``), and audit it.

    The session's transaction is committed first: no database lock may be held while a slow
    platform answers. The audit row is added afterwards; the caller commits it.
    """
    if channel.kind not in registry:
        raise Conflict(_("channel kind %(kind)r is not installed", kind=channel.kind))
    session.commit()
    try:
        if action == "check":
            result = TryResult(action, checked=check_channel(channel, registry, box, context, http))
        else:
            result = TryResult(action, receipt=send_test_message(channel, registry, box, context,
                                                                 http))
    except ChannelError as error:
        result = TryResult(action, error=error)
    outcome = ("failed" if result.error else "sent" if action == "message"
               else "valid" if result.checked else "not_supported")
    audit.record(session, at=now, actor=actor, action="channel.test", subject_type="channel",
                 subject_id=channel.id, test=action, outcome=outcome,
                 error=result.error.message if result.error else None,
                 remote_id=result.receipt.remote_id if result.receipt else None,
                 remote_url=result.receipt.remote_url if result.receipt else None)
    return result


@contextmanager
def _redacting(channel: Channel, box: SecretBox, what: str) -> Iterator[None]:
    """Turn what a plugin raises into a ChannelError whose text carries no secret of this channel."""
    secrets = secret_fragments(box.open(channel.secrets_encrypted))
    try:
        yield
    except ChannelError as error:
        family = next((c for c in ERROR_FAMILIES if isinstance(error, c)), ChannelError)
        clean = family(redact(error.message, secrets), retry_after=error.retry_after)
    except Exception as error:  # a plugin bug: whether anything was posted is unknown
        clean = OutcomeUnknownError(redact(f"unexpected error: {type(error).__name__}: {error}",
                                           secrets))
    else:
        return
    log.warning("%s %s failed: %s: %s", channel.kind, what, type(clean).__name__, clean.message)
    raise clean from None


def redact(text: str, secrets: list[str]) -> str:
    for value in secrets:
        text = text.replace(value, "••••")
    return text


def secret_fragments(secrets: dict[str, Any]) -> list[str]:
    """Each secret value, and the parts of a secret URL that carry a key (query values, long path
    segments), longest first so a whole URL is replaced before its pieces."""
    found: set[str] = set()
    for value in secrets.values():
        if not isinstance(value, str) or len(value) < 4:
            continue
        found.add(value)
        parts = urlsplit(value)
        if parts.scheme and parts.netloc:
            found.update(v for _k, v in parse_qsl(parts.query) if len(v) >= 6)
            found.update(s for s in parts.path.split("/") if len(s) >= 16)
    return sorted(found, key=len, reverse=True)
