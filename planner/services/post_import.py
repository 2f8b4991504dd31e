"""Importing many posts from a CSV file, all or nothing, and exporting a date range as CSV.

Each row goes through the post service's own validation (``create_post``, and ``submit`` when asked),
so an imported post obeys exactly the rules of one written in the editor. Every row is checked even
after a bad one, so the author sees all the problems at once; if there is any, ``ImportRefused`` is
raised and the caller rolls the transaction back: nothing of the file is kept.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from planner.errors import ValidationFailed
from planner.models import Post, User
from planner.services import audit
from planner.services import channels as channel_service
from planner.services import posts as post_service
from planner.services.post_csv import (
    COLUMNS,
    ImportRefused,
    Problem,
    Row,
    parse_time,
    read_rows,
    split_names,
    split_tags,
    write_posts,
)
from planner.services.posts import PostInput

EXPORT_MAX = 10_000
# The post service names fields after PostInput; the file names them after its columns.
_COLUMN_OF = {"channel_ids": "channels"}


def import_posts(
    session: Session, author: User, data: bytes, *, tz: ZoneInfo, now: datetime, submit: bool,
    max_bytes: int, max_rows: int,
) -> list[Post]:
    """Create one draft per row (submitted for review when ``submit``), or raise ImportRefused."""
    rows = read_rows(data, max_bytes=max_bytes, max_rows=max_rows)
    channel_ids = _channel_ids_by_name(session)
    problems: list[Problem] = []
    created: list[Post] = []
    for row in rows:
        wanted, found = _post_input(row, tz, channel_ids)
        try:
            post = post_service.create_post(session, author, wanted, now=now)
            if submit:
                post_service.submit(session, author, post, now=now)
        except ValidationFailed as error:
            for field, message in error.fields.items():
                column = _COLUMN_OF.get(field, field)
                if column not in {p.column for p in found}:
                    found.append(Problem(row.number, column, str(message)))
        else:
            created.append(post)
        problems.extend(sorted(found, key=lambda p: _column_order(p.column)))
    if problems:
        raise ImportRefused(problems)
    audit.record(session, at=now, actor=author, action="post.import", subject_type="user",
                 subject_id=author.id, count=len(created), submitted=submit,
                 post_ids=[p.id for p in created])
    return created


def export_posts(session: Session, *, start: datetime, end: datetime, tz: ZoneInfo) -> str:
    if end <= start:
        raise ValidationFailed(_("the range is empty"),
                               {"end": _("the end must be after the start")})
    posts = post_service.list_posts(session, start=start, end=end, limit=EXPORT_MAX + 1)
    if len(posts) > EXPORT_MAX:
        raise ValidationFailed(_("too many posts to export at once"), {"end": _(
            "more than %(limit)s posts in this range; choose a shorter one", limit=EXPORT_MAX)})
    return write_posts(posts, tz)


def _post_input(row: Row, tz: ZoneInfo, channel_ids: dict[str, int]) -> tuple[PostInput, list[Problem]]:
    """The row as the post service's input, and the problems found before the service looks."""
    cells = row.cells
    problems = []
    times: dict[str, datetime | None] = {}
    for column in ("scheduled_at", "expires_at"):
        try:
            times[column] = parse_time(cells.get(column, ""), tz)
        except ValueError:
            times[column] = None
            problems.append(Problem(row.number, column, _(
                "not a date and time: %(value)r (write e.g. 2026-11-23T08:00+08:00, or "
                "2026-11-23 08:00 in the workspace timezone)", value=cells[column].strip())))
    if any(p.column == "scheduled_at" for p in problems):
        times["expires_at"] = None  # it cannot be checked against a publish time we do not have
    ids = []
    unknown = []
    for name in split_names(cells.get("channels", "")):
        if name in channel_ids:
            ids.append(channel_ids[name])
        elif name.casefold() in channel_ids:
            ids.append(channel_ids[name.casefold()])
        else:
            unknown.append(name)
    if unknown:
        problems.append(Problem(row.number, "channels", _(
            "no channel is called %(names)s", names=", ".join(map(repr, unknown)))))
    return PostInput(
        kind=cells.get("kind", "").strip().lower(),
        title=cells.get("title", ""),
        body=cells.get("body", "").replace("\r\n", "\n"),
        channel_ids=ids,
        tags=split_tags(cells.get("tags", "")),
        **times,
    ), problems


def _channel_ids_by_name(session: Session) -> dict[str, int]:
    """Channels by exact name, and by case-folded name where that is unambiguous."""
    channels = channel_service.list_channels(session)
    by_name = {c.name: c.id for c in channels}
    folded: dict[str, list[int]] = {}
    for channel in channels:
        folded.setdefault(channel.name.casefold(), []).append(channel.id)
    return by_name | {name: ids[0] for name, ids in folded.items()
                      if len(ids) == 1 and name not in by_name}


def _column_order(column: str | None) -> int:
    return COLUMNS.index(column) if column in COLUMNS else -1
