"""The current user, and their private calendar link."""

from __future__ import annotations

from flask import jsonify

from planner.api.bp import bp
from planner.api.schemas import MeOut
from planner.api.spec import endpoint
from planner.models import User
from planner.services import calendar_links
from planner.state import state
from planner.web.context import db, now
from planner.web.subscription import calendar_url


def me_out(user: User) -> dict:
    return MeOut(
        id=user.id, email=user.email, name=user.name, role=user.role,
        timezone=getattr(user, "timezone", None),
        calendar_url=calendar_url(calendar_links.token_of(state().secret_box, user)),
    ).model_dump(mode="json")


@endpoint(bp, "/me", "GET", summary="The current user, with their private calendar link",
          response=MeOut)
def me(user: User):  # type: ignore[no-untyped-def]
    return jsonify(me_out(user))


@endpoint(bp, "/me/calendar-link", "POST", response=MeOut,
          summary="Make a new private calendar link (an older one stops working)")
def new_calendar_link(user: User):  # type: ignore[no-untyped-def]
    calendar_links.create_link(db(), state().secret_box, user, now=now())
    db().commit()
    return jsonify(me_out(user))


@endpoint(bp, "/me/calendar-link", "DELETE", response=MeOut,
          summary="Revoke the private calendar link: calendar apps using it get a 404")
def revoke_calendar_link(user: User):  # type: ignore[no-untyped-def]
    calendar_links.revoke_link(db(), user, now=now())
    db().commit()
    return jsonify(me_out(user))

