"""The import and export page: many posts at once from a CSV file, and a date range out as CSV."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, flash, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField
from wtforms.validators import DataRequired

from planner.errors import ValidationFailed
from planner.services import post_import
from planner.services.post_csv import COLUMNS, ImportRefused
from planner.state import state
from planner.web.context import db, now, workspace_timezone

bp = Blueprint("post_files", __name__)


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a CSV file."))])
    submit_all = BooleanField(_l("Submit every imported post for review"))


class ExportForm(FlaskForm):
    class Meta:
        csrf = False  # a download by GET changes nothing

    start = DateField(_l("From"), validators=[DataRequired(_l("Choose the first day."))])
    end = DateField(_l("To (inclusive)"), validators=[DataRequired(_l("Choose the last day."))])


@bp.route("/posts/import", methods=["GET", "POST"])
@login_required
def import_page():  # type: ignore[no-untyped-def]
    form = ImportForm()
    problems = []
    created = []
    if form.validate_on_submit():
        config = state().config
        try:
            created = post_import.import_posts(
                db(), current_user, form.file.data.read(), tz=workspace_timezone(), now=now(),
                submit=form.submit_all.data, max_bytes=config["IMPORT_MAX_BYTES"],
                max_rows=config["IMPORT_MAX_ROWS"])
        except ImportRefused as refused:
            db().rollback()
            problems = refused.problems
        else:
            db().commit()
            flash(_("Imported %(count)s post(s).", count=len(created)), "success")
    status = 422 if form.is_submitted() and not created else 200
    return render_template("posts/import.html", form=form, problems=problems, created=created,
                           export_form=_export_form(), columns=COLUMNS), status


@bp.get("/posts/export")
@login_required
def export():  # type: ignore[no-untyped-def]
    form = ExportForm(request.args)
    if form.validate():
        tz = workspace_timezone()
        first, last = form.start.data, form.end.data
        try:
            text = post_import.export_posts(db(), start=_midnight(first, tz),
                                            end=_midnight(last + timedelta(days=1), tz), tz=tz)
        except ValidationFailed as error:
            form.end.errors = [*form.end.errors, *map(str, error.fields.values())]
        else:
            return Response(text, mimetype="text/csv", headers={
                "Content-Disposition": f'attachment; filename="posts-{first}-to-{last}.csv"'})
    return render_template("posts/import.html", form=ImportForm(), problems=[], created=[],
                           export_form=form, columns=COLUMNS), 422


def _export_form() -> ExportForm:
    today = now().astimezone(workspace_timezone()).date()
    return ExportForm(data={"start": today, "end": today + timedelta(days=30)})


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tz)
