"""URL converters that refuse what the database cannot hold, so such a URL is a 404 and never a 500."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import Map
from werkzeug.routing.converters import IntegerConverter, UnicodeConverter

from planner.api.schemas import MAX_ID


class IdConverter(IntegerConverter):
    """``<int:…>``: at most MAX_ID; a larger number would overflow the database's integers."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                 max: int | None = MAX_ID, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits, min, max, signed)


class PlainStringConverter(UnicodeConverter):
    """``<name>``: one path segment without NUL characters, which PostgreSQL cannot compare."""

    def __init__(self, map: Map, minlength: int = 1, maxlength: int | None = None,
                 length: int | None = None) -> None:
        super().__init__(map, minlength, maxlength, length)
        self.regex = self.regex.replace("[^/]", "[^/\\x00]", 1)


def register(app: Flask) -> None:
    """Before any rule is added: rules pick their converters when they are added."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["default"] = PlainStringConverter
    app.url_map.converters["string"] = PlainStringConverter
