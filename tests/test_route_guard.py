"""The permission matrix: every route (web and API, every method) × every kind of caller.

Routes come from the app's own URL map. What each route allows comes from what its view declares
(``api_endpoint.role`` for the API, ``required_role`` for pages) or, for views without such a
declaration, from the tables below: a new route that has neither fails this test until someone
decides who may call it. The workspace is seeded first, so every id in a URL names a real object
and a 404 cannot hide a wrong 403.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from planner import create_app
from planner.models import ApiToken, AuditEntry, Channel, Comment, Feed, Post, Role, Series
from planner.services import users
from planner.state import state
from tests.conftest import PASSWORD, Auth, csrf_from
from tests.seed_helpers import World, seed, token

# Pages anyone may open. /calendar.ics is read with the secret token in its link instead.
PUBLIC = {"/login", "/healthz", "/metrics", "/static/<path:filename>", "/calendar.ics",
          "/book", "/book/<int:slot_id>", "/book/manage/<token>", "/book/manage/<token>/booking.ics",
          "/api/v1/openapi.json"}
# Pages for anyone signed in (every role); what they may change is checked by the services.
SIGNED_IN = {
    "/", "/account", "/account/calendar", "/account/security", "/account/security/sign-out-everywhere",
    "/account/security/tokens/<int:token_id>/revoke", "/logout", "/outbox",
    "/posts/new", "/posts/<int:post_id>", "/posts/<int:post_id>/edit", "/posts/import", "/posts/export",
    "/posts/<int:post_id>/<any(submit, approve, reject, cancel, delete):action>",
    "/posts/<int:post_id>/comments", "/comments/<int:comment_id>/delete",
    "/review/expired", "/review/expired/<int:post_id>/reschedule",
    "/series", "/series/new", "/series/<int:series_id>", "/series/<int:series_id>/edit",
    "/series/<int:series_id>/end", "/series/<int:series_id>/delete",
    "/feeds", "/feeds/export.opml", "/feeds/import", "/feeds/<int:feed_id>/edit",
    "/feeds/<int:feed_id>/delete", "/feeds/<int:feed_id>/poll", "/feeds/<int:feed_id>/resume",
    "/inbox", "/inbox/dismiss", "/inbox/<int:item_id>/dismiss", "/inbox/<int:item_id>/share",
    "/inbox/<int:item_id>/star", "/inbox/<int:item_id>/unstar",
}
# Where an editor may only change what they wrote or subscribed to: the other editor gets a 403.
OWNED = {
    ("GET", "/posts/<int:post_id>/edit"), ("POST", "/posts/<int:post_id>/edit"),
    ("POST", "/posts/<int:post_id>/submit"), ("POST", "/posts/<int:post_id>/cancel"),
    ("POST", "/posts/<int:post_id>/delete"),
    ("PATCH", "/api/v1/posts/<int:post_id>"), ("DELETE", "/api/v1/posts/<int:post_id>"),
    ("POST", "/api/v1/posts/<int:post_id>/submit"), ("POST", "/api/v1/posts/<int:post_id>/cancel"),
    ("POST", "/api/v1/posts/<int:post_id>/move"),
    ("POST", "/comments/<int:comment_id>/delete"), ("DELETE", "/api/v1/comments/<int:comment_id>"),
    ("GET", "/series/<int:series_id>/edit"), ("POST", "/series/<int:series_id>/edit"),
    ("POST", "/series/<int:series_id>/end"), ("POST", "/series/<int:series_id>/delete"),
    ("PATCH", "/api/v1/series/<int:series_id>"), ("DELETE", "/api/v1/series/<int:series_id>"),
    ("POST", "/api/v1/series/<int:series_id>/end"),
    ("POST", "/feeds/<int:feed_id>/edit"),
    ("POST", "/feeds/<int:feed_id>/delete"), ("POST", "/feeds/<int:feed_id>/resume"),
    ("PATCH", "/api/v1/feeds/<int:feed_id>"), ("DELETE", "/api/v1/feeds/<int:feed_id>"),
}  # Anyone signed in may read a feed's settings and poll it now: that changes nothing of it.
# Requests valid enough to reach the permission check (an empty one would stop at validation).
API_BODIES = {"/api/v1/posts/<int:post_id>/move": {"scheduled_at": "2026-12-01T09:00:00+08:00"}}
FORMS = {"/feeds/<int:feed_id>/edit": {"url": "http://127.0.0.1:9/feed.xml", "title_override": "Mine now"}}
# Page actions whose role the service checks (the route itself is for anyone signed in).
SERVICE_ROLES = {"/posts/<int:post_id>/approve": Role.operator, "/posts/<int:post_id>/reject": Role.operator}
# Routes that end the caller's session: they run last, each on a session of its own.
SESSION_ENDING = {"/logout", "/account/security/sign-out-everywhere"}
# Values for path parameters that are not ids of seeded objects.
NAMES = {"kind_name": "outbox", "name": "deliveries", "filename": "style.css"}
ACTIONS = {"/slots/<int:slot_id>/<action>": "close", "/bookings/<int:booking_id>/<action>": "confirm"}

CALLERS = ("anonymous", "foreign token", "read token", "editor", "other editor", "operator", "admin")
RANK = {Role.editor: 1, Role.operator: 2, Role.admin: 3}
ROLE_OF = {"editor": Role.editor, "other editor": Role.editor, "operator": Role.operator,
           "admin": Role.admin, "read token": Role.admin}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
TARGETS = {"post_id": Post, "feed_id": Feed, "series_id": Series, "comment_id": Comment,
           "channel_id": Channel}


@dataclass(frozen=True)
class Route:
    rule: str  # as declared, e.g. /posts/<int:post_id>/<any(...):action>
    path_rule: str  # with any(...) resolved, e.g. /posts/<int:post_id>/submit
    method: str
    need: Role | None  # None: public

    @property
    def api(self) -> bool:
        return self.rule.startswith("/api/")

    @property
    def destructive(self) -> bool:
        return self.method == "DELETE" or self.path_rule.endswith("/delete")


def declared_need(app, rule) -> Role | None | str:  # type: ignore[no-untyped-def]
    view = app.view_functions[rule.endpoint]
    spec = getattr(view, "api_endpoint", None)
    if spec is not None:
        return spec.role
    if getattr(view, "required_role", None) is not None:
        return view.required_role
    if rule.rule in PUBLIC:
        return None
    if rule.rule in SIGNED_IN:
        return Role.editor
    return "undeclared"


def routes_of(app) -> list[Route]:  # type: ignore[no-untyped-def]
    found, undeclared = [], []
    for rule in app.url_map.iter_rules():
        need = declared_need(app, rule)
        if need == "undeclared":
            undeclared.append(rule.rule)
            continue
        choice = re.search(r"<any\(([^)]*)\):\w+>", rule.rule)
        variants = [rule.rule.replace(choice.group(0), option.strip())
                    for option in choice.group(1).split(",")] if choice else [rule.rule]
        for path_rule in variants:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append(Route(rule.rule, path_rule, method, SERVICE_ROLES.get(path_rule, need)))
    assert not undeclared, (f"routes without a permission rule: {undeclared}: give the view a "
                            "role (role_required / endpoint(role=...)) or list it in PUBLIC or SIGNED_IN")
    return found


def expected(route: Route, caller: str) -> str:
    """'allow', 'login' (sent to sign in), '401' or '403' (a page may instead refuse with a
    message: see Matrix.check)."""
    if route.need is None:
        return "allow"
    if caller in ("anonymous", "foreign token") or (caller == "read token" and not route.api):
        return "401" if route.api else "login"  # a bearer token opens no page
    if caller == "read token" and route.method in UNSAFE:
        return "403"
    if RANK[ROLE_OF[caller]] < RANK[route.need]:
        return "403"
    if caller == "other editor" and (route.method, route.path_rule) in OWNED:
        return "403"
    return "allow"


class Matrix:
    """Calls each cell as its caller and compares the outcome with the expectation."""

    def __init__(self, app, st, world: World, foreign: str) -> None:  # type: ignore[no-untyped-def]
        self.app, self.st, self.world = app, st, world
        self.bearer = {"foreign token": foreign,
                       "read token": token(st, world.admin, scope="read")}
        self.users = {"editor": world.editor, "other editor": world.other_editor,
                      "operator": world.operator, "admin": world.admin}
        self.clients = {name: self.signed_in(user) for name, user in self.users.items()}
        self.anonymous = app.test_client()
        self.clients["anonymous"] = self.anonymous
        self.csrf = {name: csrf_from(client.get("/account/security" if name != "anonymous"
                                                else "/login").get_data(as_text=True))
                     for name, client in self.clients.items()}
        self.spare_tokens = {name: self.spare_token(user) for name, user in self.users.items()}
        self.app.config.update(PUBLIC_RATE_LIMIT_READS=100_000, PUBLIC_RATE_LIMIT_WRITES=100_000)
        self.outcomes: Counter[str] = Counter()

    def signed_in(self, user):  # type: ignore[no-untyped-def]
        client = self.app.test_client()
        assert Auth(client).login(user.email, PASSWORD).status_code == 302
        return client

    def spare_token(self, user) -> int:  # type: ignore[no-untyped-def]
        token(self.st, user)
        with self.st.sessions() as session:
            return session.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id)
                                  .order_by(ApiToken.id.desc()))

    # ---- making the request --------------------------------------------------------------------

    def path(self, route: Route, caller: str, fresh: bool) -> str:
        ids = dict(self.world.ids)
        if fresh:
            ids.update(self.fresh_objects())
        post = "in_review" if route.path_rule.endswith(("/approve", "/reject")) else "draft"
        values = {"post_id": ids[post], "channel_id": ids["channel"], "delivery_id": ids["delivery"],
                  "feed_id": ids["feed"], "item_id": ids["feed_item"], "comment_id": ids["comment"],
                  "series_id": ids["series"], "slot_id": ids["slot"], "booking_id": ids["booking"],
                  "token": self.world.booking_token,
                  "token_id": self.spare_tokens.get(caller, 1),
                  "action": ACTIONS.get(route.rule, "")} | NAMES
        path = re.sub(r"<(?:[\w(), ]+:)?(\w+)>", lambda m: str(values[m.group(1)]), route.path_rule)
        if path == "/calendar.ics":
            path += f"?token={self.world.calendar_token}"
        return path

    def call(self, route: Route, caller: str, *, fresh: bool = False, client=None):  # type: ignore[no-untyped-def]
        path = self.path(route, caller, fresh)
        headers = {}
        if caller in self.bearer:
            headers["Authorization"] = f"Bearer {self.bearer[caller]}"
        if route.api:
            if caller in self.users:
                headers["Authorization"] = f"Bearer {self.world.tokens[caller.replace(' ', '_')]}"
            body = ({"json": API_BODIES.get(route.path_rule, {})}
                    if route.method in ("POST", "PATCH", "PUT") else {})
            return self.anonymous.open(path, method=route.method, headers=headers, **body)
        session = "anonymous" if caller not in self.users else caller
        client = client or self.clients[session]
        data = ({"data": {"csrf_token": self.csrf[session]} | FORMS.get(route.path_rule, {})}
                if route.method in UNSAFE else {})
        return client.open(path, method=route.method, headers=headers, **data)

    def fresh_objects(self) -> dict[str, int]:
        """New objects for a cell that deletes what it is given, so the next cell still finds one."""
        world, st = self.world, self.st
        world_api = self.anonymous

        def api(who: str, method: str, path: str, body: dict) -> int:  # type: ignore[type-arg]
            response = world_api.open(f"/api/v1{path}", method=method, json=body, headers={
                "Authorization": f"Bearer {world.tokens[who]}"})
            assert response.status_code == 201, response.get_data(as_text=True)
            return response.get_json()["id"]

        later = (st.clock.now() + timedelta(days=2)).isoformat()
        draft = api("editor", "POST", "/posts", {"kind": "tutorial", "title": "Spare", "body": "Spare",
                                                  "scheduled_at": later})
        ids = {"draft": draft,
               "channel": api("operator", "POST", "/channels", {"kind": "outbox", "name": f"Spare {draft}"}),
               "comment": api("editor", "POST", f"/posts/{draft}/comments", {"body": "Spare"}),
               "series": api("editor", "POST", "/series", {
                   "kind": "greeting", "title": "Spare", "rrule": "FREQ=DAILY;COUNT=2",
                   "timezone": "Asia/Shanghai", "starts_at": later, "pool": ["Hi"],
                   "channel_ids": [world.ids["channel"]]})}
        with st.sessions() as session, session.begin():
            feed = Feed(url=f"http://127.0.0.1:9/spare-{draft}.xml", owner_id=world.editor.id,
                        created_at=st.clock.now(), next_check_at=st.clock.now())
            session.add(feed)
            session.flush()
            ids["feed"] = feed.id
        return ids

    # ---- judging the answer --------------------------------------------------------------------

    def snapshot(self, route: Route) -> tuple:  # type: ignore[type-arg]
        """The audit log's length and the row the route names: a refusal changes neither."""
        names = re.findall(r"<(?:[\w(), ]+:)?(\w+)>", route.path_rule)
        with self.st.sessions() as session:
            rows = session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
            target = next((TARGETS[name] for name in names if name in TARGETS), None)
            if target is None:
                return (rows,)
            key = {Post: "draft", Feed: "feed", Series: "series", Comment: "comment",
                   Channel: "channel"}[target]
            row = session.get(target, self.world.ids[key])
            columns = target.__table__.columns.keys()
            return rows, row and tuple(str(getattr(row, name)) for name in columns)

    def check(self, route: Route, caller: str, response, before) -> str | None:  # type: ignore[no-untyped-def]
        """None when the outcome is right, else what went wrong."""
        want = expected(route, caller)
        status = response.status_code
        location = response.headers.get("Location", "")
        to_login = status == 302 and "/login" in location
        self.outcomes[want] += 1
        if want == "allow":
            if status in (401, 403, 404) or to_login or status >= 500:
                return f"expected to be allowed, got {status} {location}"
            return None
        if self.snapshot(route) != before:
            return f"refused with {status}, but something changed"
        if want == "login":
            return None if to_login else f"expected a redirect to /login, got {status} {location}"
        if not route.api and caller == "other editor" and status in (302, 422) and not to_login:
            return None  # the page said why (a message, or the form again) and changed nothing
        if status != int(want):
            return f"expected {want}, got {status}"
        if route.api:
            code = {"401": "unauthenticated", "403": "forbidden"}[want]
            error = (response.get_json(silent=True) or {}).get("error", {})
            if error.get("code") != code or not error.get("message"):
                return f"expected a {code} error object, got {response.get_data(as_text=True)[:200]}"
        return None


