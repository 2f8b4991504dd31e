"""The JSON API under /api/v1."""

from __future__ import annotations

from flask import Flask, jsonify

from planner.api import (  # noqa: F401  (each module registers its endpoints)
    account,
    calendar,
    channels,
    feeds,
    guest_templates,
    post_files,
    posts,
    public,
    review,
    series,
    slots,
    stats,
)
from planner.api.bp import bp
from planner.api.spec import openapi_document
from planner.errors import PlannerError
from planner.extensions import csrf


def init_app(app: Flask) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)


def error_response(code: str, message: object, status: int,  # type: ignore[no-untyped-def]
                   fields: dict[str, object] | None = None):
    fields = {name: str(text) for name, text in (fields or {}).items()}
    return jsonify({"error": {"code": code, "message": str(message), "fields": fields}}), status


@bp.errorhandler(PlannerError)
def _planner_error(error: PlannerError):  # type: ignore[no-untyped-def]
    return error_response(error.code, error.message, error.status, error.fields)


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(openapi_document())

