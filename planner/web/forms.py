"""Forms for the web pages (Flask-WTF gives each one its CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from planner.web.labels import KIND_LABELS


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PostForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k, label)
                                            for k, label in KIND_LABELS.items()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(_l("Body (Markdown)"), validators=[DataRequired(), Length(max=20000)])
    scheduled_at = StringField(_l("Publish at"), validators=[Optional()])
    expires_at = StringField(_l("Expires at (optional)"), validators=[Optional()])
    channel_ids = CheckboxListField(_l("Channels"), coerce=int, validate_choice=False)
    tags = StringField(_l("Tags (comma-separated)"), validators=[Optional(), Length(max=500)])


class CommentForm(FlaskForm):
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)])


class ActionForm(FlaskForm):
    """A button that changes state: only the CSRF token."""


class ResolveForm(FlaskForm):
    outcome = SelectField(_l("Outcome"), choices=[SelectChoice("sent", _l("It was sent")),
                                                  SelectChoice("failed", _l("It was not sent"))])


class SettingsForm(FlaskForm):
    community_name = StringField(_l("Community name"), validators=[DataRequired(), Length(max=100)])
    timezone = StringField(_l("Timezone"), validators=[DataRequired(), Length(max=64)])
    allow_self_approval = BooleanField(_l("Operators may approve their own posts"))
    alerts_channel_id = SelectField(
        _l("Alerts channel (failed and unconfirmed deliveries are reported here)"),
        coerce=int, validate_choice=True)
