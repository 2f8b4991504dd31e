"""``discourse``: a new forum topic per post, or a reply in one topic, through ``POST /posts.json``.

A new topic carries an ``external_id`` derived from the delivery's idempotency key, so before any resend
the dispatcher can ask the forum (``GET /t/external_id/{id}.json``) whether the lost attempt got through:
the kind is ``confirmable``. A reply cannot carry an ``external_id``, so a channel set to reply in a topic
is not confirmable and a lost answer is left to an operator.

Discourse Markdown is CommonMark with extensions, so the post's Markdown mostly passes through; what the
forum cannot show is cleaned away first (scripts and other active HTML, links and images whose address
the forum cannot reach).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import requests

from planner.channel_api import (
    Capabilities,
    ChannelContext,
    ChannelKind,
    Limits,
    Message,
    OutcomeUnknownError,
    PermanentError,
    PostContent,
    Receipt,
    RenderError,
    RetryableError,
    Setting,
    ThrottledError,
)
from planner.channel_api import translatable as _l
from planner.channel_http import call, json_body, raise_for_status, retry_after
from planner.channel_text import blocks, is_code_block

# The forum's own defaults (site settings min_topic_title_length, max_topic_title_length,
# max_post_length); a forum may change them, and then its 422 answer says so.
MIN_TITLE_LENGTH = 15
MAX_TITLE_LENGTH = 255
MAX_POST_LENGTH = 32000
EXTERNAL_ID_MAX_LENGTH = 50  # Topic.external_id: at most 50 of [A-Za-z0-9_-]
EXTERNAL_ID = re.compile(r"[A-Za-z0-9_-]{1,50}")

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ACTIVE = ("script|style|iframe|frame|frameset|object|embed|applet|form|input|button|textarea|select|"
          "noscript|link|meta|base|svg|math|template")
ACTIVE_ELEMENT = re.compile(rf"<({ACTIVE})\b[^>]*>.*?</\1\s*>", re.I | re.S)
ACTIVE_TAG = re.compile(rf"</?({ACTIVE})\b[^>]*>", re.I)
COMMENT = re.compile(r"<!--.*?-->", re.S)
CODE_SPAN = re.compile(r"(`+)(?:.+?)\1", re.S)
INLINE_LINK = re.compile(r"(!?)\[([^\]]*)\]\(\s*<?((?:[^()\s<>]|\([^()\s]*\))*)>?"
                         r"(?:\s+\"[^\"]*\")?\s*\)")
REACHABLE = re.compile(r"(?i)(https?://|mailto:|upload://)")
TOPIC_PATH = re.compile(r"/t/(?:[^/?#]+/)?(\d+)(?:\.json)?/?(?:[?#].*)?$")
MAYBE_OURS = ("already been used", "already been taken", "too similar")


class DiscourseChannel(ChannelKind):
    name = "discourse"
    label = _l("Discourse forum")
    settings_schema = (
        Setting("base_url", _l("Forum address"), help=_l("The forum's address, e.g. https://forum.example.org")),
        Setting("api_key", _l("API key"), secret=True, help=_l("An admin API key (Admin → API)")),
        Setting("api_username", _l("API username"), default="system",
                help=_l("The user the topics are posted as")),
        Setting("category_id", _l("Category id"), required=False,
                help=_l("New topics go into this category (its number, from the category's URL)")),
        Setting("topic_id", _l("Reply in topic id"), required=False,
                help=_l("When set, each post becomes a reply in this topic instead of a new topic")),
    )
    # rate_limit_create_topic is 15 s for ordinary users; admin API keys also share 60 requests/min.
    limits = Limits(max_length=MAX_POST_LENGTH, unit="characters", per_minute=4, max_parts=1)
    capabilities = Capabilities(confirmable=True, remote_url=True, titles=True)
    render_settings = ("topic_id",)

    def __init__(self, settings: dict[str, Any], context: ChannelContext) -> None:
        super().__init__(settings, context)
        self.reply_topic = _reply_topic(settings)
        self.capabilities = self.capabilities_for(settings)

    @classmethod
    def capabilities_for(cls, settings: dict[str, Any]) -> Capabilities:
        """What a channel with these settings can do: a reply has no external_id to look it up
        by, so resending one after a lost answer is unsafe."""
        if _reply_topic(settings):
            return Capabilities(confirmable=False, remote_url=True, titles=False)
        return cls.capabilities

    # ---- rendering -----------------------------------------------------------------------------

    def render(self, post: PostContent) -> list[Message]:
        raw = discourse_markdown(post.body)
        if self.reply_topic:
            title = None
            heading = " ".join(post.title.split())
            raw = f"## {heading}\n\n{raw}" if heading else raw
        else:
            title = topic_title(post.title)
        if not raw.strip():
            raise RenderError(_l("the post has no text to publish"))
        if len(raw) > MAX_POST_LENGTH:
            raise RenderError(_l("the post is %(length)s characters after rendering; a Discourse post "
                                 "holds at most %(limit)s (the forum's max_post_length)",
                                 length=len(raw), limit=MAX_POST_LENGTH))
        return [Message(text=raw, title=title, format="markdown")]

    # ---- sending -------------------------------------------------------------------------------

    def send(self, message: Message, http: Any, idempotency_key: str) -> Receipt:
        body: dict[str, Any] = {"raw": message.text}
        if self.reply_topic:
            body["topic_id"] = self._number("topic_id")
        else:
            body["title"] = message.title
            body["external_id"] = external_id(idempotency_key)
            if self.settings.get("category_id") not in (None, ""):
                body["category"] = self._number("category_id")
        response = call(http, "POST", self._url("/posts.json"), json=body, headers=self._headers())
        if response.status_code == 200:
            return self._receipt_of_post(json_body(response))
        errors = _errors(response)
        if response.status_code == 422 and not self.reply_topic and _maybe_ours(errors):
            # A duplicate title or external_id is what an earlier, lost attempt leaves behind.
            found = self.confirm(message, http, idempotency_key)
            if found is not None:
                return found
        raise _error_for(response, errors)

    def confirm(self, message: Message, http: Any, idempotency_key: str) -> Receipt | None:
        """The topic created with this key's ``external_id``, or None when the forum has none.

        The forum answers a known id with a 301 to ``/t/{topic_id}.json``; ``requests`` follows it,
        but a redirect that was not followed is read from its ``Location`` too.
        """
        if self.reply_topic:
            raise OutcomeUnknownError("a reply carries no external id, so the forum cannot be asked "
                                      "whether it was published")
        url = self._url(f"/t/external_id/{external_id(idempotency_key)}.json")
        response = call(http, "GET", url, headers=self._headers())
        if response.is_redirect:
            match = TOPIC_PATH.search(response.headers.get("Location", ""))
            if match is None:
                raise OutcomeUnknownError("the forum redirected the external id lookup somewhere "
                                          "unexpected")
            response = call(http, "GET", self._url(f"/t/{match.group(1)}.json"),
                            headers=self._headers())
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _lookup_error(response)
        return self._receipt_of_topic(json_body(response))

    def check(self, http: Any) -> None:
        """``GET /session/current.json`` proves the key and username; then the category (or the
        topic replies go to) is fetched to prove that user can see it. Nothing is posted."""
        response = call(http, "GET", self._url("/session/current.json"), headers=self._headers())
        if response.status_code in (401, 403, 404):
            raise PermanentError(f"the forum did not accept the API key for user "
                                 f"{self._username()!r}: {_errors(response) or response.status_code}")
        if response.status_code != 200:
            raise _error_for(response, _errors(response))
        user = (json_body(response).get("current_user") or {}).get("username")
        if isinstance(user, str) and user.lower() != self._username().lower():
            raise PermanentError(f"the API key acts as {user!r}, not {self._username()!r}")
        if self.reply_topic:
            target, path = f"topic {self.reply_topic}", f"/t/{self._number('topic_id')}.json"
        elif self.settings.get("category_id") not in (None, ""):
            target, path = (f"category {self.settings['category_id']}",
                            f"/c/{self._number('category_id')}/show.json")
        else:
            return
        response = call(http, "GET", self._url(path), headers=self._headers())
        if response.status_code in (403, 404):
            raise PermanentError(f"{target} does not exist or {self._username()!r} cannot see it")
        if response.status_code != 200:
            raise _error_for(response, _errors(response))

    # ---- helpers -------------------------------------------------------------------------------

    def _receipt_of_post(self, data: dict[str, Any]) -> Receipt:
        if data.get("action") == "enqueued":
            # Waiting in the forum's review queue: published as far as we are concerned, no URL yet.
            pending = (data.get("pending_post") or {}).get("id")
            return Receipt(remote_id=f"pending-{pending}" if pending is not None else None)
        if data.get("id") is None or data.get("topic_id") is None:
            if data.get("errors"):
                raise PermanentError(f"the forum refused the post: {_joined(data['errors'])}")
            raise OutcomeUnknownError("the forum answered HTTP 200 without a post id")
        topic_url = self._url(f"/t/{data.get('topic_slug') or 'topic'}/{data['topic_id']}")
        if self.reply_topic:
            post_url = data.get("post_url") or f"/t/{data['topic_id']}/{data.get('post_number')}"
            return Receipt(remote_id=str(data["id"]), remote_url=self._url(post_url))
        return Receipt(remote_id=str(data["id"]), remote_url=topic_url)

    def _receipt_of_topic(self, data: dict[str, Any]) -> Receipt:
        if data.get("id") is None:
            raise OutcomeUnknownError("the forum's topic answer has no id")
        posts = (data.get("post_stream") or {}).get("posts") or []
        first = next((p.get("id") for p in posts if p.get("post_number") == 1), None)
        return Receipt(remote_id=str(first) if first is not None else None,
                       remote_url=self._url(f"/t/{data.get('slug') or 'topic'}/{data['id']}"))

    def _url(self, path: str) -> str:
        return str(self.settings["base_url"]).rstrip("/") + path

    def _username(self) -> str:
        return str(self.settings.get("api_username") or "system")

    def _headers(self) -> dict[str, str]:
        return {"Api-Key": str(self.settings["api_key"]), "Api-Username": self._username(),
                "Accept": "application/json"}

    def _number(self, setting: str) -> int:
        value = str(self.settings.get(setting) or "").strip()
        if not value.isdigit():
            raise PermanentError(f"the {setting} setting must be a number, not {value!r}")
        return int(value)


def _reply_topic(settings: dict[str, Any]) -> str:
    return str(settings.get("topic_id") or "").strip()


# ---- Markdown for the forum ----------------------------------------------------------------------

def discourse_markdown(body: str) -> str:
    """The post's Markdown, cleaned of what the forum cannot show; code is left exactly as written."""
    text = CONTROL.sub("", body.replace("\r\n", "\n").replace("\r", "\n"))
    cleaned = [block if is_code_block(block) else _clean_block(block) for block in blocks(text)]
    return "\n\n".join(block for block in cleaned if block.strip())


