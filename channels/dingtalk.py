"""``dingtalk``: a DingTalk (钉钉) custom robot, through its webhook.

Posts go out as ``markdown`` messages. The message's ``title`` only shows in notifications and the
chat list, so the post's title also opens the text as a heading. DingTalk's Markdown has headings,
bold, italics, links, images, quotes and lists; code blocks become quoted lines and tables rows of
text. A line break needs two spaces before it. A request may be 20000 bytes; a longer post is split
into numbered parts. With a signing secret the URL carries ``timestamp`` and ``sign``. A robot that
sends more than 20 messages a minute is throttled for 10 minutes, so a throttled channel stays quiet
that long. The access token in the webhook URL never appears in an error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

from channels._chat_markdown import (
    MARKDOWN_ATOMS,
    Block,
    Dialect,
    markdown_heading,
    markdown_image,
    markdown_link,
    numbered_paragraph,
    pack_parts,
    render_blocks,
)
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
    RetryableError,
    Setting,
    ThrottledError,
)
from planner.channel_api import translatable as _l

BODY_LIMIT = 20_000  # "message too long, exceed 20000 bytes", counted here on the whole body
COOL_DOWN = 600.0  # seconds a robot stays throttled after going over 20 messages a minute
MARKDOWN = Dialect(
    bold="**", italic="*", link=markdown_link, image=markdown_image, heading=markdown_heading,
    bullet="- ", list_indent="    ", code="quote", line_break="  \n",
    numbering=numbered_paragraph, atoms=MARKDOWN_ATOMS,
)

# errcode -> (error, seconds to wait), from the contract's table.
ERRORS: dict[int, tuple[type[ChannelError], float | None]] = {
    -1: (RetryableError, None),  # system busy
    130101: (ThrottledError, COOL_DOWN),  # send too fast, exceed 20 times per minute
    410100: (ThrottledError, COOL_DOWN),  # send too fast (another code for the same)
    310000: (PermanentError, None),  # keywords, signature, timestamp or IP check failed
    460101: (PermanentError, None),  # message too long
    300005: (PermanentError, None),  # the access token does not exist
    300001: (PermanentError, None),  # the access token is invalid
    400101: (PermanentError, None),  # the access token does not exist
    400102: (PermanentError, None),  # the robot is stopped
    400105: (PermanentError, None),  # unsupported message type
    40035: (PermanentError, None),  # missing parameter
    43004: (PermanentError, None),  # wrong Content-Type
}


def sign(timestamp_ms: int, secret: str) -> str:
    """DingTalk's signature: the HMAC-SHA256 of ``timestamp\\nsecret``, keyed with the secret."""
    message = f"{timestamp_ms}\n{secret}".encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def signed_url(webhook_url: str, secret: str, timestamp_ms: int) -> str:
    separator = "&" if urlsplit(webhook_url).query else "?"
    signature = quote_plus(sign(timestamp_ms, secret))
    return f"{webhook_url}{separator}timestamp={timestamp_ms}&sign={signature}"


class DingTalkChannel(ChannelKind):
    """A DingTalk custom robot. It keeps the default ``check``: DingTalk has no call that validates
    a robot's access token or secret without posting a message to the group."""

    name = "dingtalk"
    label = _l("DingTalk (钉钉) custom robot")
    settings_schema = (
        Setting("webhook_url", _l("Webhook URL"), secret=True,
                help=_l("https://oapi.dingtalk.com/robot/send?access_token=…, from the robot's settings")),
        Setting("secret", _l("Signing secret (SEC…)"), secret=True, required=False,
                help=_l("only when the robot's security settings use 加签 (signing)")),
    )
    limits = Limits(max_length=BODY_LIMIT, unit="bytes", per_minute=20, max_parts=10)
    capabilities = Capabilities(idempotency_key=False, confirmable=False, remote_url=False,
                                titles=True)
    render_settings = ()
    clock: Callable[[], float] = staticmethod(time.time)  # seconds since the epoch

    def render(self, post: PostContent) -> list[Message]:
        title = post.title.strip() or self.context.community_name or post.kind
        blocks = [Block(MARKDOWN.heading(1, title))] + render_blocks(post.body, MARKDOWN)

        def request_bytes(number: int, count: int, text: str) -> int:
            return body_size(_payload(_title(title, number, count), text))

        parts = pack_parts(blocks, MARKDOWN, limit=BODY_LIMIT, max_parts=self.limits.max_parts,
                           request_bytes=request_bytes)
        return [Message(text=text, title=_title(title, number, len(parts)), format="markdown",
                        part=number, parts=len(parts))
                for number, text in enumerate(parts, start=1)]

    def send(self, message: Message, http: Any, idempotency_key: str) -> Receipt:
        url, token = self._webhook()
        secret = str(self.settings.get("secret") or "")
        hidden = [token, secret]
        if secret:
            timestamp_ms = int(self.clock() * 1000)
            url = signed_url(url, secret, timestamp_ms)
            signature = sign(timestamp_ms, secret)
            hidden += [signature, quote_plus(signature)]
        with redacting(hidden):
            answer = post_json(http, url, _payload(message.title or "", message.text))
            raise_for_code("DingTalk", answer.get("errcode"), answer.get("errmsg", ""), ERRORS)
        return Receipt()

    def _webhook(self) -> tuple[str, str]:
        url = str(self.settings.get("webhook_url") or "").strip()
        parts = urlsplit(url)
        token = parse_qs(parts.query).get("access_token", [""])[0]
        if parts.scheme not in ("http", "https") or not parts.netloc or not token:
            raise PermanentError("the webhook URL must be the robot's full address with its "
                                 "access_token= parameter, as shown in the robot's settings")
        return url, token


def _title(title: str, number: int, count: int) -> str:
    return f"{title} ({number}/{count})" if count > 1 else title


def _payload(title: str, text: str) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
