"""The current user: their own settings, and their private calendar link."""

from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _
from pydantic import Field

from planner.api.bp import bp
from planner.api.schemas import MeOut, Strict, Text
from planner.api.spec import endpoint
from planner.errors import ValidationFailed
from planner.models import User
from planner.services import account, calendar_links
from planner.state import state
from planner.web.context import db, now
from planner.web.subscription import calendar_url


def me_out(user: User) -> dict:
    return MeOut(
        id=user.id, email=user.email, name=user.name, role=user.role,
        timezone=user.timezone, locale=user.locale,
        calendar_url=calendar_url(calendar_links.token_of(state().secret_box, user)),
    ).model_dump(mode="json")


@endpoint(bp, "/me", "GET", summary="The current user, with their private calendar link",
          response=MeOut)
def me(user: User):  # type: ignore[no-untyped-def]
    return jsonify(me_out(user))


class MePatch(Strict):
    """A person's own settings; a field left out stays as it is, null clears it."""

    locale: Text | None = Field(default=None, max_length=16,
                               description="en or zh_Hans_CN; null follows the browser's language")
    timezone: Text | None = Field(default=None, max_length=64,
                                 description="an IANA name such as Asia/Shanghai; null: the workspace's")


@endpoint(bp, "/me", "PATCH", summary="Change the current user's language or timezone", body=MePatch,
          response=MeOut)
def patch_me(user: User, body: MePatch):  # type: ignore[no-untyped-def]
    given = body.model_dump(exclude_unset=True)
    problems: dict[str, str] = {}
    for name, setter in (("locale", account.set_locale), ("timezone", account.set_timezone)):
        if name in given:
            try:
                setter(db(), user, given[name], now=now())
            except ValidationFailed as error:
                problems |= error.fields
    if problems:
        db().rollback()
        raise ValidationFailed(_("the settings were not saved"), problems)
    db().commit()
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

