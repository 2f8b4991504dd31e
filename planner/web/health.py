"""``/healthz`` for load balancers and ``/metrics`` for Prometheus."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from planner.metrics import render as render_metrics
from planner.state import state
from planner.web.context import db
from planner.worker.dispatcher import worker_alive

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    try:
        db().execute(text("SELECT 1"))
        database = {"ok": True}
    except Exception as error:  # the answer must say what is wrong, not fail
        database = {"ok": False, "error": type(error).__name__}
    alive, beat = worker_alive(db(), state())
    body = {
        "status": "ok" if database["ok"] and alive else "degraded",
        "db": database,
        "worker": {
            "alive": alive,
            "last_heartbeat": beat.last_seen_at.isoformat() if beat else None,
            "worker_id": beat.worker_id if beat else None,
        },
    }
    return jsonify(body), 200 if database["ok"] else 503


@bp.get("/metrics")
def metrics():  # type: ignore[no-untyped-def]
    alive, _beat = worker_alive(db(), state())
    body = render_metrics(db(), state().clock.now(), alive)
    return Response(body, mimetype=CONTENT_TYPE_LATEST)
