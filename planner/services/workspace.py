"""Workspace settings: stored rows override the configuration defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from planner.errors import ValidationFailed
from planner.models import User, WorkspaceSetting
from planner.services import audit

GENERAL_KEYS = ("community_name", "timezone", "allow_self_approval", "alerts_channel_id",
                "on_time_tolerance_minutes")
RULE_KEYS = ("banned_words", "max_posts_per_channel_per_day", "min_minutes_between_posts")
KEYS = GENERAL_KEYS + RULE_KEYS
BANNED_WORDS_MAX = 500
BANNED_WORD_LENGTH = 100
MAX_POSTS_PER_DAY = 1000
MAX_GAP_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class PostingRules:
    """What the community's rules allow; 0 turns a limit off."""

    banned_words: tuple[str, ...] = ()
    max_posts_per_channel_per_day: int = 0
    min_minutes_between_posts: int = 0
# Settings kept as JSON documents and changed through their own pages.
TEMPLATE_KEYS = ("guest_session_templates",)

# What a confirmed guest booking puts on the calendar. Variables: {speaker}, {topic}, {time}, {abstract}.
GUEST_SESSION_TEMPLATES = {
    "session": {"title": "Guest session: {topic}",
                "body": "**{speaker}** is on stage now: **{topic}** ({time}).\n\n{abstract}"},
    "announcements": [
        {"minutes_before": 24 * 60, "title": "Tomorrow: {topic}",
         "body": "Tomorrow at {time}, **{speaker}** shares **{topic}**.\n\n{abstract}"},
        {"minutes_before": 60, "title": "In one hour: {topic}",
         "body": "In one hour ({time}) **{speaker}** shares **{topic}**. Bring your questions!"},
        {"minutes_before": 0, "title": "Starting now: {topic}",
         "body": "Starting now: **{speaker}** on **{topic}**. Welcome!"},
    ],
    "cancellation": {"title": "Canceled: {topic}",
                     "body": "The guest session **{topic}** with {speaker} planned for {time} will "
                             "not take place. Sorry for the change."},
}


def get(session: Session, key: str, default: Any) -> Any:
    row = session.get(WorkspaceSetting, key)
    return default if row is None else row.value


def community_name(session: Session, config: Mapping[str, Any]) -> str:
    """What the community calls itself: the workspace's setting, else the installation's default."""
    return str(get(session, "community_name", config["COMMUNITY_NAME"]))


def timezone(session: Session, config: Mapping[str, Any]) -> ZoneInfo:
    """The workspace's timezone: its setting, else the installation's default."""
    return ZoneInfo(get(session, "timezone", config["TIMEZONE"]))


def put(session: Session, key: str, value: Any, *, actor: User | str, now: datetime) -> None:
    if key not in KEYS and key not in TEMPLATE_KEYS:
        raise KeyError(key)
    row = session.get(WorkspaceSetting, key)
    old = None if row is None else row.value
    if old == value:
        return  # nothing changed: no row, no audit entry
    if row is None:
        session.add(WorkspaceSetting(key=key, value=value))
    else:
        row.value = value
    audit.record(session, at=now, actor=actor, action="setting.change", subject_type="setting",
                 subject_id=None, key=key, old=old, new=value)


def posting_rules(session: Session) -> PostingRules:
    return PostingRules(
        banned_words=tuple(get(session, "banned_words", [])),
        max_posts_per_channel_per_day=int(get(session, "max_posts_per_channel_per_day", 0)),
        min_minutes_between_posts=int(get(session, "min_minutes_between_posts", 0)),
    )


def banned_words_from_text(text: str) -> list[str]:
    """One word or phrase per line (commas separate too); blanks and repeats dropped."""
    words: list[str] = []
    for line in text.replace("，", ",").replace(",", "\n").splitlines():
        word = " ".join(line.split())
        if word and word.casefold() not in {w.casefold() for w in words}:
            words.append(word)
    return words


def put_posting_rules(session: Session, rules: PostingRules, *, actor: User | str,
                      now: datetime) -> None:
    """Check and store the community's posting rules; nothing is stored when one is wrong."""
    errors: dict[str, str] = {}
    if len(rules.banned_words) > BANNED_WORDS_MAX:
        errors["banned_words"] = _("at most %(n)d banned words", n=BANNED_WORDS_MAX)
    elif any(len(word) > BANNED_WORD_LENGTH for word in rules.banned_words):
        errors["banned_words"] = _("each banned word or phrase has at most %(n)d characters",
                                   n=BANNED_WORD_LENGTH)
    if not 0 <= rules.max_posts_per_channel_per_day <= MAX_POSTS_PER_DAY:
        errors["max_posts_per_channel_per_day"] = _("between 0 (no limit) and %(n)d",
                                                    n=MAX_POSTS_PER_DAY)
    if not 0 <= rules.min_minutes_between_posts <= MAX_GAP_MINUTES:
        errors["min_minutes_between_posts"] = _("between 0 (no limit) and %(n)d minutes",
                                                n=MAX_GAP_MINUTES)
    if errors:
        raise ValidationFailed(_("the posting rules were not saved"), errors)
    put(session, "banned_words", list(rules.banned_words), actor=actor, now=now)
    put(session, "max_posts_per_channel_per_day", rules.max_posts_per_channel_per_day,
        actor=actor, now=now)
    put(session, "min_minutes_between_posts", rules.min_minutes_between_posts, actor=actor, now=now)
