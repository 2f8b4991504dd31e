"""``/healthz`` for load balancers and ``/metrics`` for Prometheus."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from sqlalchemy import func, select, text

from planner.models import Delivery, Post
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
    registry = CollectorRegistry()
    deliveries = Gauge("planner_deliveries", "Deliveries by status", ["status"], registry=registry)
    for status, count in db().execute(select(Delivery.status, func.count()).group_by(Delivery.status)):
        deliveries.labels(status=status).set(count)
    posts = Gauge("planner_posts", "Posts by status and kind", ["status", "kind"], registry=registry)
    for status, kind, count in db().execute(
        select(Post.status, Post.kind, func.count()).group_by(Post.status, Post.kind)
    ):
        posts.labels(status=status, kind=kind).set(count)
    alive, _beat = worker_alive(db(), state())
    Gauge("planner_worker_alive", "1 when a dispatcher heartbeat is fresh",
          registry=registry).set(1 if alive else 0)
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