def foreign_token(sqlite_template, tmp_path) -> str:
    """A well-formed token minted by another planner installation: unknown here."""
    path = tmp_path / "elsewhere.sqlite3"
    shutil.copy(sqlite_template, path)
    other = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "elsewhere"),
                        "DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "another-key"})
    st = state(other)
    try:
        with st.sessions() as session, session.begin():
            admin = users.create_user(session, email="admin@example.com", role="admin",
                                      password=PASSWORD, now=st.clock.now())
            return users.create_token(session, admin, now=st.clock.now())
    finally:
        st.engine.dispose()


def test_every_route_answers_every_caller_as_its_rules_say(app, client, st, make, sqlite_template,
                                                           tmp_path):
    world = seed(st, make, client)
    matrix = Matrix(app, st, world, foreign_token(sqlite_template, tmp_path))
    routes = routes_of(app)
    cells = [(route, caller) for route in routes for caller in CALLERS]
    problems = []

    def run(route: Route, caller: str, **options) -> None:  # type: ignore[no-untyped-def]
        before = matrix.snapshot(route) if expected(route, caller) != "allow" else None
        try:
            response = matrix.call(route, caller, **options)
        except Exception as error:  # noqa: BLE001  (a server error: reported with the others)
            problems.append(f"{route.method} {route.path_rule} as {caller}: raised {error!r}")
            return
        problem = matrix.check(route, caller, response, before)
        response.close()
        if problem:
            problems.append(f"{route.method} {route.path_rule} as {caller}: {problem}")

    # Refusals first: they change nothing, so every object is still as seeded.
    for route, caller in cells:
        if expected(route, caller) != "allow":
            run(route, caller)
    # Then what is allowed: public pages first (later cells replace the calendar link), then each
    # caller in turn from the editor up (so the editor meets the objects as seeded), cells that
    # delete on objects of their own, and the cells that end a session last, on new sessions.
    allowed = [(route, caller) for route, caller in cells if expected(route, caller) == "allow"]
    allowed.sort(key=lambda cell: (cell[0].need is not None, cell[0].rule in SESSION_ENDING,
                                   CALLERS.index(cell[1])))
    for route, caller in allowed:
        if route.rule in SESSION_ENDING:
            run(route, caller, client=matrix.signed_in(matrix.users[caller]))
        else:
            run(route, caller, fresh=route.destructive)

    print(f"\npermission matrix: {len(routes)} routes (route × method) × {len(CALLERS)} callers = "
          f"{len(cells)} cells: {dict(matrix.outcomes)}")
    assert not problems, "\n".join(problems)
    assert len(routes) > 150
    assert matrix.outcomes["403"] > 100 and matrix.outcomes["401"] > 100


def test_an_unknown_route_rule_is_caught(app):
    """The matrix refuses a route nobody wrote a rule for."""

    @app.get("/brand-new-page")
    def brand_new_page():  # type: ignore[no-untyped-def]
        return "hello"

    with pytest.raises(AssertionError, match="/brand-new-page"):
        routes_of(app)


def test_public_routes_answer_anonymously(client):
    for path in ("/login", "/healthz", "/metrics", "/api/v1/openapi.json", "/static/style.css",
                 "/book", "/api/v1/public/slots", "/static/book.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        response.close()
