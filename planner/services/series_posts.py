"""A series' occurrences as posts: materialised a horizon ahead, re-written when the series changes.

Each occurrence becomes one post (``series_id`` + ``occurrence_at`` is unique, so two dispatchers
can never write it twice). The series row is locked while its posts are written; ``next_occurrence_at``
remembers where materialising stopped, so an occurrence deleted by hand is not written again.

The texts are written in the series author's language (their saved interface language, else the
installation's default): it names the weekday and the date in ``{weekday}`` and ``{date}``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.config import DEFAULTS
from planner.errors import PermissionDenied, ValidationFailed
from planner.models import Post, PostStatus, Role, Series, SeriesStatus, User
from planner.services import audit, posts, recurrence, workspace
from planner.services.checks import Checker, ChecksFailed, Finding
from planner.services.posts import PostInput
from planner.services.recurrence import Occurrence, Schedule

UNPUBLISHED = (PostStatus.draft, PostStatus.in_review, PostStatus.approved)


def horizon(config: Mapping[str, Any]) -> timedelta:
    return timedelta(days=int(config["SERIES_HORIZON_DAYS"]))


def language_of(author: User | None, config: Mapping[str, Any] | None = None) -> str:
    """The language a series is written in: its author's, else the installation's default."""
    if author is not None and author.locale:
        return author.locale
    return str((config or DEFAULTS).get("BABEL_DEFAULT_LOCALE") or DEFAULTS["BABEL_DEFAULT_LOCALE"])


def findings_of(error: ValidationFailed) -> list[Finding]:
    """Why an occurrence could not be approved: the checks' findings, or what it lacks to be sent."""
    if isinstance(error, ChecksFailed):
        return list(error.findings)
    return [Finding("not_ready", "error", str(message)) for message in error.fields.values()] or [
        Finding("not_ready", "error", str(error.message))]


def schedule_of(series: Series) -> Schedule:
    return Schedule(series.rrule, series.timezone, series.starts_at)


def occurrences_of(series: Series, start: datetime | None = None,
                   end: datetime | None = None) -> Iterator[Occurrence]:
    """The rule's occurrences of ``series`` in ``[start, end)``, none after it ended."""
    if series.ended_at is not None:
        end = series.ended_at if end is None else min(end, series.ended_at)
    return recurrence.occurrences(schedule_of(series), start=start, end=end)


def post_input(series: Series, occurrence: Occurrence, community: str,
               language: str | None = None) -> PostInput:
    title, body = recurrence.render_occurrence(series.title, series.template, series.pool,
                                               occurrence, community,
                                               language or language_of(series.author))
    expires = (None if series.expires_after_minutes is None
               else occurrence.at + timedelta(minutes=series.expires_after_minutes))
    return PostInput(kind=series.kind, title=title, body=body, scheduled_at=occurrence.at,
                     expires_at=expires, channel_ids=[c.id for c in series.channels],
                     tags=series.tags)


def posts_of(session: Session, series: Series) -> list[Post]:
    return list(session.scalars(select(Post).where(Post.series_id == series.id)
                                .order_by(Post.occurrence_at)))


def future_posts(session: Session, series: Series, now: datetime, *,
                 detached: bool | None = False) -> list[Post]:
    """Occurrences not yet published whose time is still ahead (by default not the detached ones)."""
    query = select(Post).where(Post.series_id == series.id, Post.status.in_(UNPUBLISHED),
                               Post.scheduled_at > now).order_by(Post.occurrence_at)
    if detached is not None:
        query = query.where(Post.detached.is_(detached))
    return list(session.scalars(query))


def materialise(session: Session, series: Series, *, now: datetime, config: Mapping[str, Any],
                checker: Checker, actor: User | str = "dispatcher") -> list[Post]:
    """Write the posts of the occurrences up to the horizon that have none yet (the caller locks
    the series row). Occurrences of an approved series arrive approved, with their deliveries,
    when they pass the pre-publish checks; one that does not waits in review for an operator."""
    limit = now + horizon(config)
    nxt = series.next_occurrence_at
    if series.status != SeriesStatus.active or nxt is None or nxt > limit:
        return []
    taken = set(session.scalars(select(Post.occurrence_at).where(Post.series_id == series.id)))
    community = workspace.community_name(session, config)
    language = language_of(series.author, config)
    created = []
    held: dict[str, list[str]] = {}
    series.next_occurrence_at = None
    for occurrence in occurrences_of(series, start=nxt):
        if occurrence.at > limit:
            series.next_occurrence_at = occurrence.at
            break
        if occurrence.at > now and occurrence.at not in taken:
            post = posts.create_post(session, series.author,
                                     post_input(series, occurrence, community, language), now=now)
            post.series_id = series.id
            post.occurrence_at = occurrence.at
            session.flush()
            findings = _submit_and_approve(session, series, post, now, checker)
            if findings:
                held[str(post.id)] = [f.message for f in findings]
            created.append(post)
    if created:
        audit.record(session, at=now, actor=actor, action="series.materialise",
                     subject_type="series", subject_id=series.id,
                     post_ids=[post.id for post in created], held=held)
    return created


