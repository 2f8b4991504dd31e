"""``wechat_mp``: a WeChat Official Account (公众号) article, saved as a draft and then free-published.

Flow (channel-contracts.md §6): a stable access token (cached per process), a cover image (permanent
material, uploaded once per process and account: the article needs one and the channel has no image of
its own), ``draft/add``, ``freepublish/submit`` → ``publish_id``, then a few short ``freepublish/get``
polls for the article URL. Publishing is asynchronous and may take minutes (review, originality checks);
rather than hold a dispatcher thread that long, a job still publishing after the polls is recorded as
sent with its ``publish_id`` and no URL.

The platform has no idempotency: once ``freepublish/submit`` may have been received, a lost answer is
"outcome unknown" and left to an operator. Everything before it (token, cover, draft) publishes nothing,
so a lost answer there is simply retried (at worst an unused draft stays in the draft box).
"""

from __future__ import annotations

import json
import re
import struct
import time
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

from channels.wechat_mp_html import article_html
from channels.wechat_mp_token import COVERS, TOKENS
from planner.channel_api import (
    Capabilities,
    ChannelError,
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
from planner.channel_http import call, json_body, raise_for_status

MAX_CONTENT_CHARS = 19_999  # content must be under 20 000 characters…
MAX_CONTENT_BYTES = 1024 * 1024 - 1  # …and under 1 MB
MAX_TITLE, MAX_AUTHOR = 32, 16
CHINA = timezone(timedelta(hours=8))  # daily quotas reset at midnight, Beijing time
TOKEN_EXPIRED = {40001, 40014, 42001}
TOKEN_MARGIN = 60.0  # seconds: stop using a token shortly before the platform drops it
SECRET_QUERY = re.compile(r"(access_token|secret)=[^&\s'\"]+")

HINTS = {
    40164: "this server's IP address is not in the account's IP allowlist (MP console: 设置与开发 → "
           "基本配置 → IP白名单); add it, then retry",
    48001: "the account is not authorised for this API (free publishing needs the permission, "
           "usually a verified account)",
    41001: "the request carried no access token",
    40013: "the AppID is not valid",
    40125: "the AppSecret is not valid",
    40007: "a media id is not valid (the cover must be a permanent image; the draft may be gone)",
    44003: "the article is empty",
    45002: "the article is too long",
    45003: "the title is too long",
    40005: "the file type is not accepted",
    40009: "the image is too large",
    53503: "the draft failed the publishing check",
    53504: "this draft can only be published on the MP website",
    53505: "save the draft on the MP website first, then publish it",
}
PUBLISH_FAILURES = {
    2: "failed the originality check", 3: "failed", 4: "was rejected by review",
    5: "was published, then deleted in the MP console", 6: "was published, then banned by the platform",
}


class WeChatOfficialAccountChannel(ChannelKind):
    name = "wechat_mp"
    label = _l("WeChat Official Account (公众号)")
    settings_schema = (
        Setting("app_id", _l("AppID"), help=_l("MP console: 设置与开发 → 基本配置")),
        Setting("app_secret", _l("AppSecret"), secret=True),
        Setting("api_base", _l("API address"), default="https://api.weixin.qq.com"),
        Setting("author", _l("Author"), required=False, default="",
                help=_l("Shown under the article title; at most %(limit)s characters", limit=MAX_AUTHOR)),
    )
    # No per-minute limit is documented; the binding limits are per-API daily quotas (45009).
    limits = Limits(max_length=MAX_CONTENT_CHARS, unit="characters", per_minute=10, max_parts=1)
    capabilities = Capabilities(idempotency_key=False, confirmable=False, remote_url=True, titles=True)
    render_settings = ("author",)
    polls = 5  # freepublish/get calls after submitting, poll_interval seconds apart
    poll_interval = 2.0
    sleep: Callable[[float], None] = staticmethod(time.sleep)

    def render(self, post: PostContent) -> list[Message]:
        title = " ".join(post.title.split())
        if not title or len(title) > MAX_TITLE:
            raise RenderError(_l("a WeChat article title needs 1 to %(limit)s characters; this one has "
                                 "%(length)s", limit=MAX_TITLE, length=len(title)))
        author = str(self.settings.get("author") or "").strip()
        if len(author) > MAX_AUTHOR:
            raise RenderError(_l("the author setting has %(length)s characters; WeChat shows at most "
                                 "%(limit)s", length=len(author), limit=MAX_AUTHOR))
        content = article_html(post.body)
        if not content:
            raise RenderError(_l("the post has no text to publish"))
        size = len(content.encode("utf-8"))
        if len(content) > MAX_CONTENT_CHARS or size > MAX_CONTENT_BYTES:
            raise RenderError(_l("the article is %(length)s characters (%(size)s bytes) as HTML; WeChat "
                                 "takes under 20000 characters and under 1 MB",
                                 length=len(content), size=size))
        return [Message(text=content, title=title, format="html")]

    def send(self, message: Message, http: Any, idempotency_key: str) -> Receipt:
        api = _Api(http, self.settings)
        draft = {"article_type": "news", "title": message.title, "content": message.text,
                 "author": str(self.settings.get("author") or "").strip(),
                 "thumb_media_id": api.cover(), "need_open_comment": 0, "only_fans_can_comment": 0}
        try:
            saved = api.post("/cgi-bin/draft/add", {"articles": [draft]})
        except WeChatRefusal as error:
            if error.errcode != 40007:
                raise
            draft["thumb_media_id"] = api.cover(replace=draft["thumb_media_id"])  # cover deleted?
            saved = api.post("/cgi-bin/draft/add", {"articles": [draft]})
        if not saved.get("media_id"):
            raise RetryableError("draft/add answered without a media_id; nothing was published")
        submitted = api.post("/cgi-bin/freepublish/submit", {"media_id": saved["media_id"]},
                             publishing=True)
        publish_id = str(submitted.get("publish_id") or "")
        if not publish_id:
            raise OutcomeUnknownError("freepublish/submit accepted the draft without a publish_id")
        return Receipt(remote_id=publish_id, remote_url=self._article_url(api, publish_id))

    def check(self, http: Any) -> None:
        """Fetching an access token proves the AppID, the AppSecret and the IP allowlist."""
        _Api(http, self.settings).token(fresh=True)

    def _article_url(self, api: _Api, publish_id: str) -> str | None:
        """The article URL once publishing finished; None while it is still going on.

        The article is already submitted here: a failed lookup must never become an error that
        would resend it.
        """
        for _ in range(self.polls):
            self.sleep(self.poll_interval)
            try:
                data = api.post("/cgi-bin/freepublish/get", {"publish_id": publish_id})
            except ChannelError:
                return None
            status = data.get("publish_status")
            if status == 0:
                items = (data.get("article_detail") or {}).get("item") or []
                return next((i["article_url"] for i in items if i.get("article_url")), None)
            if status in PUBLISH_FAILURES:
                raise PermanentError(f"publish job {publish_id} {PUBLISH_FAILURES[status]} "
                                     f"(publish_status {status}, fail_idx {data.get('fail_idx')})")
        return None


# ---- the API: tokens, covers, calls ---------------------------------------------------------------

class _Api:
    def __init__(self, http: Any, settings: dict[str, Any]) -> None:
        self.http = http
        self.base = str(settings.get("api_base") or "https://api.weixin.qq.com").rstrip("/")
        self.app_id = str(settings["app_id"])
        self.secret = str(settings["app_secret"])
        self.key = (self.base, self.app_id)

    def token(self, *, fresh: bool = False, stale: str | None = None) -> str:
        """The account's stable access token; ``stale`` is one the platform just refused."""
        if stale:
            TOKENS.forget(self.key, stale)
        if not fresh and (cached := TOKENS.get(self.key)):
            return cached  # another delivery may have refreshed it meanwhile
        data = self._token_call(force=False)
        if stale and data["access_token"] == stale:
            data = self._token_call(force=True)  # the platform still hands out the refused one
        TOKENS.put(self.key, data["access_token"], max(0.0, data["expires_in"] - TOKEN_MARGIN))
        return data["access_token"]

    def _token_call(self, *, force: bool) -> dict[str, Any]:
        body = {"grant_type": "client_credential", "appid": self.app_id, "secret": self.secret,
                "force_refresh": force}
        data = self._exchange("/cgi-bin/stable_token", body=body)
        code = data.get("errcode") or 0
        if code in (40001, 40125):
            raise PermanentError(f"WeChat errcode {code}: {_errmsg(data)} — the AppSecret is wrong")
        if code:
            raise _error_for(data)
        if not data.get("access_token"):
            raise RetryableError("stable_token answered without an access_token")
        expires_in = data.get("expires_in")
        return {"access_token": str(data["access_token"]),
                "expires_in": float(expires_in) if isinstance(expires_in, int | float) else 7200.0}

    def cover(self, replace: str | None = None) -> str:
        """The permanent image material used as every article's cover."""
        if replace:
            COVERS.forget(self.key, replace)
        elif cached := COVERS.get(self.key):
            return cached
        files = {"media": ("cover.png", plain_cover(), "image/png")}
        data = self.post("/cgi-bin/material/add_material", None, files=files, query={"type": "image"})
        if not data.get("media_id"):
            raise RetryableError("add_material answered without a media_id")
        COVERS.put(self.key, str(data["media_id"]))
        return str(data["media_id"])

    def post(self, path: str, payload: dict[str, Any] | None, *, publishing: bool = False,
             files: dict[str, Any] | None = None, query: dict[str, str] | None = None
             ) -> dict[str, Any]:
        """A business call with the access token; a stale token is refreshed and the call made once
        more. Raises the mapped error for a non-zero ``errcode``."""
        query = query or {}
        token = self.token()
        data = self._exchange(path, body=payload, files=files, publishing=publishing,
                              query={**query, "access_token": token})
        if data.get("errcode") in TOKEN_EXPIRED:  # refused, so nothing happened: ask once more
            token = self.token(stale=token)
            data = self._exchange(path, body=payload, files=files, publishing=publishing,
                                  query={**query, "access_token": token})
            if data.get("errcode") in TOKEN_EXPIRED:
                raise RetryableError(f"WeChat errcode {data['errcode']}: {_errmsg(data)} "
                                     f"(even with a new token)")
        if data.get("errcode"):
            raise _error_for(data)
        return data

    def _exchange(self, path: str, *, body: dict[str, Any] | None = None,
                  files: dict[str, Any] | None = None, query: dict[str, str] | None = None,
                  publishing: bool = False) -> dict[str, Any]:
        """One request. Before publishing, a lost answer published nothing: retry. While publishing,
        any answer that is not the platform's own is "unknown"."""
        kwargs: dict[str, Any] = {"params": query or {}}
        if files is not None:
            kwargs["files"] = files
        else:  # real UTF-8, never \\uXXXX escapes: the platform would store them literally
            kwargs["data"] = json.dumps(body, ensure_ascii=False).encode("utf-8")
            kwargs["headers"] = {"Content-Type": "application/json; charset=utf-8"}
        try:
            response = call(self.http, "POST", self.base + path, **kwargs)
            if publishing and response.status_code >= 500:
                raise OutcomeUnknownError(f"HTTP {response.status_code} from {path}")
            raise_for_status(response, f"HTTP {response.status_code} from {path}: "
                                       f"{response.text[:200]}")
            return json_body(response)
        except OutcomeUnknownError as error:
            if publishing:
                raise OutcomeUnknownError(self._redact(error.message)) from None
            raise RetryableError(f"{self._redact(error.message)}; nothing was published") from None
        except ChannelError as error:
            raise type(error)(self._redact(error.message), error.retry_after) from None

    def _redact(self, text: str) -> str:
        text = SECRET_QUERY.sub(r"\1=••••", text)
        return text.replace(self.secret, "••••") if len(self.secret) >= 4 else text


class WeChatRefusal(PermanentError):
    """A permanent ``errcode``, kept so a caller can react to a particular one."""

    def __init__(self, message: str, errcode: int) -> None:
        super().__init__(message)
        self.errcode = errcode


def _errmsg(data: dict[str, Any]) -> str:
    return str(data.get("errmsg") or "").strip()


def _error_for(data: dict[str, Any]) -> ChannelError:
    code = data.get("errcode")
    text = f"WeChat errcode {code}: {_errmsg(data)}"
    if code == 45009:
        return ThrottledError(text + " — the daily quota is used up; it resets at midnight "
                                     "(Beijing time)", retry_after=seconds_until_quota_reset())
    if code == 45011:
        return ThrottledError(text + " — the per-minute quota is reached", retry_after=60.0)
    if code == -1:
        return RetryableError(text + " — the platform is busy")
    hint = HINTS.get(code) if isinstance(code, int) else None
    return WeChatRefusal(f"{text} — {hint}" if hint else text, code if isinstance(code, int) else 0)


def seconds_until_quota_reset(now: datetime | None = None) -> float:
    now = (now or datetime.now(CHINA)).astimezone(CHINA)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()


@cache
def plain_cover(width: int = 900, height: int = 383, rgb: bytes = b"\x2b\x6c\xb0") -> bytes:
    """A one-colour PNG in the 2.35:1 cover shape."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = (b"\x00" + rgb * width) * height
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
