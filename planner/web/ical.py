"""The plan as an iCalendar file (RFC 5545) for calendar apps that subscribe to a private link."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, timedelta

from flask_babel import gettext as _
from icalendar import Calendar, Event

from planner.models import Post, PostStatus
from planner.web.labels import KIND_LABELS, STATUS_LABELS

# A post is an instant; calendar apps show zero-length events poorly, so each one gets a short slot.
EVENT_LENGTH = timedelta(minutes=15)
REFRESH = timedelta(hours=1)

_EVENT_STATUS = {
    PostStatus.draft: "TENTATIVE",
    PostStatus.in_review: "TENTATIVE",
    PostStatus.approved: "CONFIRMED",
    PostStatus.published: "CONFIRMED",
    PostStatus.failed: "CONFIRMED",
    PostStatus.canceled: "CANCELLED",
    PostStatus.expired: "CANCELLED",
}


def plan_calendar(
    posts: Iterable[Post], *, name: str, uid_domain: str, post_url: Callable[[int], str],
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//planner//calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", REFRESH)
    words = _Words()
    for post in posts:
        if post.scheduled_at is not None:
            calendar.add_component(_event(post, words, uid_domain, post_url(post.id)))
    return calendar.to_ical()


class _Words:
    """The labels and lines of the description, translated once per calendar rather than per event."""

    def __init__(self) -> None:
        self.kinds = {kind: str(label) for kind, label in KIND_LABELS.items()}
        self.statuses = {status: str(label) for status, label in STATUS_LABELS.items()}
        self.status = _("Status: %(status)s")
        self.channels = _("Channels: %(channels)s")
        self.tags = _("Tags: %(tags)s")
        self.author = _("By %(name)s")


def _event(post: Post, words: _Words, uid_domain: str, url: str) -> Event:
    assert post.scheduled_at is not None
    start = post.scheduled_at.astimezone(UTC)
    kind = words.kinds[post.kind]
    event = Event()
    event.add("uid", f"post-{post.id}@{uid_domain}")
    event.add("dtstamp", post.updated_at.astimezone(UTC))
    event.add("dtstart", start)
    event.add("dtend", start + EVENT_LENGTH)
    event.add("summary", f"[{kind}] {post.title}")
    event.add("description", "\n".join([
        words.status % {"status": words.statuses[post.status]},
        words.channels % {"channels": ", ".join(c.name for c in post.channels) or "—"},
        words.tags % {"tags": ", ".join(post.tags) or "—"},
        words.author % {"name": post.author.name},
        url,
    ]))
    event.add("url", url)
    event.add("sequence", post.revision)
    event.add("status", _EVENT_STATUS[PostStatus(post.status)])
    event.add("categories", [kind])
    return event
