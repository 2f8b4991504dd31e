"""``wecom``: a WeCom (企业微信) group robot, through its webhook.

The channel's ``format`` picks the message type. Classic ``markdown`` (4096 UTF-8 bytes) shows
headings, bold, links, inline code and quotes only: lists become bullet lines, code blocks one
inline-code span per line, tables rows of text and images links. ``markdown_v2`` (4096 bytes) adds
italics, lists, images, code blocks and tables, but WeCom clients older than 4.1.36 show it as plain
text. ``text`` (2048 bytes) is plain text with links written out. WeCom messages have no title field,
so the post's title opens the first message as a heading. The robot's key sits in the webhook URL's
query: it never appears in an error.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels._chat_markdown import (
    MARKDOWN_ATOMS,
    PLAIN_TEXT,
    Block,
    Dialect,
    markdown_heading,
    markdown_image,
    markdown_link,
    numbered_paragraph,
    pack_parts,
    render_blocks,
)
from channels._chat_webhook import post_json, raise_for_code, redacting
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

MARKDOWN = Dialect(
    bold="**", inline_code="`", link=markdown_link, heading=markdown_heading,
    image=lambda alt, src: markdown_link(alt or src, src), code="inline",
    numbering=numbered_paragraph, atoms=MARKDOWN_ATOMS,
)
MARKDOWN_V2 = Dialect(
    bold="**", italic="*", inline_code="`", link=markdown_link, image=markdown_image,
    heading=markdown_heading, bullet="- ", list_indent="    ", code="fence", tables=True,
    rule="---", numbering=numbered_paragraph, atoms=MARKDOWN_ATOMS,
)
DIALECTS = {"markdown": MARKDOWN, "markdown_v2": MARKDOWN_V2, "text": PLAIN_TEXT}
MAX_BYTES = {"markdown": 4096, "markdown_v2": 4096, "text": 2048}

# errcode -> (error, seconds to wait), from the contract's table.
ERRORS: dict[int, tuple[type[ChannelError], float | None]] = {
    -1: (RetryableError, None),  # system busy
    45009: (ThrottledError, 60.0),  # over 20 messages a minute: wait out the window
    45033: (ThrottledError, 10.0),  # too many calls at once
    93000: (PermanentError, None),  # the key is wrong or the robot was removed
    40058: (PermanentError, None),  # a parameter is invalid, e.g. markdown over 4096 bytes
    45002: (PermanentError, None),  # content over the size limit
    40008: (PermanentError, None),  # invalid message type
    44004: (PermanentError, None),  # empty text
    40035: (PermanentError, None),  # invalid parameter
    40063: (PermanentError, None),  # empty parameter
    40007: (PermanentError, None),  # invalid media id
    45008: (PermanentError, None),  # news article count not 1 to 8
}


class WeComChannel(ChannelKind):
    """A WeCom group robot. It keeps the default ``check``: WeCom has no call that validates a
    robot's key without posting a message to the group."""

    name = "wecom"
    label = _l("WeCom (企业微信) group robot")
    settings_schema = (
        Setting("webhook_url", _l("Webhook URL (with its key)"), secret=True,
                help=_l("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…, from the robot's settings")),
        Setting("format", _l("Message format"), required=False, default="markdown",
                choices=("markdown", "markdown_v2", "text"),
                help=_l("markdown_v2 adds lists, code blocks, tables and images; old clients show it "
                        "as text")),
    )
    # The largest message any format takes; ``text`` messages are kept to 2048 bytes.
    limits = Limits(max_length=4096, unit="bytes", per_minute=20, max_parts=10)
    capabilities = Capabilities(idempotency_key=False, confirmable=False, remote_url=False,
                                titles=False)
    render_settings = ("format",)

    @classmethod
    def limits_for(cls, settings: dict[str, Any]) -> Limits:
        return replace(cls.limits, max_length=MAX_BYTES[settings.get("format") or "markdown"])

    @property
    def format(self) -> str:
        return self.settings.get("format") or "markdown"

    def render(self, post: PostContent) -> list[Message]:
        dialect = DIALECTS[self.format]
        title = [Block(dialect.heading(1, post.title.strip()))] if post.title.strip() else []
        parts = pack_parts(title + render_blocks(post.body, dialect), dialect,
                           limit=MAX_BYTES[self.format], max_parts=self.limits.max_parts)
        return [Message(text=text, title=post.title or None, format=self.format, part=number,
                        parts=len(parts))
                for number, text in enumerate(parts, start=1)]

    def send(self, message: Message, http: Any, idempotency_key: str) -> Receipt:
        url, key = self._webhook()
        payload = {"msgtype": message.format, message.format: {"content": message.text}}
        with redacting([key]):
            answer = post_json(http, url, payload)
            raise_for_code("WeCom", answer.get("errcode"), answer.get("errmsg", ""), ERRORS)
        return Receipt()

    def _webhook(self) -> tuple[str, str]:
        url = str(self.settings.get("webhook_url") or "").strip()
        parts = urlsplit(url)
        key = parse_qs(parts.query).get("key", [""])[0]
        if parts.scheme not in ("http", "https") or not parts.netloc or not key:
            raise PermanentError("the webhook URL must be the robot's full address with its key= "
                                 "parameter, as shown in the group robot's settings")
        return url, key
