"""Recurring series: validation, the changes people make to a series, and the queries for it.

Creating a series puts its occurrences up for review as they are materialised; an operator may
approve them one by one or approve the whole series, after which new occurrences arrive approved.
Every occurrence approved with its series passes the same pre-publish checks as a post approved on
its own: one that does not stays in review, and the approval says which and why. Editing the series'
text or targets returns it to needing review; moving only its times does not.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.config import DEFAULTS
from planner.errors import Conflict, NotFound, PermissionDenied, PlannerError, ValidationFailed
from planner.models import Channel, PostStatus, Role, Series, SeriesStatus, SeriesTag, User
from planner.services import audit, posts, recurrence, workspace
from planner.services.checks import Checker, Finding
from planner.services.series_checks import SeriesInput, validate
from planner.services.series_posts import (
    findings_of,
    future_posts,
    horizon,
    language_of,
    materialise,
    projected,
    rewrite_future,
    schedule_of,
)

log = logging.getLogger(__name__)
PROJECTION_LIMIT = 1000


@dataclass(frozen=True)
class HeldOccurrence:
    """An occurrence left in review when its series was approved, with the blocking findings."""

    post_id: int
    title: str
    scheduled_at: datetime
    findings: list[Finding]


@dataclass(frozen=True)
class SeriesApproval:
    series: Series
    approved: list[int] = field(default_factory=list)
    held: list[HeldOccurrence] = field(default_factory=list)


# ---- permissions -------------------------------------------------------------------------------

def can_edit(user: User, series: Series) -> bool:
    return series.status == SeriesStatus.active and (
        series.author_id == user.id or user.has_role(Role.operator))


def can_approve(user: User, series: Series, allow_self_approval: bool) -> bool:
    return (series.status == SeriesStatus.active and series.approved_at is None
            and user.has_role(Role.operator)
            and (series.author_id != user.id or allow_self_approval))


def can_delete(user: User, series: Series) -> bool:
    return series.author_id == user.id or user.has_role(Role.operator)


# ---- queries -----------------------------------------------------------------------------------

def get_series(session: Session, series_id: int, *, for_change: bool = False) -> Series:
    """The series; ``for_change`` locks its row, as materialising does, so the two take turns."""
    query = select(Series).where(Series.id == series_id)
    if for_change:
        query = query.with_for_update(of=Series).execution_options(populate_existing=True)
    series = session.scalars(query).first()
    if series is None:
        raise NotFound(_("series %(id)s does not exist", id=series_id))
    return series


def series_by_id(session: Session, ids: set[int]) -> dict[int, Series]:
    """Several series in one query (the review queue's occurrences name theirs)."""
    if not ids:
        return {}
    return {s.id: s for s in session.scalars(select(Series).where(Series.id.in_(ids)))}


def list_series(session: Session) -> list[Series]:
    return list(session.scalars(select(Series).order_by(Series.status, Series.title, Series.id)))


def occurrences(session: Session, series: Series, start: datetime, end: datetime, *,
                config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Occurrences in ``[start, end)``, beyond the horizon too, each with its text and its post."""
    return projected(session, series, start, end, workspace.community_name(session, config), PROJECTION_LIMIT,
                     config)


def projected_occurrences(session: Session, start: datetime, end: datetime, *,
                          community: str | None = None) -> list[dict[str, Any]]:
    """Occurrences of every active series in ``[start, end)`` that are not posts yet (for the
    calendar): dicts with series_id, kind, title, body, scheduled_at, channel_ids and tags."""
    if community is None:
        community = workspace.community_name(session, DEFAULTS)
    found: list[dict[str, Any]] = []
    due = session.scalars(select(Series).where(Series.status == SeriesStatus.active,
                                               Series.next_occurrence_at < end))
    for series in due:
        assert series.next_occurrence_at is not None
        ahead = projected(session, series, max(start, series.next_occurrence_at), end, community,
                          PROJECTION_LIMIT)
        found.extend(item for item in ahead if item["post_id"] is None)
    return sorted(found, key=lambda item: (item["scheduled_at"], item["series_id"]))


def materialise_due(session: Session, *, now: datetime, config: Mapping[str, Any],
                    checker: Checker) -> list[int]:
    """Materialise every active series whose next occurrence is within the horizon. A series
    another dispatcher holds at this moment is skipped: that one is materialising it."""
    due = session.scalars(
        select(Series)
        .where(Series.status == SeriesStatus.active, Series.next_occurrence_at <= now + horizon(config))
        .order_by(Series.id)
        .with_for_update(of=Series, skip_locked=True)
        .execution_options(populate_existing=True)
    ).all()
    made: list[int] = []
    for series in due:
        try:
            with session.begin_nested():
                made += [post.id for post in materialise(session, series, now=now, config=config,
                                                         checker=checker)]
        except PlannerError as error:  # one series' problem must not hold up the others
            log.warning("series %s could not be materialised: %s %s", series.id, error.message,
                        error.fields)
    return made


# ---- transitions -------------------------------------------------------------------------------

def create_series(session: Session, author: User, data: SeriesInput, *, now: datetime,
                  config: Mapping[str, Any], checker: Checker) -> Series:
    channels = validate(session, data, now=now, community=workspace.community_name(session, config),
                        language=language_of(author, config))
    series = Series(author_id=author.id, status=SeriesStatus.active, created_at=now,
                    updated_at=now)
    series.author = author
    _apply(series, data, channels)
    series.next_occurrence_at = recurrence.first_after(schedule_of(series), now)
    session.add(series)
    session.flush()
    audit.record(session, at=now, actor=author, action="series.create", subject_type="series",
                 subject_id=series.id, title=series.title, rrule=series.rrule)
    materialise(session, series, now=now, config=config, checker=checker, actor=author)
    return series


@dataclass(frozen=True)
class SeriesUpdate:
    series: Series
    returned_to_review: list[int]  # approved occurrences the edit moved where the rules forbid


def update_series(session: Session, user: User, series: Series, data: SeriesInput, *,
                  now: datetime, config: Mapping[str, Any], checker: Checker) -> SeriesUpdate:
    """Edit the series and all its future occurrences, except those edited on their own."""
    if not can_edit(user, series):
        _deny(user, series, "edit")
    channels = validate(session, data, now=now, community=workspace.community_name(session, config),
                        saved_start=series.starts_at, language=language_of(series.author, config))
    before = schedule_of(series)
    old = input_of(series)
    _apply(series, data, channels)
    new = input_of(series)
    content_changed = (old.kind, old.title, old.template, old.pool, old.expires_after_minutes) != (
        new.kind, new.title, new.template, new.pool, new.expires_after_minutes)
    targets_changed = (sorted(old.channel_ids), sorted(old.tags)) != (
        sorted(new.channel_ids), sorted(new.tags))
    was_approved = series.approved_at is not None
    if content_changed or targets_changed:
        series.approved_at = None
        series.approved_by_id = None
        series.approved_by = None
    series.updated_at = now
    returned = rewrite_future(session, user, series, before, now=now, config=config, checker=checker)
    audit.record(session, at=now, actor=user, action="series.update", subject_type="series",
                 subject_id=series.id, content_changed=content_changed,
                 targets_changed=targets_changed,
                 approval_withdrawn=was_approved and series.approved_at is None,
                 returned_to_review=returned)
    return SeriesUpdate(series, returned)


def approve_series(session: Session, user: User, series: Series, *, now: datetime,
                   allow_self_approval: bool, checker: Checker, comment: str = "") -> SeriesApproval:
    """Approve the series: its future occurrences not edited on their own, and those still to come.
    Each occurrence goes through the pre-publish checks; one that fails them stays in review (or a
    draft, when it has no enabled target) and is reported with its blocking findings."""
    if not can_approve(user, series, allow_self_approval):
        _deny(user, series, "approve", allow_self_approval)
    series.approved_by_id = user.id
    series.approved_by = user
    series.approved_at = now
    result = SeriesApproval(series)
    for post in future_posts(session, series, now):
        try:
            if post.status == PostStatus.draft:
                posts.submit(session, series.author, post, now=now)
            if post.status == PostStatus.in_review:
                posts.approve(session, user, post, now=now, allow_self_approval=allow_self_approval,
                              comment=comment, checker=checker)
                result.approved.append(post.id)
        except ValidationFailed as error:
            assert post.scheduled_at is not None
            result.held.append(HeldOccurrence(post.id, post.title, post.scheduled_at,
                                              findings_of(error)))
    audit.record(session, at=now, actor=user, action="series.approve", subject_type="series",
                 subject_id=series.id, comment=comment.strip(), post_ids=result.approved,
                 held={str(h.post_id): [f.message for f in h.findings] for h in result.held})
    return result


def end_series(session: Session, user: User, series: Series, *, now: datetime) -> Series:
    """No occurrences after now: those not yet published are canceled."""
    if not can_edit(user, series):
        _deny(user, series, "end")
    canceled = _cancel_future(session, user, series, now, _("the series was ended"))
    series.status = SeriesStatus.ended
    series.ended_at = now
    series.next_occurrence_at = None
    series.updated_at = now
    audit.record(session, at=now, actor=user, action="series.end", subject_type="series",
                 subject_id=series.id, canceled=canceled)
    return series


def delete_series(session: Session, user: User, series: Series, *, now: datetime) -> None:
    """Cancel the occurrences not yet published and remove the series; published posts stay."""
    if not can_delete(user, series):
        _deny(user, series, "delete")
    canceled = _cancel_future(session, user, series, now, _("the series was deleted"))
    audit.record(session, at=now, actor=user, action="series.delete", subject_type="series",
                 subject_id=series.id, title=series.title, canceled=canceled)
    session.delete(series)
    session.flush()


def _cancel_future(session: Session, user: User, series: Series, now: datetime,
                   comment: str) -> list[int]:
    future = future_posts(session, series, now, detached=None)
    if any(p.status == PostStatus.approved for p in future) and not user.has_role(Role.operator):
        raise PermissionDenied(_("series %(id)s has approved occurrences ahead; only an operator "
                                 "may cancel them", id=series.id))
    for post in future:
        posts.cancel(session, user, post, now=now, comment=comment)
    return [post.id for post in future]


def _apply(series: Series, data: SeriesInput, channels: list[Channel]) -> None:
    assert data.starts_at is not None
    series.kind = data.kind
    series.title = data.title.strip()
    series.rrule = data.rrule.strip()
    series.timezone = data.timezone
    series.starts_at = data.starts_at.astimezone(UTC).replace(microsecond=0)
    series.template = data.template
    series.pool = list(data.pool)
    series.expires_after_minutes = data.expires_after_minutes
    series.channels = channels
    wanted = list(dict.fromkeys(data.tags))
    series.tag_rows = [row for row in series.tag_rows if row.tag in wanted]
    have = {row.tag for row in series.tag_rows}
    series.tag_rows.extend(SeriesTag(tag=tag) for tag in wanted if tag not in have)


def input_of(series: Series) -> SeriesInput:
    return SeriesInput(kind=series.kind, title=series.title, rrule=series.rrule,
                       timezone=series.timezone, starts_at=series.starts_at,
                       template=series.template, pool=list(series.pool),
                       channel_ids=[c.id for c in series.channels], tags=series.tags,
                       expires_after_minutes=series.expires_after_minutes)


def _deny(user: User, series: Series, verb: str, allow_self_approval: bool = False) -> None:
    """Raise the error that says why ``user`` may not ``verb`` ``series``."""
    if verb == "approve":
        if not user.has_role(Role.operator):
            raise PermissionDenied(_("only operators may approve a series"))
        if series.approved_at is not None:
            raise Conflict(_("series %(id)s is already approved", id=series.id))
        if series.status != SeriesStatus.active:
            raise Conflict(_("series %(id)s has ended", id=series.id))
        raise PermissionDenied(_(
            "you wrote series %(id)s; another operator must approve it "
            "(or an admin allows self-approval in the settings)", id=series.id))
    if series.status != SeriesStatus.active and verb != "delete":
        raise Conflict(_("series %(id)s has ended; it cannot be changed now", id=series.id))
    raise PermissionDenied(_("you may not change series %(id)s", id=series.id))
