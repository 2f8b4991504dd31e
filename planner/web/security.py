"""A person's own account security: their password, their sessions, their API tokens."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from planner.errors import ValidationFailed
from planner.services import users
from planner.web.context import db, now
from planner.web.forms import ActionForm, PasswordChangeForm

bp = Blueprint("security", __name__)


@bp.route("/account/security", methods=["GET", "POST"])
@login_required
def page():  # type: ignore[no-untyped-def]
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if form.new_password.data != form.confirm.data:
            form.confirm.errors.append(_("The two new passwords differ."))
        else:
            user = current_user._get_current_object()
            try:
                users.change_password(db(), user, current=form.current_password.data or "",
                                      new=form.new_password.data or "", now=now())
            except ValidationFailed as error:
                for name, message in error.fields.items():
                    getattr(form, name).errors.append(message)
            else:
                db().commit()
                session.clear()
                login_user(user)  # this session carries on; every other one is signed out
                flash(_("Your password is changed. Your other sessions are signed out."), "success")
                return redirect(url_for("security.page"))
    status = 422 if form.is_submitted() else 200
    tokens = users.list_tokens(db(), current_user._get_current_object())
    return render_template("account/security.html", form=form, action=ActionForm(),
                           tokens=tokens), status


@bp.post("/account/security/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):  # type: ignore[no-untyped-def]
    if ActionForm().validate_on_submit():
        user = current_user._get_current_object()
        row = users.revoke_token(db(), token_id, actor=user, owner=user, now=now())
        db().commit()
        flash(_("The token %(name)s is revoked.", name=row.name), "info")
    return redirect(url_for("security.page"))


@bp.post("/account/security/sign-out-everywhere")
@login_required
def sign_out_everywhere():  # type: ignore[no-untyped-def]
    if ActionForm().validate_on_submit():
        users.sign_out_everywhere(db(), current_user._get_current_object(), now=now())
        db().commit()
        logout_user()
        session.clear()
        flash(_("You are signed out on every device."), "info")
    return redirect(url_for("auth.login"))
