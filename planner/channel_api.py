"""The contract every channel kind implements, built-in or third-party.

A kind is a class registered under the entry-point group ``planner.channels``. It is constructed with
its channel's settings (secrets already decrypted) and a :class:`ChannelContext`; ``render`` is pure,
``send`` does the I/O through the ``http`` client it is given and raises one of the typed errors below.
Plugins never touch the Flask request or the database session.

The words a reader sees (a kind's label, its settings' labels and help, why ``render`` refuses a
post) go through :func:`translatable`, so they show in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from flask_babel import lazy_gettext


def translatable(message: str, **variables: Any) -> Any:
    """Words for a reader, translated when planner shows them: ``translatable("Bot token")``,
    ``RenderError(translatable("the title has %(n)s characters", n=len(title)))``.

    The text is looked up in planner's catalog each time it is turned into a string, in the language
    of whoever reads it (a page, a pre-publish check, an API answer); outside a request (the
    dispatcher, the CLI) it stays English, and words the catalog lacks (a third-party plugin's) show
    as written. Built-in kinds import it as ``_l`` so that ``make messages`` extracts their words.
    """
    return lazy_gettext(message, **variables)


@dataclass(frozen=True)
class Setting:
    name: str
    label: Any  # str, or a translatable() one
    secret: bool = False
    required: bool = True
    default: Any = None
    choices: tuple[str, ...] = ()
    help: Any = ""  # likewise


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
    label: ClassVar[Any]  # str, or a translatable() one
    settings_schema: ClassVar[tuple[Setting, ...]] = ()
    limits: ClassVar[Limits] = Limits()
    capabilities: ClassVar[Capabilities] = Capabilities()
    # The settings ``render`` reads. ``None`` (the default) means it may read any of them, so a post
    # is rendered once per channel; a kind that names them (often none: ``()``) has a post that fans
    # out to many of its channels rendered once for each distinct value of those settings.
    render_settings: ClassVar[tuple[str, ...] | None] = None

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
            "label": str(cls.label),
            "settings": [
                {
                    "name": s.name,
                    "label": str(s.label),
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
