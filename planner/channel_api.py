"""The contract every channel kind implements, built-in or third-party.

A kind is a class registered under the entry-point group ``planner.channels``. It is constructed with
its channel's settings (secrets already decrypted) and a :class:`ChannelContext`; ``render`` is pure,
``send`` does the I/O through the ``http`` client it is given and raises one of the typed errors below.
Plugins never touch the Flask request or the database session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal


@dataclass(frozen=True)
class Setting:
    name: str
    label: str
    secret: bool = False
    required: bool = True
    default: Any = None
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class Limits:
    max_length: int | None = None
    unit: Literal["bytes", "characters"] = "characters"
    per_minute: int = 20
    max_parts: int = 1  # how many messages one post may be split into


@dataclass(frozen=True)
class Capabilities:
    idempotency_key: bool = False  # the platform deduplicates resends that carry the same key
    confirmable: bool = False  # ``confirm`` can ask the platform whether a key was published
    remote_url: bool = False
    titles: bool = False

    @property
    def safe_to_resend(self) -> bool:
        """A resend after a lost answer cannot publish twice."""
        return self.idempotency_key or self.confirmable


@dataclass(frozen=True)
class ChannelContext:
    """What the host gives a plugin besides its settings."""

    instance_path: Path
    community_name: str = ""


@dataclass(frozen=True)
class PostContent:
    """The part of a post a renderer may look at."""

    kind: str
    title: str
    body: str  # Markdown


@dataclass(frozen=True)
class Message:
    text: str
    title: str | None = None
    format: str = "markdown"
    part: int = 1
    parts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Receipt:
    remote_id: str | None = None
    remote_url: str | None = None


class ChannelError(Exception):
    """Base of the errors ``send`` raises; ``message`` is the platform's own words where it gave some."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class RetryableError(ChannelError):
    """Nothing was published (connect error, 5xx): try again later."""


class ThrottledError(ChannelError):
    """The platform asked us to slow down; ``retry_after`` seconds when it said."""


class PermanentError(ChannelError):
    """The platform refused the message; retrying cannot help."""


class OutcomeUnknownError(ChannelError):
    """The request may or may not have been published (lost response)."""


class RenderError(Exception):
    """The post cannot be shown on this channel (too long, missing title…)."""


class ChannelKind:
    name: ClassVar[str]
    label: ClassVar[str]
    settings_schema: ClassVar[tuple[Setting, ...]] = ()
    limits: ClassVar[Limits] = Limits()
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, settings: dict[str, Any], context: ChannelContext) -> None:
        self.settings = settings
        self.context = context

    @classmethod
    def capabilities_for(cls, settings: dict[str, Any]) -> Capabilities:
        """What a channel with these settings can do (a kind may differ per channel)."""
        return cls.capabilities

    @classmethod
    def limits_for(cls, settings: dict[str, Any]) -> Limits:
        """The limits of a channel with these settings (e.g. a text-only robot allows less)."""
        return cls.limits

    def render(self, post: PostContent) -> list[Message]:
        raise NotImplementedError

    def send(self, message: Message, http: Any, idempotency_key: str) -> Receipt:
        raise NotImplementedError

    def confirm(self, message: Message, http: Any, idempotency_key: str) -> Receipt | None:
        """For ``confirmable`` kinds: the receipt if a message with this key was published, else None.

        The dispatcher calls it before every resend; raise a ``ChannelError`` when the platform
        cannot tell.
        """
        raise NotImplementedError

    def check(self, http: Any) -> None:
        """Validate credentials without posting; raise a ``ChannelError`` when they are wrong."""

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {
            "name": cls.name,
            "label": cls.label,
            "settings": [
                {
                    "name": s.name,
                    "label": s.label,
                    "secret": s.secret,
                    "required": s.required,
                    "default": s.default,
                    "choices": list(s.choices),
                }
                for s in cls.settings_schema
            ],
            "limits": {
                "max_length": cls.limits.max_length,
                "unit": cls.limits.unit,
                "per_minute": cls.limits.per_minute,
                "max_parts": cls.limits.max_parts,
            },
            "capabilities": {
                "idempotency_key": cls.capabilities.idempotency_key,
                "confirmable": cls.capabilities.confirmable,
                "remote_url": cls.capabilities.remote_url,
                "titles": cls.capabilities.titles,
            },
        }
