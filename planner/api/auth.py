"""Who is calling the API: a bearer token, or a signed-in browser session (which then needs CSRF)."""

from __future__ import annotations

from flask import g, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from planner.errors import BadRequest, PermissionDenied, Unauthenticated
from planner.extensions import csrf
from planner.models import Role, User
from planner.services import users
from planner.state import state
from planner.web.context import db

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def authenticate(role: Role | None) -> User | None:
    if role is None:
        return None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _space, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated(_("use 'Authorization: Bearer <token>'"))
        found = _token_owner(token.strip())
        if found is None:
            raise Unauthenticated(_("the API token is unknown or revoked"))
        user_id, scope = found
        user = db().get(User, user_id)
        assert user is not None
        g.api_user_id = user.id  # for the access log
        if scope == "read" and request.method in UNSAFE:
            raise PermissionDenied(_("this token may only read: create a token with the write scope "
                                     "to make changes"))
    elif current_user.is_authenticated:
        user = current_user._get_current_object()
        if request.method in UNSAFE:
            try:
                csrf.protect()
            except CSRFError as error:
                raise BadRequest(_("session requests need an X-CSRFToken header: %(why)s",
                                   why=error.description)) from None
    else:
        raise Unauthenticated(_("sign in or send a bearer token"))
    if not user.has_role(role):
        raise PermissionDenied(_("this needs the %(role)s role or higher", role=role))
    return user


def _token_owner(token: str) -> tuple[int, str] | None:
    """The token's user and scope; its use is noted in a short transaction of its own."""
    st = state()
    with st.sessions() as session, session.begin():
        row = users.token_for_request(session, token, st.clock.now())
        return None if row is None else (row.user_id, row.scope)
