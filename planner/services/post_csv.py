"""The CSV file format for posts: reading a file into rows, and writing posts out.

One post per row under a header naming the columns (any order, any case). Spreadsheet habits are
welcome: a UTF-8 byte-order mark (Excel's "CSV UTF-8"), `;` or tab as the delimiter, Markdown bodies
over several lines in a quoted cell, blank rows. Rows are numbered as a spreadsheet shows them: the
header is row 1. Cells that a spreadsheet would run as a formula (starting with = + - @) are written
with a leading ' and read back without it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from planner.errors import ValidationFailed
from planner.models import Post

COLUMNS = ("kind", "title", "body", "scheduled_at", "expires_at", "channels", "tags")
REQUIRED = ("kind", "title", "body")
DELIMITERS = ",;\t"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NAME_SEPARATOR = re.compile(r"[;|]")
TAG_SEPARATOR = re.compile(r"[;|,\s]+")
# Chinese-locale Excel shows and saves times as 2026/11/23 8:00.
SPREADSHEET_TIMES = ("%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S")


@dataclass(frozen=True)
class Problem:
    """What is wrong, where: ``row`` 1 is the header; no row means the whole file."""

    row: int | None
    column: str | None
    message: str

    @property
    def key(self) -> str:
        if self.row is None:
            return "file"
        return f"row {self.row}" + (f".{self.column}" if self.column else "")


class ImportRefused(ValidationFailed):
    """The file was not imported; ``problems`` lists every row and column that is wrong."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(
            _("nothing was imported: the file has %(count)s problem(s)", count=len(problems)),
            {p.key: p.message for p in problems})
        self.problems = problems


@dataclass(frozen=True)
class Row:
    number: int
    cells: dict[str, str]


def read_rows(data: bytes, *, max_bytes: int, max_rows: int) -> list[Row]:
    """The file's data rows, keyed by column name; raises ImportRefused when the file is unusable."""
    if len(data) > max_bytes:
        _refuse(_("the file is %(size)s KB; at most %(limit)s KB can be imported at once",
                  size=-(-len(data) // 1024), limit=max_bytes // 1024))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        _refuse(_("the file is not UTF-8 text (byte %(at)s); in Excel choose "
                  "\"CSV UTF-8 (comma delimited)\" when saving", at=error.start + 1))
    if not text.strip():
        _refuse(_("the file is empty; the first row must name the columns: %(columns)s",
                  columns=",".join(COLUMNS)))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    rows: list[Row] = []
    number = 1
    try:
        header = [name.strip().lower() for name in next(reader)]
    except csv.Error as error:
        _refuse(_("the header row cannot be read: %(why)s", why=str(error)))
    problems = _check_header(header)
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                problems.append(Problem(number, None, _(
                    "the row has %(count)s cells but the header names %(columns)s columns",
                    count=len(cells), columns=len(header))))
                continue
            if len(rows) == max_rows:
                _refuse(_("the file has more than %(limit)s posts; split it into smaller files",
                          limit=max_rows))
            # A short row (some tools drop trailing empty cells) leaves its last columns empty.
            named = zip(header, cells, strict=False)
            rows.append(Row(number, {name: _unquote(cell) for name, cell in named
                                     if name in COLUMNS}))
    except csv.Error as error:
        problems.append(Problem(number + 1, None, _("the CSV cannot be read from here on: %(why)s",
                                                    why=str(error))))
    if problems:
        raise ImportRefused(problems)
    if not rows:
        _refuse(_("the file has a header but no posts"))
    return rows


def _delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(first_line, delimiters=DELIMITERS).delimiter
    except csv.Error:  # a single column: whatever the delimiter is, it is not used
        return ","


def _check_header(header: list[str]) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if name not in COLUMNS:
            problems.append(Problem(1, name or f"#{position}", _(
                "unknown column %(name)r (column %(position)s); the columns are: %(columns)s",
                name=name, position=position, columns=", ".join(COLUMNS))))
        elif name in seen:
            problems.append(Problem(1, name, _("the column %(name)s appears twice", name=name)))
        seen.add(name)
    for name in REQUIRED:
        if name not in seen:
            problems.append(Problem(1, name, _("the column %(name)s is missing", name=name)))
    return problems


def parse_time(value: str, tz: ZoneInfo) -> datetime | None:
    """ISO 8601 with an offset, or a local time (also 2026/11/23 8:00) in the workspace timezone;
    given back in UTC, as the database hands it back."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        for layout in SPREADSHEET_TIMES:
            try:
                parsed = datetime.strptime(value, layout)
                break
            except ValueError:
                continue
        else:
            raise ValueError(value) from None
    return (parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)).astimezone(UTC)


def split_names(value: str) -> list[str]:
    return [name.strip() for name in NAME_SEPARATOR.split(value) if name.strip()]


def split_tags(value: str) -> list[str]:
    return [tag.lower() for tag in TAG_SEPARATOR.split(value.strip()) if tag]


def write_posts(posts: Iterable[Post], tz: ZoneInfo) -> str:
    """The posts as CSV with the import columns, so the file can be imported again as it is.

    It starts with a byte-order mark, without which Excel takes UTF-8 for the local code page."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for post in posts:
        writer.writerow([_escape(cell) for cell in (
            post.kind, post.title, post.body, _time(post.scheduled_at, tz),
            _time(post.expires_at, tz), "; ".join(c.name for c in post.channels),
            "; ".join(post.tags))])
    return "\ufeff" + out.getvalue()


def _time(value: datetime | None, tz: ZoneInfo) -> str:
    return "" if value is None else value.astimezone(tz).isoformat(timespec="minutes")


def _escape(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def _unquote(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_START) else cell


def _refuse(message: str) -> NoReturn:
    raise ImportRefused([Problem(None, None, message)])