def _clean_block(block: str) -> str:
    pieces, last = [], 0
    for span in CODE_SPAN.finditer(block):  # inline code shows its text literally: keep it
        pieces.append(_clean_prose(block[last:span.start()]))
        pieces.append(span.group(0))
        last = span.end()
    pieces.append(_clean_prose(block[last:]))
    return "".join(pieces).rstrip().strip("\n")


def _clean_prose(text: str) -> str:
    text = COMMENT.sub("", text)
    text = ACTIVE_ELEMENT.sub("", text)
    text = ACTIVE_TAG.sub("", text)
    return INLINE_LINK.sub(_reachable_link, text)


def _reachable_link(match: re.Match[str]) -> str:
    """A link or image the forum cannot reach (relative, javascript:…) becomes its text."""
    image, label, url = match.groups()
    if REACHABLE.match(url):
        return match.group(0)
    return label if not image else (label or "")


def topic_title(title: str) -> str:
    cleaned = " ".join(title.split())
    if len(cleaned) < MIN_TITLE_LENGTH:
        raise RenderError(_l("the title %(title)r is %(length)s characters; a Discourse topic title "
                             "needs at least %(limit)s (the forum's min_topic_title_length)",
                             title=cleaned, length=len(cleaned), limit=MIN_TITLE_LENGTH))
    if len(cleaned) > MAX_TITLE_LENGTH:
        raise RenderError(_l("the title is %(length)s characters; a Discourse topic title holds at "
                             "most %(limit)s", length=len(cleaned), limit=MAX_TITLE_LENGTH))
    return cleaned


