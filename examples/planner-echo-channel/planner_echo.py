"""``echo``: POSTs each message as JSON to a URL of your choice — a complete, minimal channel kind.

The receiver answers ``{"id": "...", "url": "..."}`` (both optional) with a 2xx status, or an error
status with ``{"error": "..."}``. ``GET <url>`` with the same token must answer 2xx when the token
is good: that is how ``check`` validates credentials without posting anything.
"""

from __future__ import annotations

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
from planner.channel_http import call, json_body, raise_for_status
from planner.channel_text import blocks, markdown_html, pack


class EchoChannel(ChannelKind):
    name = "echo"
    label = "Echo (JSON to a URL)"
    settings_schema = (
        Setting("url", "Receiver URL", help="https://… — where each message is POSTed"),
        Setting("token", "Bearer token", secret=True, required=False,
                help="sent as 'Authorization: Bearer …' when set"),
        Setting("format", "Format", required=False, default="markdown",
                choices=("markdown", "html"), help="markdown: the post as written; html: rendered"),
    )
    limits = Limits(max_length=4000, unit="characters", per_minute=60, max_parts=1)
    # The receiver is yours: it is not promised to deduplicate, so a lost answer becomes
    # "unconfirmed" for an operator instead of a blind resend.
    capabilities = Capabilities(idempotency_key=False, confirmable=False, remote_url=True,
                                titles=True)

    def render(self, post: PostContent) -> list[Message]:
        """Pure: no I/O and no clock, so the same post always renders the same way."""
        output = self.settings.get("format") or "markdown"
        source = markdown_html(post.body) if output == "html" else post.body
        # One message only (max_parts=1): pack() refuses a longer post with a RenderError.
        [text] = pack(blocks(source), limit=self.limits.max_length, unit=self.limits.unit,
                      max_parts=self.limits.max_parts)
        return [Message(text=text, title=post.title or None, format=output)]

    def send(self, message: Message, http: Any, idempotency_key: str) -> Receipt:
        response = call(http, "POST", self.settings["url"], headers=self._headers(idempotency_key),
                        json={"title": message.title, "text": message.text,
                              "format": message.format, "part": message.part,
                              "parts": message.parts})
        # The receiver's own words go into the error: operators read them on the delivery.
        raise_for_status(response, _error_text(response))
        body = json_body(response) if response.content else {}
        if body.get("ok") is False:  # an error envelope inside a 2xx
            raise PermanentError(_error_text(response) or "the receiver refused the message")
        remote_id = body.get("id")
        return Receipt(remote_id=None if remote_id is None else str(remote_id),
                       remote_url=body.get("url"))

    def check(self, http: Any) -> None:
        """Validates the URL and token with a GET, which posts nothing."""
        response = call(http, "GET", self.settings["url"], headers=self._headers(None))
        raise_for_status(response, _error_text(response))

    def _headers(self, idempotency_key: str | None) -> dict[str, str]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        if self.settings.get("token"):
            headers["Authorization"] = f"Bearer {self.settings['token']}"
        return headers


def _error_text(response: Any) -> str | None:
    """``HTTP 401: <the receiver's error>`` when the body says why, else None (the default text)."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    return f"HTTP {response.status_code}: {error}" if error else None
