"""The web pages: one blueprint per area, each view thin over the services."""

from __future__ import annotations

from flask import Flask, g, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from planner.errors import PlannerError
from planner.extensions import login_manager
from planner.models import Role, User
from planner.rendering import markdown_to_html
from planner.request_log import current_request_id
from planner.services import deliveries, users, workspace
from planner.web import (
    account,
    auth,
    booking,
    channels,
    converters,
    feeds,
    health,
    inbox,
    labels,
    post_files,
    posts,
    reports,
    review,
    security,
    sent,
    series,
    settings,
    slots,
    subscription,
)
from planner.web.context import db, viewer_timezone
from planner.web.timefmt import show, show_day, show_time
from planner.worker.dispatcher import worker_alive


def init_app(app: Flask) -> None:
    converters.register(app)
    for module in (auth, posts, post_files, series, review, sent, channels, feeds, inbox, reports,
                   settings, account, security, health, subscription, booking, slots):
        app.register_blueprint(module.bp)
    login_manager.login_view = "auth.login"
    login_manager.login_message = ""
    login_manager.user_loader(_load_user)
    app.context_processor(_layout_context)
    labels.register(app)
    app.add_template_filter(markdown_to_html, "markdown")
    app.add_template_filter(lambda value: show(value, viewer_timezone()), "local")
    app.add_template_filter(lambda value: show_time(value, viewer_timezone()), "local_time")
    app.add_template_filter(show_day, "local_day")
    app.register_error_handler(HTTPException, _error_page)  # every 4xx, on a page or in JSON
    app.register_error_handler(500, _server_error)
    app.register_error_handler(PlannerError, _planner_error)
    app.register_error_handler(IntegrityError, _integrity_error)


def _load_user(session_id: str) -> User | None:
    return users.user_for_session(db(), session_id)


def _layout_context() -> dict[str, object]:
    if not current_user.is_authenticated:
        return {"Role": Role}
    from planner.state import state

    alive, _beat = worker_alive(db(), state())
    attention = deliveries.count_needing_attention(db()) if current_user.has_role(Role.operator) else 0
    community = workspace.community_name(db(), state().config)
    return {"Role": Role, "worker_alive": alive, "deliveries_needing_attention": attention,
            "community_name": community}


def _error_page(error: HTTPException):  # type: ignore[no-untyped-def]
    messages = {
        400: _("The request could not be understood (was the form's security token missing?)."),
        403: _("You do not have permission to do that."),
        404: _("There is nothing here."),
        405: _("That action is not allowed here."),
        413: _("What you sent is too large."),
    }
    code = error.code or 500
    if isinstance(error, CSRFError):
        messages[400] = _("The form's security token is missing or expired: reload the page "
                          "and try again. (%(why)s)", why=error.description)
    if request.path.startswith("/api/"):
        from planner.api import error_response

        name = _API_CODES.get(code) or error.name.lower().replace(" ", "_").replace("'", "")
        response, status = error_response(name, error.description or error.name, code)
        response.headers.update(_kept(error))
        return response, status
    message = messages.get(code) or error.description or error.name
    return render_template("error.html", code=code, message=message), code, _kept(error)


def _kept(error: HTTPException) -> dict[str, str]:
    """Headers the error carries that the caller needs (Allow on a 405, Retry-After on a 429)."""
    return {name: value for name, value in error.get_headers()
            if name in ("Allow", "Retry-After", "WWW-Authenticate")}


def _server_error(_error):  # type: ignore[no-untyped-def]
    """Flask has logged the traceback under this request's id; the person sees the id to report."""
    request_id = current_request_id()
    api = request.path.startswith("/api/")
    from planner.api import error_response

    try:
        session = g.get("db_session")
        if session is not None:
            session.rollback()  # the locale, the user and the page's layout read the database again
        message = _("Something went wrong on our side and nothing was saved. If it happens again, "
                    "tell your admin the request id %(id)s.", id=request_id)
        if api:
            return error_response("internal_error", message, 500)
        return render_template("error.html", code=500, message=message), 500
    except Exception:  # the database itself is failing: still hand out the request id
        plain = f"Something went wrong on our side. Request id: {request_id}"
        if api:
            return error_response("internal_error", plain, 500)
        return plain, 500, {"Content-Type": "text/plain; charset=utf-8"}


_API_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
              413: "too_large"}


def _integrity_error(_error: IntegrityError):  # type: ignore[no-untyped-def]
    """Two changes raced and the database kept the first: say so instead of failing."""
    db().rollback()
    message = _("Someone else changed this at the same moment; reload and try again.")
    if request.path.startswith("/api/"):
        from planner.api import error_response

        return error_response("conflict", message, 409)
    return render_template("error.html", code=409, message=message), 409


def _planner_error(error: PlannerError):  # type: ignore[no-untyped-def]
    return render_template("error.html", code=error.status, message=error.message), error.status
