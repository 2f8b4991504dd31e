"""A fake Discourse forum behaving as channel-contracts.md §5 describes.

``POST /posts.json`` creates topics (with ``external_id``) and replies, validates titles and bodies with
the forum's default lengths (422), refuses bad keys (403), throttles past ``per_minute`` (429 with
``Retry-After`` and ``extras.wait_seconds``), can hold posts for review (``enqueued``), be read-only (503)
or lose its answers after creating the post (502, as a broken proxy would). ``GET /t/external_id/{id}.json``
answers 301 to ``/t/{topic_id}.json`` for a known id.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.server import json_response

MIN_TITLE, MAX_TITLE, MIN_POST, MAX_POST = 15, 255, 20, 32000
EXTERNAL_ID = re.compile(r"[A-Za-z0-9_-]{1,50}")


@dataclass
class Post:
    id: int
    topic_id: int
    post_number: int
    raw: str


@dataclass
class Topic:
    id: int
    title: str
    slug: str
    category: int | None
    external_id: str | None
    posts: list[Post] = field(default_factory=list)


@dataclass
class FakeDiscourse:
    api_key: str = "discourse-test-key-0123456789"
    username: str = "system"
    categories: tuple[int, ...] = (5,)
    per_minute: int = 60
    clock: Callable[[], float] = time.monotonic
    review: bool = False  # new posts wait in the review queue
    read_only: bool = False
    lose_answers: int = 0  # create the next N posts, then answer 502 instead of the post
    topics: dict[int, Topic] = field(default_factory=dict)
    pending: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._recent: deque[float] = deque()
        self._next_id = 100

    @property
    def posts(self) -> list[Post]:
        return [post for topic in self.topics.values() for post in topic.posts]

    def add_topic(self, title: str, raw: str = "An existing topic's first post.",
                  external_id: str | None = None) -> Topic:
        with self._lock:
            return self._create_topic(title, raw, self.categories[0], external_id)

    # ---- routing -------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if (request.headers.get("Api-Key") != self.api_key
                or request.headers.get("Api-Username") != self.username):
            return _error(403, "You are not permitted to view the requested resource.",
                          "invalid_access")
        path = request.path
        with self._lock:
            if request.method == "POST" and path == "/posts.json":
                return self._create_post(request)
            if request.method == "GET":
                if match := re.fullmatch(r"/t/external_id/([^/]+)\.json", path):
                    return self._by_external_id(match.group(1))
                if match := re.fullmatch(r"/t/(?:[^/]+/)?(\d+)\.json", path):
                    return self._topic(int(match.group(1)))
                if match := re.fullmatch(r"/c/(\d+)/show\.json", path):
                    return self._category(int(match.group(1)))
                if path == "/session/current.json":
                    return json_response({"current_user": {"id": 1, "username": self.username}})
        return _error(404, "The requested URL or resource could not be found.", "not_found")

    # ---- posts ---------------------------------------------------------------------------------

    def _create_post(self, request: Request) -> Response:
        if self.read_only:
            return _error(503, "The site is in read only mode. Interactions are disabled.",
                          "read_only")
        now = self.clock()
        while self._recent and self._recent[0] <= now - 60:
            self._recent.popleft()
        if len(self._recent) >= self.per_minute:
            wait = max(1, int(60 - (now - self._recent[0])))
            return json_response(
                {"errors": [f"You’ve performed this action too many times. Please wait {wait} "
                            f"seconds before trying again."], "error_type": "rate_limit",
                 "extras": {"wait_seconds": wait, "time_left": f"{wait} seconds"}},
                status=429, headers={"Retry-After": str(wait)})
        self._recent.append(now)
        data = request.get_json(silent=True) if request.is_json else request.form.to_dict()
        if not isinstance(data, dict) or not str(data.get("raw") or "").strip():
            return _error(400, "param is missing or the value is empty: raw", "invalid_parameters")
        raw = str(data["raw"])
        errors = []
        if len(raw.strip()) < MIN_POST:
            errors.append(f"Body is too short (minimum is {MIN_POST} characters)")
        if len(raw) > MAX_POST:
            errors.append(f"Body is limited to {MAX_POST} characters; you entered {len(raw)}.")
        if data.get("topic_id") is not None:
            topic = self.topics.get(int(data["topic_id"]))
            if topic is None:
                return _error(404, "The requested URL or resource could not be found.", "not_found")
        else:
            errors.extend(self._topic_errors(data))
        if errors:
            return json_response({"action": "create_post", "errors": errors}, status=422)
        if self.review:
            self.pending.append(data)
            return json_response({"success": True, "action": "enqueued",
                                  "pending_post": {"id": len(self.pending), "raw": raw},
                                  "pending_count": len(self.pending)})
        if data.get("topic_id") is not None:
            post = self._add_post(topic, raw)
        else:
            topic = self._create_topic(str(data["title"]).strip(), raw, data.get("category"),
                                       data.get("external_id"))
            post = topic.posts[0]
        if self.lose_answers:
            self.lose_answers -= 1
            return Response("<html><body>502 Bad Gateway</body></html>", status=502,
                            content_type="text/html")
        return json_response({
            "id": post.id, "topic_id": topic.id, "topic_slug": topic.slug,
            "post_number": post.post_number, "username": self.username, "raw": raw,
            "post_url": f"/t/{topic.slug}/{topic.id}/{post.post_number}", "cooked": "<p>…</p>",
        })

    def _topic_errors(self, data: dict[str, Any]) -> list[str]:
        errors = []
        title = str(data.get("title") or "").strip()
        if len(title) < MIN_TITLE:
            errors.append(f"Title is too short (minimum is {MIN_TITLE} characters)")
        if len(title) > MAX_TITLE:
            errors.append(f"Title is too long (maximum is {MAX_TITLE} characters)")
        if any(t.title.lower() == title.lower() for t in self.topics.values()):
            errors.append("Title has already been used")
        if data.get("category") is not None and int(data["category"]) not in self.categories:
            errors.append("Category can't be blank")
        external = data.get("external_id")
        if external is not None:
            if not EXTERNAL_ID.fullmatch(str(external)):
                errors.append("External is invalid")
            elif self._find_external(str(external)) is not None:
                errors.append("External has already been taken")
        return errors

    def _create_topic(self, title: str, raw: str, category: Any, external: Any) -> Topic:
        self._next_id += 1
        slug = "-".join(re.findall(r"[a-z0-9]+", title.lower())) or "topic"
        topic = Topic(self._next_id, title, slug, int(category) if category is not None else None,
                      str(external) if external is not None else None)
        self.topics[topic.id] = topic
        self._add_post(topic, raw)
        return topic

    def _add_post(self, topic: Topic, raw: str) -> Post:
        self._next_id += 1
        post = Post(self._next_id, topic.id, len(topic.posts) + 1, raw)
        topic.posts.append(post)
        return post

    # ---- lookups -------------------------------------------------------------------------------

    def _find_external(self, external: str) -> Topic | None:
        return next((t for t in self.topics.values()
                     if t.external_id and t.external_id.lower() == external.lower()), None)

    def _by_external_id(self, external: str) -> Response:
        topic = self._find_external(external)
        if topic is None:
            return _error(404, "The requested URL or resource could not be found.", "not_found")
        return Response("", status=301, headers={"Location": f"/t/{topic.id}.json"})

    def _topic(self, topic_id: int) -> Response:
        topic = self.topics.get(topic_id)
        if topic is None:
            return _error(404, "The requested URL or resource could not be found.", "not_found")
        return json_response({
            "id": topic.id, "title": topic.title, "slug": topic.slug,
            "category_id": topic.category, "external_id": topic.external_id,
            "post_stream": {"posts": [{"id": p.id, "post_number": p.post_number}
                                      for p in topic.posts[:20]],
                            "stream": [p.id for p in topic.posts]},
        })

    def _category(self, category_id: int) -> Response:
        if category_id not in self.categories:
            return _error(404, "The requested URL or resource could not be found.", "not_found")
        return json_response({"category": {"id": category_id, "name": "Announcements",
                                           "slug": "announcements"}})


def _error(status: int, message: str, error_type: str) -> Response:
    return Response(json.dumps({"errors": [message], "error_type": error_type}), status=status,
                    content_type="application/json; charset=utf-8")
