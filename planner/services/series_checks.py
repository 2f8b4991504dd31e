"""Checking a series before it is saved: every field, with a clear message for each problem."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from planner.errors import ValidationFailed
from planner.models import Channel, PostKind
from planner.services import posts, recurrence
from planner.services.channels import check_targets
from planner.services.recurrence import RuleError, Schedule

POOL_MAX = 100
POOL_TEXT_MAX = 5000
EXPIRES_MAX_MINUTES = 7 * 24 * 60
FURTHEST_BACK = timedelta(days=366)


@dataclass
class SeriesInput:
    kind: str
    title: str
    rrule: str
    timezone: str
    starts_at: datetime | None
    template: str = "{text}"
    pool: list[str] = field(default_factory=list)
    channel_ids: list[int] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    expires_after_minutes: int | None = None


# ---- validation --------------------------------------------------------------------------------

def validate(session: Session, data: SeriesInput, *, now: datetime, community: str,
             saved_start: datetime | None = None, language: str | None = None) -> list[Channel]:
    """``saved_start`` is the start of the series being edited, which may lie further back;
    ``language`` is the one its weekdays and dates are written in."""
    errors: dict[str, str] = {}
    if data.kind not in PostKind.__members__:
        errors["kind"] = _("kind must be one of %(kinds)s", kinds=", ".join(PostKind))
    _check_texts(data, errors)
    schedule = _check_schedule(data, now, saved_start, errors)
    channels = check_targets(session, data.channel_ids, data.tags, errors)
    if not data.channel_ids and not data.tags:
        errors["channel_ids"] = _("choose at least one channel or tag")
    minutes = data.expires_after_minutes
    if minutes is not None and not 1 <= minutes <= EXPIRES_MAX_MINUTES:
        errors["expires_after_minutes"] = _("between 1 and %(max)s minutes",
                                            max=EXPIRES_MAX_MINUTES)
    if schedule is not None and not errors:
        _check_rendered(data, schedule, community, language, errors)
    if errors:
        raise ValidationFailed(_("the series was not saved"), errors)
    return channels


def _check_texts(data: SeriesInput, errors: dict[str, str]) -> None:
    title = data.title.strip()
    if not title:
        errors["title"] = _("a title is required")
    elif len(title) > posts.TITLE_MAX:
        errors["title"] = _("the title is %(count)s characters; at most %(limit)s",
                            count=len(title), limit=posts.TITLE_MAX)
    if not data.template.strip():
        errors["template"] = _("the template is empty; {text} alone sends the pool's texts")
    elif len(data.template) > posts.BODY_MAX:
        errors["template"] = _("the template is %(count)s characters; at most %(limit)s",
                               count=len(data.template), limit=posts.BODY_MAX)
    if len(data.pool) > POOL_MAX:
        errors["pool"] = _("at most %(max)s texts in the pool", max=POOL_MAX)
    for number, text in enumerate(data.pool, start=1):
        if not text.strip():
            errors["pool"] = _("text %(number)s of the pool is empty", number=number)
        elif len(text) > POOL_TEXT_MAX:
            errors["pool"] = _("text %(number)s of the pool is %(count)s characters; at most "
                               "%(limit)s", number=number, count=len(text), limit=POOL_TEXT_MAX)
    for name, text, allow_text in [("title", title, False), ("template", data.template, True),
                                   *[("pool", entry, False) for entry in data.pool]]:
        if name not in errors:
            try:
                recurrence.check_text(text, allow_text=allow_text)
            except RuleError as error:
                errors[name] = error.message
    if "template" not in errors and "pool" not in errors:
        if recurrence.uses_text(data.template) and not data.pool:
            errors["pool"] = _("the template uses {text}: add at least one text to the pool")
        elif data.pool and not recurrence.uses_text(data.template):
            errors["template"] = _("put {text} in the template where the pool's texts go")


def _check_schedule(data: SeriesInput, now: datetime, saved_start: datetime | None,
                    errors: dict[str, str]) -> Schedule | None:
    try:
        recurrence.zone(data.timezone)
    except RuleError as error:
        errors["timezone"] = error.message
    if data.starts_at is None:
        errors["starts_at"] = _("give the first occurrence's date and time")
    elif data.starts_at.tzinfo is None:
        errors["starts_at"] = _("give a timezone offset, e.g. 2026-11-23T08:00:00+08:00")
    elif data.starts_at < now - FURTHEST_BACK and data.starts_at != saved_start:
        # Every evaluation walks the rule from its start: keep that walk short.
        errors["starts_at"] = _("the first occurrence may be at most a year ago")
    if len(data.rrule) > 500:
        errors["rrule"] = _("the rule is %(count)s characters; at most 500", count=len(data.rrule))
    if "timezone" in errors or "starts_at" in errors or "rrule" in errors:
        return None
    assert data.starts_at is not None
    schedule = Schedule(data.rrule.strip(), data.timezone, data.starts_at.replace(microsecond=0))
    try:
        if recurrence.first_after(schedule, now) is None:
            errors["rrule"] = _("the rule has no occurrence after now")
    except RuleError as error:
        errors["rrule"] = error.message
        return None
    return schedule


def _check_rendered(data: SeriesInput, schedule: Schedule, community: str,
                    language: str | None, errors: dict[str, str]) -> None:
    """Texts within the post limits once the variables are filled in (with the first occurrence)."""
    first = next(recurrence.occurrences(schedule))
    for index in range(max(1, len(data.pool))):
        sample = recurrence.Occurrence(index=index, at=first.at, local=first.local)
        title, body = recurrence.render_occurrence(data.title.strip(), data.template, data.pool,
                                                   sample, community, language)
        if len(title) > posts.TITLE_MAX:
            errors["title"] = _("with its variables filled in the title is %(count)s characters; "
                                "at most %(limit)s", count=len(title), limit=posts.TITLE_MAX)
        if len(body) > posts.BODY_MAX:
            errors["template"] = _("with its variables filled in a text is %(count)s characters; "
                                   "at most %(limit)s", count=len(body), limit=posts.BODY_MAX)