def external_id(idempotency_key: str) -> str:
    """The topic's ``external_id``: the key itself when the forum accepts it as one, else a
    readable prefix plus a digest (the forum allows 50 of ``[A-Za-z0-9_-]``, case-insensitive)."""
    if EXTERNAL_ID.fullmatch(idempotency_key):
        return idempotency_key
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:12]
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", idempotency_key)
    return f"{readable[:EXTERNAL_ID_MAX_LENGTH - len(digest) - 1]}-{digest}"


# ---- errors ----------------------------------------------------------------------------------------

def _errors(response: requests.Response) -> str:
    """The forum's own words: ``{"errors": [...]}`` on every JSON error it renders."""
    try:
        data = response.json()
    except ValueError:
        return ""
    if isinstance(data, dict) and data.get("errors"):
        return _joined(data["errors"])
    return ""


def _joined(errors: Any) -> str:
    return "; ".join(map(str, errors)) if isinstance(errors, list) else str(errors)


def _maybe_ours(errors: str) -> bool:
    return any(marker in errors.lower() for marker in MAYBE_OURS)


def _wait_seconds(response: requests.Response) -> float | None:
    try:
        wait = response.json().get("extras", {}).get("wait_seconds")
    except (ValueError, AttributeError):
        return None
    return float(wait) if isinstance(wait, int | float) else None


def _error_for(response: requests.Response, errors: str) -> Exception:
    status = response.status_code
    text = f"Discourse answered HTTP {status}: {errors or response.text[:300]}"
    if status == 429:
        return ThrottledError(text, retry_after=retry_after(response) or _wait_seconds(response))
    if status == 503:
        return RetryableError(text + " (the forum may be in read-only mode)",
                              retry_after=retry_after(response))
    if status == 403:
        return PermanentError(text + " — check the API key, the API username and that user's "
                                     "permission to post there")
    if status == 422 and "title has already been used" in errors.lower():
        return PermanentError(text + " — another topic has this title, and none was created under "
                                     "this post's external id")
    try:
        raise_for_status(response, text)
    except (PermanentError, RetryableError, OutcomeUnknownError) as error:
        return error
    return OutcomeUnknownError(text)  # a 2xx/3xx that is not the post: whether it posted is unknown


def _lookup_error(response: requests.Response) -> Exception:
    """A failed lookup published nothing, so nothing here is "unknown": ask again or give up."""
    status = response.status_code
    text = f"could not ask the forum about the earlier attempt: HTTP {status}: " \
           f"{_errors(response) or response.text[:300]}"
    if status == 429:
        return ThrottledError(text, retry_after=retry_after(response) or _wait_seconds(response))
    if status >= 500:
        return RetryableError(text, retry_after=retry_after(response))
    return PermanentError(text)
