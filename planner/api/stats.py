"""Report figures as JSON."""

from __future__ import annotations

from flask import jsonify

from planner.api.bp import bp
from planner.api.report_schemas import StatsOut, StatsQuery
from planner.api.spec import endpoint
from planner.models import Role, User
from planner.services.report_requests import figures_for
from planner.state import state
from planner.web.context import db


@endpoint(bp, "/stats", "GET", summary="Report figures for a period (operators)", role=Role.operator,
          query=StatsQuery, response=StatsOut)
def stats(user: User, query: StatsQuery):  # type: ignore[no-untyped-def]
    st = state()
    found = figures_for(db(), st.config, now=st.clock.now(), **query.model_dump())
    return jsonify(StatsOut.model_validate(found).model_dump(mode="json"))
