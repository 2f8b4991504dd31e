"""Reports: the figures operators are asked for, as charts with their tables, CSV files and a summary post."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import ValidationError

from planner.api.report_schemas import StatsQuery
from planner.models import PostKind, Role
from planner.services import channels as channel_service
from planner.services import weekly_summary, workspace
from planner.services.report_requests import figures_for
from planner.state import state
from planner.web.context import db, now, role_required
from planner.web.forms import WeeklySummaryForm
from planner.web.labels import KIND_LABELS
from planner.web.report_tables import TABLES, as_csv, band_labels, posts_per_kind

bp = Blueprint("reports", __name__)

# The filters' own words for what is wrong with them (the schema's messages are for API clients).
FILTERS = {
    "start": (_l("From"), _l("enter the first day as YYYY-MM-DD")),
    "end": (_l("To"), _l("enter the last day as YYYY-MM-DD")),
    "channel_id": (_l("Channel"), _l("choose a channel from the list")),
    "tag": (_l("Tag"), _l("a tag has lowercase letters, digits, - and _ only")),
    "kind": (_l("Kind"), _l("choose a kind from the list")),
}


def _figures() -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The figures the query string asks for, or what is wrong with it (keyed by filter)."""
    given = {name: value for name, value in request.args.items() if value and name in FILTERS}
    try:
        query = StatsQuery.model_validate(given)
    except ValidationError as error:
        problems: dict[str, str] = {}
        for problem in error.errors(include_url=False):
            name = str(problem["loc"][0]) if problem["loc"] else "start"
            ours = problem["type"] == "value_error"  # raised by the schema's own, translated checks
            problems.setdefault(name, problem["msg"].removeprefix("Value error, ") if ours
                                else str(FILTERS[name][1]))
        return None, problems
    return figures_for(db(), state().config, now=now(), **query.model_dump()), {}


@bp.get("/reports")
@role_required(Role.operator)
def index():  # type: ignore[no-untyped-def]
    figures, errors = _figures()
    form = WeeklySummaryForm()
    form.channel_id.choices = [(c.id, c.name) for c in channel_service.list_channels(db())]
    form.channel_id.data = form.channel_id.data or workspace.get(db(), "alerts_channel_id", None)
    charts: dict[str, list[tuple[str, int]]] = {}
    if figures:
        charts = {
            "busiest": [(r["channel"], r["busiest_day"]) for r in figures["rhythm"]],
            "lateness": list(zip(band_labels(figures["lateness"]),
                                 [b["deliveries"] for b in figures["lateness"]], strict=True)),
            "posts": [(str(KIND_LABELS.get(r["kind"], r["kind"])), r["posts"])
                      for r in posts_per_kind(figures)],
        }
    return render_template(
        "reports/index.html", figures=figures, args=request.args, charts=charts, tables=TABLES,
        errors=[(FILTERS[name][0], message) for name, message in errors.items()],
        channels=channel_service.list_channels(db()), kinds=list(PostKind), summary_form=form,
    ), (422 if errors else 200)


@bp.get("/reports/<name>.csv")
@role_required(Role.operator)
def table_csv(name: str):  # type: ignore[no-untyped-def]
    if name not in TABLES:
        abort(404)
    figures, errors = _figures()
    if figures is None:
        abort(400, "; ".join(f"{FILTERS[field][0]}: {message}" for field, message in errors.items()))
    period = figures["period"]
    filename = f"{name}-{period['first_day']}-{period['last_day']}.csv"
    return Response(as_csv(TABLES[name], figures), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.post("/reports/weekly-summary")
@role_required(Role.operator)
def weekly():  # type: ignore[no-untyped-def]
    form = WeeklySummaryForm()
    form.channel_id.choices = [(c.id, c.name) for c in channel_service.list_channels(db())]
    if not form.validate_on_submit():
        flash(_("Pick the channel the summary goes to."), "error")
        return redirect(url_for("reports.index"))
    post = weekly_summary.draft(db(), state().config, current_user, form.channel_id.data, now=now())
    db().commit()
    flash(_("Last week's summary is in the review queue."), "success")
    return redirect(url_for("posts.detail", post_id=post.id))
