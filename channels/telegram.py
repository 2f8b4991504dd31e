"""``telegram``: a bot posts to a group or channel with the Bot API's ``sendMessage`` in HTML parse mode.

The kind holds the settings, the limits, sending, the credential check and what the Bot API's error
codes mean; :mod:`channels.telegram_html` turns a post into the messages, split within Telegram's
4096 characters of visible text.
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from channels.telegram_html import MAX_PARTS, MAX_TEXT, render_html
from planner.channel_api import (
    Capabilities,
    ChannelError,
    ChannelKind,
    Limits,
    Message,
    PermanentError,
    PostContent,
    Receipt,
    RetryableError,
    Setting,
    ThrottledError,
)
from planner.channel_api import translatable as _l
from planner.channel_http import call, json_body, raise_for_status, retry_after

log = logging.getLogger(__name__)

API_BASE = "https://api.telegram.org"


class _ChatMigrated(PermanentError):
    """The group became a supergroup with a new id; sending there once is safe and right."""

    def __init__(self, message: str, chat_id: int) -> None:
        super().__init__(message)
        self.chat_id = chat_id


class TelegramChannel(ChannelKind):
    """Posts through a bot; ``check`` asks ``getMe`` and ``getChat``, which post nothing."""

    name = "telegram"
    label = _l("Telegram group or channel (bot)")
    settings_schema = (
        Setting("bot_token", _l("Bot token"), secret=True, help=_l("from @BotFather, like 123456:ABC-DEF…")),
        Setting("chat_id", _l("Chat id"), help=_l("a group id such as -1001234567890, or @publicname")),
        Setting("api_base", _l("Bot API base URL"), required=False, default=API_BASE),
    )
    limits = Limits(max_length=MAX_TEXT, unit="characters", per_minute=20, max_parts=MAX_PARTS)
    capabilities = Capabilities(idempotency_key=False, remote_url=True, titles=False)
    render_settings = ()

    def render(self, post: PostContent) -> list[Message]:
        texts = render_html(post, self.limits.max_parts)
        return [Message(text=text, format="html", part=number, parts=len(texts))
                for number, text in enumerate(texts, start=1)]

    def send(self, message: Message, http: Any, idempotency_key: str) -> Receipt:
        chat_id = _chat_id(self.settings["chat_id"])
        payload = {"chat_id": chat_id, "text": message.text, "parse_mode": "HTML"}
        try:
            result = self._call(http, "sendMessage", payload)
        except _ChatMigrated as moved:
            log.warning("telegram chat %s became supergroup %s; update the channel's chat id",
                        chat_id, moved.chat_id)
            result = self._call(http, "sendMessage", {**payload, "chat_id": moved.chat_id})
        result = result if isinstance(result, dict) else {}
        message_id = result.get("message_id")
        if message_id is None:
            return Receipt()  # ``ok`` means it was posted, even without the usual details
        # Only a public chat has a link anyone can open: t.me/<username>/<message id>.
        public = isinstance(chat_id, str) and chat_id.startswith("@")
        username = (result.get("chat") or {}).get("username") or (chat_id[1:] if public else None)
        url = f"https://t.me/{username}/{message_id}" if username else None
        return Receipt(remote_id=str(message_id), remote_url=url)

    def check(self, http: Any) -> None:
        self._call(http, "getMe", {})
        self._call(http, "getChat", {"chat_id": _chat_id(self.settings["chat_id"])})

    def _call(self, http: Any, method: str, payload: dict[str, Any]) -> Any:
        token = str(self.settings["bot_token"])
        base = str(self.settings.get("api_base") or API_BASE).rstrip("/")
        try:
            response = call(http, "POST", f"{base}/bot{token}/{method}", json=payload)
        except ChannelError as error:
            raise _without(error, token) from None  # the token is part of the URL
        return _result(response)


def _chat_id(value: Any) -> int | str:
    text = str(value).strip()
    return int(text) if text.lstrip("-").isdigit() else text


def _without(error: ChannelError, secret: str) -> ChannelError:
    return type(error)(error.message.replace(secret, "<bot token>"), retry_after=error.retry_after)


def _result(response: requests.Response) -> Any:
    """The ``result`` of a Bot API answer, or the contract's error for its ``error_code``."""
    try:
        data = json_body(response)
    except ChannelError:
        raise_for_status(response)  # a proxy's error page: the status says what happened
        raise
    if data.get("ok") is True:
        return data.get("result")
    code = data.get("error_code") or response.status_code
    text = f"Telegram {code}: {data.get('description') or 'no description'}"
    parameters = data.get("parameters") or {}
    if code == 429:
        wait = parameters.get("retry_after")
        raise ThrottledError(text, retry_after=float(wait) if isinstance(wait, int | float)
                             else retry_after(response))
    if parameters.get("migrate_to_chat_id"):
        raise _ChatMigrated(text, int(parameters["migrate_to_chat_id"]))
    if response.status_code >= 500:
        raise_for_status(response, text)
    if isinstance(code, int) and code >= 500:
        raise RetryableError(text)
    raise PermanentError(text)
