"""``webhook``: a JSON POST to any URL, signed per Standard Webhooks v1.0.0.

Every request carries ``webhook-id`` (the delivery's idempotency key, the same on every resend, so the
receiver can drop duplicates), ``webhook-timestamp`` (Unix seconds of this attempt) and
``webhook-signature``: ``v1,`` and the Base64 HMAC-SHA256 of ``"{id}.{timestamp}.{body}"`` keyed with
the Base64-decoded bytes of the ``whsec_`` secret. The body is the whole post: title, kind, the Markdown
and its HTML; a receiver decides how to show it, so the post is never split or shortened.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

from planner.channel_api import (
    Capabilities,
    ChannelKind,
    Limits,
    Message,
    PermanentError,
    PostContent,
    Receipt,
    Setting,
)
from planner.channel_api import translatable as _l
from planner.channel_http import call, raise_for_status
from planner.channel_text import markdown_html

EVENT = "post.published"
PREFIX = "whsec_"


def signing_key(secret: str) -> bytes:
    """The HMAC key: the Base64-decoded bytes after ``whsec_``; ValueError if it is not Base64."""
    encoded = secret.strip().removeprefix(PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("the signing secret is not whsec_ followed by Base64") from error
    if not key:
        raise ValueError("the signing secret is empty")
    return key


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one request."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class WebhookChannel(ChannelKind):
    """POSTs each post as a signed JSON event.

    ``check`` validates the URL and the secret without a request: the only way to try a receiver
    would be to deliver an event to it.
    """

    name = "webhook"
    label = _l("Webhook (Standard Webhooks)")
    settings_schema = (
        Setting("url", _l("Endpoint URL"), help=_l("where each post is POSTed as JSON")),
        Setting("secret", _l("Signing secret"), secret=True,
                help=_l("whsec_ followed by Base64, as the receiver shows it")),
    )
    limits = Limits(max_length=None, unit="bytes", per_minute=60, max_parts=1)
    capabilities = Capabilities(idempotency_key=True, remote_url=False, titles=True)
    render_settings = ()
    clock = staticmethod(time.time)  # the attempt's time for webhook-timestamp; tests replace it

    def render(self, post: PostContent) -> list[Message]:
        return [Message(text=post.body, title=post.title or None, format="markdown",
                        extra={"kind": post.kind, "html": markdown_html(post.body)})]

    def send(self, message: Message, http: Any, idempotency_key: str) -> Receipt:
        key = self._key()
        timestamp = int(self.clock())
        body = payload(message, timestamp)
        headers = {
            "Content-Type": "application/json",
            "webhook-id": idempotency_key,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(key, idempotency_key, timestamp, body),
        }
        # Redirects are not followed: the receiver must be configured at its real address.
        response = call(http, "POST", self._url(), data=body, headers=headers,
                        allow_redirects=False)
        status = response.status_code
        answer = response.text.strip()[:200]
        detail = f"HTTP {status} from the receiver" + (f": {answer}" if answer else "")
        if 300 <= status < 400:
            raise PermanentError(f"the receiver redirected (HTTP {status}); webhooks do not follow "
                                 "redirects, so set the URL it points to")
        if status == 410:
            raise PermanentError("HTTP 410 Gone: the receiver no longer accepts these events; "
                                 "disable or update this channel")
        raise_for_status(response, detail)
        return Receipt()

    def check(self, http: Any) -> None:
        self._url()
        self._key()

    def _url(self) -> str:
        url = str(self.settings.get("url") or "").strip()
        if not url.startswith(("http://", "https://")):
            raise PermanentError("the webhook URL must start with http:// or https://")
        return url

    def _key(self) -> bytes:
        try:
            return signing_key(str(self.settings.get("secret") or ""))
        except ValueError as error:
            raise PermanentError(str(error)) from None  # never echo the secret itself


def payload(message: Message, timestamp: int) -> bytes:
    """The exact bytes that are signed and sent."""
    event = {
        "type": EVENT,
        "timestamp": datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z"),
        "data": {
            "title": message.title,
            "kind": message.extra.get("kind"),
            "markdown": message.text,
            "html": message.extra.get("html"),
            "part": message.part,
            "parts": message.parts,
        },
    }
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
