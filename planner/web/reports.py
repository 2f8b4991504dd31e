"""Reports: the figures operators are asked for, as charts with their tables, CSV files and a summary post."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from planner.api.report_schemas import StatsQuery
from planner.api.spec import parse
from planner.errors import ValidationFailed
from planner.models import PostKind, Role
from planner.services import channels as channel_service
from planner.services import weekly_summary, workspace
from planner.services.report_requests import figures_for
from planner.state import state
from planner.web.context import db, now, role_required
from planner.web.forms import WeeklySummaryForm
from planner.web.labels import KIND_LABELS

bp = Blueprint("reports", __name__)

TABLES = {
    "deliveries": ("deliveries_by_channel",
                   ["channel", "total", "sent", "failed", "unconfirmed", "expired", "canceled",
                    "pending", "retrying", "sending"]),
    "rhythm": ("rhythm", ["channel", "active_days", "sent", "per_day", "busiest_day", "days_over_limit",
                          "daily_limit"]),
}


def _figures() -> tuple[dict | None, dict[str, str]]:
    try:
        query = parse(StatsQuery, {k: v for k, v in request.args.items() if v})
    except ValidationFailed as error:
        return None, error.fields
    return figures_for(db(), state().config, now=now(), **query.model_dump()), {}


@bp.get("/reports")
@role_required(Role.operator)
def index():  # type: ignore[no-untyped-def]
    figures, errors = _figures()
    form = WeeklySummaryForm()
    form.channel_id.choices = [(c.id, c.name) for c in channel_service.list_channels(db())]
    form.channel_id.data = form.channel_id.data or workspace.get(db(), "alerts_channel_id", None)
    busiest = [(r["channel"], r["busiest_day"]) for r in figures["rhythm"]] if figures else []
    published = [(str(KIND_LABELS.get(kind, kind)), count)
                 for kind, count in (figures["posts_published"].items() if figures else [])]
    return render_template(
        "reports/index.html", figures=figures, errors=errors, args=request.args,
        busiest=busiest, published=published,
        channels=channel_service.list_channels(db()), kinds=list(PostKind), summary_form=form,
    ), (422 if errors else 200)


@bp.get("/reports/<name>.csv")
@role_required(Role.operator)
def table_csv(name: str):  # type: ignore[no-untyped-def]
    if name not in TABLES:
        abort(404)
    figures, errors = _figures()
    if figures is None:
        abort(400, "; ".join(f"{field}: {message}" for field, message in errors.items()))
    key, columns = TABLES[name]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(figures[key])
    period = figures["period"]
    filename = f"{name}-{period['first_day']}-{period['last_day']}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
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
