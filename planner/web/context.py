"""Per-request helpers for views: the database session, the clock, role checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import abort, g, request
from flask_login import current_user, login_required
from sqlalchemy.orm import Session

from planner.db import reading
from planner.errors import PlannerError, ValidationFailed
from planner.models import Role
from planner.services import account, workspace
from planner.services.checks import Checker, checker_for
from planner.state import state

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def db() -> Session:
    """The request's session; a GET reads without taking SQLite's write lock."""
    if "db_session" not in g:
        st = state()
        bind = reading(st.engine) if request.method in SAFE_METHODS else st.engine
        g.db_session = st.sessions(bind=bind)
    return g.db_session


def now() -> datetime:
    return state().clock.now()


def workspace_timezone() -> ZoneInfo:
    return workspace.timezone(db(), state().config)


def viewer_timezone() -> ZoneInfo:
    """The zone the signed-in person reads and types times in (theirs, else the workspace's);
    computed once per request."""
    if "viewer_timezone" not in g:
        user = current_user if current_user.is_authenticated else None
        g.viewer_timezone = account.timezone_of(db(), user, state().config["TIMEZONE"])
    return g.viewer_timezone


def allow_self_approval() -> bool:
    return bool(workspace.get(db(), "allow_self_approval", state().config["ALLOW_SELF_APPROVAL"]))


def checker() -> Checker:
    """The pre-publish checks, with this installation's channel kinds and workspace settings."""
    return checker_for(state(), db())


def role_required(role: Role) -> Callable[[F], F]:
    """Signed in, and at least ``role``; anyone else gets a 403 page."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.has_role(role):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_role = role  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def attach_errors(form: Any, error: PlannerError,
                  field_of: Callable[[str], str] = lambda name: name) -> None:
    """The service's reasons on the form: each beside the field it names (``field_of`` maps the
    service's name to the form's), the others, and the message when no field is named, above it.
    str(): a lazy message counts as safe HTML to Jinja, and it may quote what the user typed."""
    if not error.fields:
        form.form_errors.append(str(error.message))
    for name, message in error.fields.items():
        field = form._fields.get(field_of(name))
        if field is not None:
            field.errors = [*field.errors, str(message)]
        else:
            form.form_errors.append(str(message))


def saved(change: Callable[[], T], form: Any, refused: tuple[type[PlannerError], ...] = (ValidationFailed,),
          field_of: Callable[[str], str] = lambda name: name) -> T | None:
    """Make a change a form asked for: committed, and what ``change`` returned (never None) given
    back; or, when the service refuses it, rolled back with nothing written and the reasons put
    on the form (:func:`attach_errors`), and None."""
    try:
        result = change()
    except refused as error:
        db().rollback()
        attach_errors(form, error, field_of)
        return None
    db().commit()
    return result
