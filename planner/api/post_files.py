"""Posts in and out as CSV files: an all-or-nothing import and the export of a date range."""

from __future__ import annotations

from flask import Response, jsonify, request
from flask_babel import gettext as _

from planner.api.bp import bp
from planner.api.posts import post_out
from planner.api.schemas import ExportQuery, ImportQuery, PostList
from planner.api.spec import endpoint
from planner.errors import BadRequest
from planner.models import User
from planner.services import post_import
from planner.state import state
from planner.web.context import db, now, workspace_timezone

CSV_TYPES = {"text/csv", "text/plain", "application/csv"}
CSV_UPLOAD = {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary", "description": "the CSV file"}}}},
    "text/csv": {"schema": {"type": "string"}},
}


@endpoint(bp, "/posts/import", "POST", query=ImportQuery, response=PostList, status=201, upload=CSV_UPLOAD,
          summary="Import posts from a CSV file (multipart field 'file', or a text/csv body); "
                  "every row is checked and any problem refuses the whole file")
def import_posts(user: User, query: ImportQuery):  # type: ignore[no-untyped-def]
    config = state().config
    created = post_import.import_posts(
        db(), user, _uploaded(), tz=workspace_timezone(), now=now(),
        submit=query.submit, max_bytes=config["IMPORT_MAX_BYTES"],
        max_rows=config["IMPORT_MAX_ROWS"])
    db().commit()
    return jsonify({"items": [post_out(post) for post in created]}), 201


@endpoint(bp, "/posts/export", "GET", query=ExportQuery,
          summary="The posts scheduled in [start, end) as CSV, in the import's columns")
def export_posts(user: User, query: ExportQuery):  # type: ignore[no-untyped-def]
    text = post_import.export_posts(db(), start=query.start, end=query.end, tz=workspace_timezone())
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="posts.csv"'})


def _uploaded() -> bytes:
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise BadRequest(_("the multipart request has no 'file' field"))
        return upload.read()
    if request.mimetype in CSV_TYPES:
        return request.get_data()
    raise BadRequest(_("send the CSV as multipart/form-data (field 'file') or as a text/csv body"))
