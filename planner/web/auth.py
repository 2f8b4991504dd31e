"""Signing in and out."""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from planner.services import login_throttle, users
from planner.state import state
from planner.web.context import db, now
from planner.web.forms import ActionForm, LoginForm

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("posts.calendar"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        email, address = form.email.data or "", request.remote_addr or "unknown"
        limits = login_throttle.Limits.from_config(state().config)
        wait = login_throttle.retry_after(db(), email, address, limits, now())
        if wait is not None:
            form.password.errors.append(_("Too many failed sign-ins: try again in %(minutes)s "
                                          "minute(s).", minutes=math.ceil(wait / 60)))
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(wait)}
        user = users.authenticate(db(), email, form.password.data or "")
        if user is not None:
            login_throttle.clear(db(), email)
            db().commit()
            session.clear()  # a fresh session on every sign-in
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        login_throttle.record_failure(db(), email, address, limits, now())
        db().commit()
        form.password.errors.append(_("Wrong email or password."))
        status = 401
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():  # type: ignore[no-untyped-def]
    if ActionForm().validate_on_submit():
        logout_user()
        session.clear()
        flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("posts.calendar")
