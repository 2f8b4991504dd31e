"""My account: the settings each person chooses for themselves."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import refresh
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from planner.errors import ValidationFailed
from planner.services import account
from planner.web.context import db, now, viewer_timezone, workspace_timezone
from planner.web.timefmt import show

bp = Blueprint("account", __name__)


class AccountForm(FlaskForm):
    locale = SelectField(_l("Language"), validate_choice=False)
    timezone = SelectField(_l("My timezone"), validate_choice=False)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def index():  # type: ignore[no-untyped-def]
    form = AccountForm(data={"locale": current_user.locale or "", "timezone": current_user.timezone or ""})
    form.locale.choices = [SelectChoice("", _("Follow my browser"))] + [
        SelectChoice(code, name) for code, name in account.LANGUAGES.items()]
    form.timezone.choices = [SelectChoice("", _("The workspace's (%(tz)s)", tz=workspace_timezone().key))] + [
        SelectChoice(name, name) for name in account.timezone_names()]
    if form.validate_on_submit():
        problems: dict[str, str] = {}
        for setter, field in ((account.set_locale, form.locale), (account.set_timezone, form.timezone)):
            try:
                setter(db(), current_user, field.data, now=now())
            except ValidationFailed as error:
                problems |= error.fields
        if problems:
            db().rollback()
            for name, message in problems.items():
                getattr(form, name).errors = [message]
        else:
            db().commit()
            refresh()  # the confirmation already speaks the language just chosen
            flash(_("Your settings are saved."), "success")
            return redirect(url_for("account.index"))
    status = 422 if form.is_submitted() else 200
    return render_template("account/index.html", form=form,
                           now_here=show(now(), viewer_timezone())), status