def _submit_and_approve(session: Session, series: Series, post: Post, now: datetime,
                        checker: Checker) -> list[Finding]:
    """Put a new occurrence up for review, and approve it when its series is approved; the
    findings that kept an approved series' occurrence in review, if any."""
    try:
        posts.submit(session, series.author, post, now=now)
    except ValidationFailed:
        return []  # no enabled target yet: it waits as a draft, like any post
    approver = series.approved_by
    if approver is None or not approver.active or not approver.has_role(Role.operator):
        return []
    # The operator approved the series (self-approval was checked then); each occurrence goes
    # through the same approval and checks, which write its deliveries.
    try:
        posts.approve(session, approver, post, now=now, allow_self_approval=True,
                      comment=_("approved with the series"), checker=checker)
    except ValidationFailed as error:
        return findings_of(error)
    return []


def rewrite_future(session: Session, user: User, series: Series, before: Schedule, *,
                   now: datetime, config: Mapping[str, Any], checker: Checker) -> list[int]:
    """After an edit of all future occurrences: every future occurrence not edited on its own
    takes the series' new text and time (matched by its position in the rule), or is canceled
    when the new rule has no such occurrence ahead. Then the horizon is filled again. The ids of
    the approved occurrences sent back to review (:func:`_recheck_moved`) are returned."""
    returned: list[int] = []
    future = future_posts(session, series, now)
    if future:
        last = max(p.occurrence_at for p in future if p.occurrence_at is not None)
        position = {o.at: o.index
                    for o in recurrence.occurrences(before, end=last + timedelta(seconds=1))}
        wanted = {position.get(p.occurrence_at) for p in future} - {None}
        moved = {o.index: o for o in _up_to(series, max(wanted, default=-1))}
        others = {p.occurrence_at for p in posts_of(session, series)} - {p.occurrence_at for p in future}
        community = workspace.community_name(session, config)
        keep: list[tuple[Post, Occurrence]] = []
        gone: list[Post] = []
        for post in future:
            target = moved.get(position.get(post.occurrence_at, -1))
            if target is None or target.at <= now or target.at in others:
                gone.append(post)
            else:
                keep.append((post, target))
        if any(p.status == PostStatus.approved for p in gone) and not user.has_role(Role.operator):
            raise PermissionDenied(_("the new rule drops approved occurrences of series %(id)s; "
                                     "only an operator may cancel them", id=series.id))
        for post in gone:
            posts.cancel(session, user, post, now=now,
                         comment=_("the series no longer has this occurrence"))
        for post, _target in keep:
            post.occurrence_at = None  # free every slot before taking the new ones
        session.flush()
        was = {post.id: post.scheduled_at for post, _target in keep}
        for post, target in keep:
            post.occurrence_at = target.at
            posts.update_post(session, user, post,
                              post_input(series, target, community, language_of(series.author, config)),
                              now=now, detach=False)
        returned = _recheck_moved([p for p, _t in keep if p.scheduled_at != was[p.id]], session, user,
                                  now=now, checker=checker)
    series.next_occurrence_at = recurrence.first_after(schedule_of(series), now)
    materialise(session, series, now=now, config=config, checker=checker, actor=user)
    return returned


def _recheck_moved(moved: list[Post], session: Session, user: User, *, now: datetime,
                   checker: Checker) -> list[int]:
    """Approved occurrences whose time alone the edit moved keep their approval only where the
    posting rules (posts a day, minutes between posts) hold at the new time, every occurrence having
    moved by then; the others go back to review, as a move on the calendar would be refused."""
    session.flush()
    returned = []
    for post in moved:
        if post.status != PostStatus.approved:
            continue
        try:
            checker.require_schedule_clear(session, post, posts.resolve_targets(session, post),
                                           post.scheduled_at)
        except ChecksFailed as failed:
            reason = "; ".join(f.message for f in failed.findings)
            posts.return_to_review(session, user, post, now=now, reason=_(
                "the series moved it to a time that breaks the posting rules: %(why)s", why=reason))
            returned.append(post.id)
    return returned


def _up_to(series: Series, index: int) -> list[Occurrence]:
    found = []
    if index < 0:
        return found
    for occurrence in occurrences_of(series):
        if occurrence.index > index:
            break
        found.append(occurrence)
    return found


def projected(session: Session, series: Series, start: datetime, end: datetime,
              community: str, limit: int,
              config: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The rule's occurrences in range, each with its text and the post it became, if any."""
    made = {p.occurrence_at: p for p in session.scalars(
        select(Post).where(Post.series_id == series.id, Post.occurrence_at >= start,
                           Post.occurrence_at < end))}
    found = []
    language = language_of(series.author, config)
    for occurrence in occurrences_of(series, start=start, end=end):
        if len(found) >= limit:
            break
        post = made.get(occurrence.at)
        data = post_input(series, occurrence, community, language)
        found.append({
            "series_id": series.id, "index": occurrence.index, "occurrence_at": occurrence.at,
            "scheduled_at": post.scheduled_at if post else occurrence.at,
            "kind": series.kind, "title": post.title if post else data.title,
            "body": post.body if post else data.body,
            "channel_ids": data.channel_ids, "tags": data.tags,
            "post_id": post.id if post else None, "post_status": post.status if post else None,
            "detached": post.detached if post else False,
        })
    return found
