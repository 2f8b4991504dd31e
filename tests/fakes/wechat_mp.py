"""A fake WeChat Official Account API behaving as channel-contracts.md §6 describes.

Every business answer is HTTP 200 with ``errcode``/``errmsg`` (errmsg with `` rid: …`` appended, as the
platform does). Stable tokens: the normal mode hands out the current token while it is valid,
``force_refresh`` replaces it; an expired token gets 42001, an unknown or revoked one 40001. Drafts,
covers (permanent material) and publish jobs live in memory; a job answers ``publish_status`` 1 for
``publishing_polls`` polls, then its ``final_status`` (0 with the article URL by default).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.server import json_response

MAX_TITLE, MAX_CONTENT_CHARS, MAX_CONTENT_BYTES = 32, 20_000, 1024 * 1024
MESSAGES = {
    -1: "system error", 40001: "invalid credential, access_token is invalid or not latest",
    40007: "invalid media_id", 40013: "invalid appid", 40164: "invalid ip 10.1.2.3 ipv6 "
    "::ffff:10.1.2.3, not in whitelist", 41001: "access_token missing", 42001: "access_token expired",
    44003: "empty news data", 45002: "content size out of limit", 45003: "title size out of limit",
    45009: "reach max api daily quota limit", 45011: "api minute-quota reach limit",
    48001: "api unauthorized", 53503: "draft can not be published",
}


@dataclass
class FakeWeChat:
    app_id: str = "wx0123456789abcdef"
    app_secret: str = "wechat-test-secret-0123456789abcdef"
    ip_allowed: bool = True
    publishing_polls: int = 1
    final_status: int = 0
    daily_quota: dict[str, int] = field(default_factory=dict)  # path -> calls allowed today
    fail_next: dict[str, list[int]] = field(default_factory=dict)  # path -> errcodes to answer
    lose_answers: set[str] = field(default_factory=set)  # act, then answer 502 (once per path)
    materials: dict[str, bytes] = field(default_factory=dict)
    drafts: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    published: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._calls: Counter[str] = Counter()
        self.token: str | None = None
        self.expired: set[str] = set()
        self.revoked: set[str] = set()  # refused by business calls, still handed out in normal mode

    def expire_tokens(self) -> None:
        with self._lock:
            if self.token:
                self.expired.add(self.token)

    def revoke_token(self) -> None:
        with self._lock:
            if self.token:
                self.revoked.add(self.token)

    # ---- routing -------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        path = request.path
        with self._lock:
            self._calls[path] += 1
            if not self.ip_allowed:
                return _fail(40164)
            if (queued := self.fail_next.get(path)) and queued:
                return _fail(queued.pop(0))
            if path in self.daily_quota and self._calls[path] > self.daily_quota[path]:
                return _fail(45009)
            if path == "/cgi-bin/stable_token":
                return self._stable_token(request)
            refused = self._refuse_token(request.args.get("access_token"))
            if refused:
                return _fail(refused)
            handler = {
                "/cgi-bin/material/add_material": self._add_material,
                "/cgi-bin/draft/add": self._draft_add,
                "/cgi-bin/freepublish/submit": self._submit,
                "/cgi-bin/freepublish/get": self._get,
            }.get(path)
            if handler is None or request.method != "POST":
                return Response("not found", status=404)
            answer = handler(request)
            if path in self.lose_answers:
                self.lose_answers.discard(path)
                return Response("<html>502 Bad Gateway</html>", status=502, content_type="text/html")
            return answer

    # ---- tokens --------------------------------------------------------------------------------

    def _stable_token(self, request: Request) -> Response:
        body = _json(request)
        if body.get("appid") != self.app_id:
            return _fail(40013)
        if body.get("secret") != self.app_secret:
            return _fail(40001)
        if body.get("force_refresh") or self.token is None or self.token in self.expired:
            if self.token:
                self.expired.add(self.token)
            self.token = f"TOKEN-{next(self._ids)}-" + "x" * 40
        return json_response({"access_token": self.token, "expires_in": 7200})

    def _refuse_token(self, token: str | None) -> int:
        if not token:
            return 41001
        if token in self.expired:
            return 42001
        if token != self.token or token in self.revoked:
            return 40001
        return 0

    # ---- material, drafts, publishing ----------------------------------------------------------

    def _add_material(self, request: Request) -> Response:
        media = request.files.get("media")
        if request.args.get("type") != "image" or media is None:
            return _fail(40005)
        media_id = f"COVER-{next(self._ids)}"
        self.materials[media_id] = media.read()
        request.close()  # the upload's temporary file
        return json_response({"media_id": media_id, "url": f"http://mmbiz.qpic.cn/{media_id}"})

    def _draft_add(self, request: Request) -> Response:
        articles = _json(request).get("articles") or []
        for article in articles:
            content = str(article.get("content") or "")
            if not content.strip():
                return _fail(44003)
            if len(content) >= MAX_CONTENT_CHARS or len(content.encode()) >= MAX_CONTENT_BYTES:
                return _fail(45002)
            if len(str(article.get("title") or "")) > MAX_TITLE:
                return _fail(45003)
            if article.get("thumb_media_id") not in self.materials:
                return _fail(40007)
        media_id = f"DRAFT-{next(self._ids)}"
        self.drafts[media_id] = {"articles": articles, "raw": request.get_data()}
        return json_response({"media_id": media_id})

    def _submit(self, request: Request) -> Response:
        draft = self.drafts.pop(str(_json(request).get("media_id")), None)
        if draft is None:
            return _fail(40007)
        publish_id = str(2247483000 + next(self._ids))
        self.jobs[publish_id] = {"draft": draft, "polls_left": self.publishing_polls,
                                 "status": self.final_status}
        if self.final_status == 0:
            self.published.append(draft["articles"][0])
        return json_response({"errcode": 0, "errmsg": "ok", "publish_id": publish_id,
                              "msg_data_id": int(publish_id)})

    def _get(self, request: Request) -> Response:
        publish_id = str(_json(request).get("publish_id"))
        job = self.jobs.get(publish_id)
        if job is None:
            return _fail(40007)
        if job["polls_left"] > 0:
            job["polls_left"] -= 1
            return json_response({"publish_id": publish_id, "publish_status": 1})
        answer: dict[str, Any] = {"publish_id": publish_id, "publish_status": job["status"],
                                  "fail_idx": [] if job["status"] == 0 else [1]}
        if job["status"] == 0:
            answer["article_id"] = f"ARTICLE-{publish_id}"
            answer["article_detail"] = {"count": 1, "item": [
                {"idx": 1, "article_url": f"https://mp.weixin.qq.com/s/{publish_id}"}]}
        return json_response(answer)

    def calls(self, path: str) -> int:
        return self._calls[path]


def _json(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(request.get_data().decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _fail(code: int) -> Response:
    return json_response({"errcode": code, "errmsg": f"{MESSAGES.get(code, 'error')} rid: 6650a1b2-"
                                                     f"0c4d5e6f-7a8b9c0d"})
