"""The texts a confirmed booking drafts: the guest session post, its announcements and the notices."""

from __future__ import annotations

from flask import jsonify

from planner.api.booking_schemas import GuestSessionTemplates
from planner.api.bp import bp
from planner.api.spec import endpoint
from planner.models import Role, User
from planner.services import booking_templates
from planner.web.context import db, now


@endpoint(bp, "/settings/guest-session-templates", "GET",
          summary="The guest session templates (defaults for any part never changed)",
          role=Role.operator, response=GuestSessionTemplates)
def get_guest_session_templates(user: User):  # type: ignore[no-untyped-def]
    return jsonify(booking_templates.current(db()))


@endpoint(bp, "/settings/guest-session-templates", "PUT",
          summary="Replace the guest session templates; placeholders {speaker}, {topic}, {time}, "
                  "{abstract}, {community} (and {old_time} in the moved notice)",
          role=Role.operator, body=GuestSessionTemplates, response=GuestSessionTemplates)
def put_guest_session_templates(user: User, body: GuestSessionTemplates):  # type: ignore[no-untyped-def]
    saved = booking_templates.put(db(), body.model_dump(), actor=user, now=now())
    db().commit()
    return jsonify(saved)
