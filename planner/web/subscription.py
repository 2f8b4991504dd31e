"""The private calendar subscription: the .ics feed behind a secret link, and the page to manage it."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from planner.services import calendar_links, workspace
from planner.services import posts as post_service
from planner.state import state
from planner.web.context import db, now
from planner.web.forms import ActionForm
from planner.web.ical import plan_calendar

bp = Blueprint("subscription", __name__)

# What a subscribed calendar shows: the recent past for context, and half a year ahead.
DAYS_BACK = 30
DAYS_AHEAD = 180
MAX_EVENTS = 5000


def calendar_url(token: str | None) -> str | None:
    return None if token is None else url_for("subscription.feed", token=token, _external=True)


@bp.get("/calendar.ics")
def feed():  # type: ignore[no-untyped-def]
    """Public: the token in the link is the credential. A wrong or revoked one is a plain 404."""
    user = calendar_links.user_for_token(db(), request.args.get("token", ""))
    if user is None:
        abort(404)
    moment = now()
    posts = post_service.list_posts(db(), start=moment - timedelta(days=DAYS_BACK),
                                    end=moment + timedelta(days=DAYS_AHEAD), limit=MAX_EVENTS)
    community = workspace.community_name(db(), state().config)
    with force_locale(user.locale) if user.locale else nullcontext():
        body = plan_calendar(
            posts, name=_("%(community)s · planner", community=community), uid_domain=request.host,
            post_url=lambda post_id: url_for("posts.detail", post_id=post_id, _external=True))
    return body, 200, {
        "Content-Type": "text/calendar; charset=utf-8",
        "Content-Disposition": 'inline; filename="planner.ics"',
        "Cache-Control": "private, no-cache",
    }


@bp.get("/account/calendar")
@login_required
def account():  # type: ignore[no-untyped-def]
    token = calendar_links.token_of(state().secret_box, current_user)
    return render_template("account/calendar.html", url=calendar_url(token),
                           created_at=current_user.calendar_token_created_at, form=ActionForm())


@bp.post("/account/calendar")
@login_required
def change():  # type: ignore[no-untyped-def]
    """The page's two buttons: ``action=new`` makes a new link (the old one stops), ``revoke``."""
    action = request.form.get("action")
    if not ActionForm().validate_on_submit() or action not in ("new", "revoke"):
        flash(_("The form expired; please try again."), "danger")
        return redirect(url_for("subscription.account"))
    if action == "new":
        calendar_links.create_link(db(), state().secret_box, current_user, now=now())
        flash(_("Your calendar link is ready. Any older link no longer works."), "success")
    else:
        calendar_links.revoke_link(db(), current_user, now=now())
        flash(_("Your calendar link was revoked: calendar apps using it get nothing more."),
              "success")
    db().commit()
    return redirect(url_for("subscription.account"))
