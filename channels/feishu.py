"""``feishu``: a Feishu / Lark custom bot (自定义机器人), through its webhook.

Posts go out as rich-text ``post`` messages with a title. A ``post`` takes no Markdown: each line is
a paragraph of ``text`` and ``a`` (link) elements, so bold and code become plain text, lists bullet
lines, tables rows of text, and images links (a custom bot cannot upload the ``image_key`` an ``img``
element needs). The whole request body must stay within 20 KB; a longer post is split into numbered
parts ("title (1/3)"). With a signing secret every request carries ``timestamp`` and ``sign`` in its
body. The token in the webhook URL's path is the credential: it never appears in an error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from channels._chat_markdown import Dialect, pack_parts, render_blocks
from channels._chat_webhook import body_size, post_json, raise_for_code, redacting
from planner.channel_api import (
    Capabilities,
    ChannelError,
    ChannelKind,
    Limits,
    Message,
    PermanentError,
    PostContent,
    Receipt,
    Setting,
    ThrottledError,
)
from planner.channel_api import translatable as _l

BODY_LIMIT = 20_000  # bytes of the request body ("20 KB"), read conservatively
SIGNATURE_ROOM = 100  # the "timestamp" and "sign" fields added when sending
# A link travels inside rendered text between private-use characters until it becomes an ``a``
# element; the post's own text is stripped of them first.
LINK_MARKS = "\ue000\ue001\ue002"
MARKED_LINK = re.compile("\ue000([^\ue001]*)\ue001([^\ue002]*)\ue002")
POST = Dialect(
    link=lambda text, href: f"\ue000{text}\ue001{href}\ue002" if href else text,
    image=lambda alt, src: f"\ue000{alt or src}\ue001{src}\ue002" if src else alt,
    numbering=lambda number, count: "",  # the title carries the part number
    atoms=(MARKED_LINK,),
)

# code -> (error, seconds to wait), from the contract's table.
ERRORS: dict[int, tuple[type[ChannelError], float | None]] = {
    9499: (PermanentError, None),  # bad request: malformed or over 20 KB
    19001: (PermanentError, None),  # the token in the webhook URL is invalid
    19021: (PermanentError, None),  # signature mismatch, or this server's clock is off by over 1 h
    19022: (PermanentError, None),  # this server's IP is not on the bot's allowlist
    19024: (PermanentError, None),  # none of the bot's keywords is in the message
    11232: (ThrottledError, 60.0),  # frequency limited: wait out the minute
}


def sign(timestamp: str, secret: str) -> str:
    """Feishu's signature: the HMAC-SHA256 of an empty message, keyed with ``timestamp\\nsecret``."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


class FeishuChannel(ChannelKind):
    """A Feishu custom bot. It keeps the default ``check``: Feishu has no call that validates a
    custom bot's token or secret without posting a message to the group."""

    name = "feishu"
    label = _l("Feishu / Lark custom bot")
    settings_schema = (
        Setting("webhook_url", _l("Webhook URL"), secret=True,
                help=_l("https://open.feishu.cn/open-apis/bot/v2/hook/…, from the bot's settings")),
        Setting("secret", _l("Signing secret"), secret=True, required=False,
                help=_l("only when the bot's security settings turn on signature verification")),
    )
    # 100 a minute and 5 a second per bot; one a second leaves room for the bot's other senders.
    # A post is at most 5 messages, so even a split post stays within 5 a second.
    limits = Limits(max_length=BODY_LIMIT, unit="bytes", per_minute=60, max_parts=5)
    capabilities = Capabilities(idempotency_key=False, confirmable=False, remote_url=False,
                                titles=True)
    render_settings = ()
    clock: Callable[[], float] = staticmethod(time.time)  # seconds since the epoch

    def render(self, post: PostContent) -> list[Message]:
        source = post.body.translate({ord(mark): None for mark in LINK_MARKS})
        title = post.title.strip()

        def request_bytes(number: int, count: int, text: str) -> int:
            return body_size(_payload(_title(title, number, count), text)) + SIGNATURE_ROOM

        parts = pack_parts(render_blocks(source, POST), POST, limit=BODY_LIMIT,
                           max_parts=self.limits.max_parts, request_bytes=request_bytes)
        return [Message(text=MARKED_LINK.sub(_readable_link, text),
                        title=_title(title, number, len(parts)) or None, format="post",
                        part=number, parts=len(parts),
                        extra=_payload(_title(title, number, len(parts)), text))
                for number, text in enumerate(parts, start=1)]

    def send(self, message: Message, http: Any, idempotency_key: str) -> Receipt:
        url, token = self._webhook()
        secret = str(self.settings.get("secret") or "")
        payload = dict(message.extra)
        signature = ""
        if secret:
            timestamp = str(int(self.clock()))
            signature = sign(timestamp, secret)
            payload = {"timestamp": timestamp, "sign": signature, **payload}
        with redacting([token, secret, signature]):
            answer = post_json(http, url, payload)
            code = answer.get("code", answer.get("StatusCode"))
            words = answer.get("msg") or answer.get("StatusMessage", "")
            raise_for_code("Feishu", code, words, ERRORS)
        return Receipt()

    def _webhook(self) -> tuple[str, str]:
        url = str(self.settings.get("webhook_url") or "").strip()
        parts = urlsplit(url)
        head, _, token = parts.path.rpartition("/hook/")
        if parts.scheme not in ("http", "https") or not parts.netloc or not head or not token:
            raise PermanentError("the webhook URL must be the bot's full address ending in "
                                 "/hook/<token>, as shown in the custom bot's settings")
        return url, token


def _title(title: str, number: int, count: int) -> str:
    return f"{title} ({number}/{count})" if count > 1 else title


def _payload(title: str, text: str) -> dict[str, Any]:
    return {"msg_type": "post", "content": {"post": {"zh_cn": {
        "title": title, "content": [_paragraph(line) for line in text.split("\n")]}}}}


def _paragraph(line: str) -> list[dict[str, str]]:
    """One line as ``text`` and ``a`` elements."""
    elements: list[dict[str, str]] = []
    position = 0
    for link in MARKED_LINK.finditer(line):
        if link.start() > position:
            elements.append({"tag": "text", "text": line[position:link.start()]})
        elements.append({"tag": "a", "text": link.group(1) or link.group(2), "href": link.group(2)})
        position = link.end()
    if position < len(line) or not elements:
        elements.append({"tag": "text", "text": line[position:]})
    return elements


def _readable_link(link: re.Match[str]) -> str:
    text, href = link.group(1), link.group(2)
    return href if not text or text == href else f"{text} ({href})"
