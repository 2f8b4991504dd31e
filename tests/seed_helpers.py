"""A small workspace with one of everything, so that ids in URLs name real objects.

Used by the permission matrix and the API fuzzing: a 404 must not hide a wrong 403, and the fuzzer
should reach past "not found" into the views. Objects are made through the API, as a user would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from planner.models import Booking, Delivery, Feed, FeedItem, User
from planner.services import calendar_links, users
from tests.conftest import Factory


@dataclass
class World:
    admin: User
    operator: User
    editor: User  # owns the posts, the feed, the series and the comment
    other_editor: User  # an editor who owns none of them
    tokens: dict[str, str] = field(default_factory=dict)  # role name → a write token
    ids: dict[str, int] = field(default_factory=dict)
    booking_token: str = ""
    calendar_token: str = ""


def token(st, user: User, scope: str = "write") -> str:  # type: ignore[no-untyped-def]
    with st.sessions() as session, session.begin():
        return users.create_token(session, session.merge(user), name=f"{scope} token",
                                  now=st.clock.now(), scope=scope)


def seed(st, make: Factory, client) -> World:  # type: ignore[no-untyped-def]
    world = World(admin=make.user("admin", "admin@example.com"),
                  operator=make.user("operator", "operator@example.com"),
                  editor=make.user("editor", "editor@example.com"),
                  other_editor=make.user("editor", "other@example.com"))
    for name in ("admin", "operator", "editor", "other_editor"):
        world.tokens[name] = token(st, getattr(world, name))

    def api(who: str, method: str, path: str, body: dict | None = None) -> dict:  # type: ignore[type-arg]
        response = client.open(f"/api/v1{path}", method=method, json=body,
                               headers={"Authorization": f"Bearer {world.tokens[who]}"})
        assert response.status_code < 300, (method, path, response.get_data(as_text=True))
        return response.get_json()

    ids = world.ids
    now = st.clock.now()
    later = (now + timedelta(days=2)).isoformat()
    ids["channel"] = api("operator", "POST", "/channels", {"kind": "outbox", "name": "Python group",
                                                           "tags": ["python-groups"]})["id"]
    post = {"kind": "tutorial", "title": "Tip of the week", "body": "Use **f-strings**.",
            "scheduled_at": later, "channel_ids": [ids["channel"]]}
    for name in ("draft", "in_review", "approved"):
        ids[name] = api("editor", "POST", "/posts", post)["id"]
    for name in ("in_review", "approved"):
        api("editor", "POST", f"/posts/{ids[name]}/submit", {})
    api("operator", "POST", f"/posts/{ids['approved']}/approve", {})
    ids["comment"] = api("editor", "POST", f"/posts/{ids['draft']}/comments",
                         {"body": "Shall we add a link?"})["id"]
    ids["series"] = api("editor", "POST", "/series", {
        "kind": "greeting", "title": "Good morning", "rrule": "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        "timezone": "Asia/Shanghai", "starts_at": later, "pool": ["Good morning!"],
        "channel_ids": [ids["channel"]]})["id"]
    slots = api("operator", "POST", "/slots", {
        "title": "Guests airborne", "starts_at": (now + timedelta(days=3)).isoformat(),
        "duration_minutes": 60, "timezone": "Asia/Shanghai", "channel_ids": [ids["channel"]],
        "rrule": "FREQ=WEEKLY;COUNT=3", "min_notice_minutes": 0})["items"]
    ids["slot"], ids["free_slot"] = slots[0]["id"], slots[1]["id"]
    booked = api("admin", "POST", f"/public/slots/{ids['slot']}/bookings", {
        "name": "Speaker", "email": "speaker@example.org", "topic": "From script to service",
        "abstract": "How a one-off script grew up.", "bio": "", "contact": ""})
    world.booking_token = booked["manage_url"].rstrip("/").rsplit("/", 1)[-1]
    with st.sessions() as session, session.begin():
        ids["delivery"] = session.scalar(select(Delivery.id).where(Delivery.post_id == ids["approved"]))
        ids["booking"] = session.scalar(select(Booking.id).where(Booking.slot_id == ids["slot"]))
        # A feed at an address fetches refuse (loopback, not allowlisted): polling it fails cleanly.
        editor = session.merge(world.editor)
        feed = Feed(url="http://127.0.0.1:9/feed.xml", title="Planet Python", owner_id=editor.id,
                    created_at=now, next_check_at=now + timedelta(days=1))
        session.add(feed)
        session.flush()
        item = FeedItem(feed_id=feed.id, link="https://blog.example.com/typing",
                        content_hash="0" * 64, title="Type hints in practice", found_at=now,
                        state="new")
        session.add(item)
        session.flush()
        ids["feed"], ids["feed_item"] = feed.id, item.id
        world.calendar_token = calendar_links.create_link(session, st.secret_box, editor, now=now)
    return world
