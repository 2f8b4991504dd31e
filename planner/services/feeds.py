"""Feeds: subscribing, changing, removing, OPML, and who may do what.

Fetching happens before these functions are called (it must not hold a transaction open); they take
what was fetched and own the transaction that records it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from planner.feeds import opml
from planner.feeds.discover import Found
from planner.feeds.fetch import FetchError, check_url
from planner.feeds.rules import rule_problem
from planner.models import Channel, Feed, Role, User
from planner.services import audit, feed_polls
from planner.services.channels import TAG, check_targets

TITLE_MAX = 200
RULES_MAX = 50


@dataclass
class FeedInput:
    url: str = ""
    title_override: str = ""
    tags: list[str] = field(default_factory=list)
    enabled: bool = True
    keep_rules: list[str] = field(default_factory=list)
    block_rules: list[str] = field(default_factory=list)
    channel_ids: list[int] = field(default_factory=list)
    auto_draft: bool = False

    @classmethod
    def of(cls, feed: Feed) -> FeedInput:
        return cls(url=feed.url, title_override=feed.title_override, tags=list(feed.tags),
                   enabled=feed.enabled, keep_rules=list(feed.keep_rules),
                   block_rules=list(feed.block_rules), channel_ids=[c.id for c in feed.channels],
                   auto_draft=feed.auto_draft)


# ---- permissions -------------------------------------------------------------------------------

def can_change(user: User, feed: Feed) -> bool:
    return feed.owner_id == user.id or user.has_role(Role.operator)


def _require_change(user: User, feed: Feed) -> None:
    if not can_change(user, feed):
        raise PermissionDenied(_("only the person who subscribed or an operator may change this feed"))


# ---- queries -----------------------------------------------------------------------------------

def get_feed(session: Session, feed_id: int) -> Feed:
    feed = session.get(Feed, feed_id)
    if feed is None:
        raise NotFound(_("feed %(id)s does not exist", id=feed_id))
    return feed


def list_feeds(session: Session, *, tag: str | None = None) -> list[Feed]:
    feeds = list(session.scalars(select(Feed).order_by(Feed.id)))
    feeds.sort(key=lambda f: f.name.lower())
    return [f for f in feeds if tag is None or tag in f.tags]


def all_tags(session: Session) -> list[str]:
    return sorted({tag for feed in session.scalars(select(Feed)) for tag in feed.tags})


# ---- validation --------------------------------------------------------------------------------

def check_address(url: str) -> str:
    url = url.strip()
    try:
        check_url(url)
    except FetchError as error:
        raise ValidationFailed(_("the feed was not saved"), {"url": str(error)}) from None
    if len(url) > 2000:
        raise ValidationFailed(_("the feed was not saved"), {"url": _("the address is too long")})
    return url


def _validate(session: Session, user: User, data: FeedInput, feed: Feed | None) -> list[Channel]:
    errors: dict[str, str] = {}
    if len(data.title_override.strip()) > TITLE_MAX:
        errors["title_override"] = _("at most %(limit)s characters", limit=TITLE_MAX)
    for name in ("keep_rules", "block_rules"):
        rules = getattr(data, name)
        problems = [f"{rule!r}: {problem}" for rule in rules if (problem := rule_problem(rule))]
        if len(rules) > RULES_MAX:
            problems.append(_("at most %(limit)s rules", limit=RULES_MAX))
        if problems:
            errors[name] = "; ".join(problems)
    channels = check_targets(session, data.channel_ids, data.tags, errors)
    if data.auto_draft and not (feed is not None and feed.auto_draft):
        if not user.has_role(Role.operator):
            errors["auto_draft"] = _("only operators may turn on automatic drafts")
        elif not data.keep_rules:
            errors["auto_draft"] = _("automatic drafts need at least one keep rule to match items")
        elif not data.channel_ids:
            errors["auto_draft"] = _("automatic drafts need default channels")
    if errors:
        raise ValidationFailed(_("the feed was not saved"), errors)
    return channels


def _apply(feed: Feed, data: FeedInput, channels: list[Channel]) -> None:
    feed.title_override = data.title_override.strip()
    feed.tags = list(dict.fromkeys(data.tags))
    feed.enabled = data.enabled
    feed.keep_rules = [r.strip() for r in data.keep_rules]
    feed.block_rules = [r.strip() for r in data.block_rules]
    feed.channels = channels
    feed.auto_draft = data.auto_draft


def _require_new_address(session: Session, url: str) -> None:
    existing = session.scalar(select(Feed).where(Feed.url == url))
    if existing is not None:
        raise Conflict(_("already subscribed to %(url)s (feed %(id)s)", url=url, id=existing.id))


# ---- changes -----------------------------------------------------------------------------------

def check_new(session: Session, user: User, data: FeedInput) -> str:
    """Everything about a subscription that can be checked before fetching; the address to fetch."""
    url = check_address(data.url)
    _validate(session, user, data, None)
    _require_new_address(session, url)
    return url


def subscribe(session: Session, user: User, data: FeedInput, found: Found, *, now: datetime,
              config: dict[str, Any]) -> Feed:
    """Save the feed found at ``data.url`` and take in its items (only the newest few, the first time)."""
    channels = _validate(session, user, data, None)
    _require_new_address(session, found.url)
    feed = Feed(url=found.url, site_url=found.feed.site_url, title=found.feed.title,
                owner_id=user.id, next_check_at=now, created_at=now,
                interval_seconds=60 * int(config["FEED_MIN_INTERVAL_MINUTES"]) * 4)
    _apply(feed, data, channels)
    session.add(feed)
    session.flush()
    audit.record(session, at=now, actor=user, action="feed.subscribe", subject_type="feed",
                 subject_id=feed.id, url=feed.url)
    feed_polls.record_success(session, feed, found.fetched, found.feed, now=now, config=config)
    return feed


def update_feed(session: Session, user: User, feed: Feed, data: FeedInput, *, now: datetime) -> Feed:
    _require_change(user, feed)
    channels = _validate(session, user, data, feed)
    was_off = not feed.enabled
    _apply(feed, data, channels)
    if feed.enabled and was_off:
        resume(feed, now=now)
    audit.record(session, at=now, actor=user, action="feed.update", subject_type="feed",
                 subject_id=feed.id)
    return feed


def resume(feed: Feed, *, now: datetime) -> None:
    """A paused feed is looked at again now, its failures forgotten."""
    feed.paused = False
    feed.consecutive_failures = 0
    feed.last_error = None
    feed.next_check_at = now


def delete_feed(session: Session, user: User, feed: Feed, *, now: datetime) -> None:
    _require_change(user, feed)
    audit.record(session, at=now, actor=user, action="feed.delete", subject_type="feed",
                 subject_id=feed.id, url=feed.url)
    session.delete(feed)


def import_opml(session: Session, user: User, document: bytes, *, now: datetime) -> tuple[int, list[str]]:
    """Subscribe to every new http/https feed of an OPML file; they are polled when next due.
    Returns how many were added and what was skipped, with why."""
    try:
        outlines = opml.read(document)
    except opml.OpmlError as error:
        raise ValidationFailed(_("the OPML file was not imported"), {"file": str(error)}) from None
    added, skipped = 0, []
    known = set(session.scalars(select(Feed.url)))
    for outline in outlines:
        try:
            url = check_address(outline.url)
        except ValidationFailed as error:
            skipped.append(f"{outline.url}: {error.fields['url']}")
            continue
        if url in known:
            skipped.append(_("%(url)s: already subscribed", url=url))
            continue
        tags = [t for t in (tag.lower().replace(" ", "-")[:50] for tag in outline.tags) if TAG.match(t)]
        session.add(Feed(url=url, title=outline.title, tags=tags, owner_id=user.id, next_check_at=now,
                         created_at=now))
        known.add(url)
        added += 1
    audit.record(session, at=now, actor=user, action="feed.import", subject_type="feed",
                 subject_id=None, added=added, skipped=len(skipped))
    return added, skipped


def export_opml(session: Session, title: str) -> bytes:
    return opml.write([opml.Outline(url=f.url, title=f.name, tags=f.tags) for f in list_feeds(session)],
                      title)
