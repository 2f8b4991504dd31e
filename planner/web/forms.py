"""Forms for the web pages (Flask-WTF gives each one its CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from planner.channel_api import ChannelKind
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


class NewCommentForm(FlaskForm):
    # The comments service checks the length, so its message is the same on the page and in the API.
    body = TextAreaField(_l("Add a comment"), validators=[Optional()])


class RescheduleForm(FlaskForm):
    scheduled_at = StringField(_l("New publish time"), validators=[DataRequired()])


class PostingRulesForm(FlaskForm):
    banned_words = TextAreaField(_l("Banned words (one word or phrase per line)"),
                                 validators=[Optional(), Length(max=60_000)])
    max_posts_per_channel_per_day = IntegerField(
        _l("Most posts to one channel in one day (0: no limit)"), default=0,
        validators=[InputRequired()])
    min_minutes_between_posts = IntegerField(
        _l("Fewest minutes between two posts to one channel (0: no limit)"), default=0,
        validators=[InputRequired()])


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
    on_time_tolerance_minutes = IntegerField(
        _l("On time means sent within this many minutes of the due time (reports)"),
        validators=[Optional(), NumberRange(min=0, max=1440)], default=5)


class ChannelForm(FlaskForm):
    """What every channel has; ``channel_form_class`` adds the fields of its kind's settings."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    tags = StringField(_l("Tags (comma-separated)"), validators=[Optional(), Length(max=500)])
    enabled = BooleanField(_l("Enabled (posts are delivered to this channel)"), default=True)
    # The range is the channel service's to check, so its message sits beside the other errors.
    rate_per_minute = IntegerField(_l("Messages per minute"), validators=[Optional()])


SETTING_PREFIX = "setting_"
CLEAR_PREFIX = "clear_"


def channel_form_class(kind: type[ChannelKind]) -> type[ChannelForm]:
    """A ChannelForm with one field per setting of ``kind``.

    Secret settings are password inputs, which never render a value: a saved secret is not sent
    back to the browser, and leaving the input empty keeps it. Whether a setting is required is
    left to the channel service, which knows which secrets are already saved; it checks choices and
    ranges too, so all of a form's problems are shown at once.
    """
    fields: dict[str, object] = {}
    for setting in kind.settings_schema:
        name = SETTING_PREFIX + setting.name
        if setting.secret:
            fields[name] = PasswordField(setting.label, description=setting.help,
                                         validators=[Optional(), Length(max=4000)])
            if not setting.required:
                fields[CLEAR_PREFIX + setting.name] = BooleanField(_l("Remove the saved value"))
        elif setting.choices:
            blank = [] if setting.required else [SelectChoice("", "—")]
            fields[name] = SelectField(setting.label, description=setting.help,
                                       default=setting.default, validate_choice=False,
                                       choices=blank + [SelectChoice(c, c) for c in setting.choices])
        else:
            fields[name] = StringField(setting.label, description=setting.help,
                                       default=setting.default,
                                       validators=[Optional(), Length(max=4000)])
    return type(f"{kind.__name__}Form", (ChannelForm,), fields)


class WeeklySummaryForm(FlaskForm):
    channel_id = SelectField(_l("Post last week's summary to"), coerce=int, validate_choice=True)


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField(_l("New password (at least 10 characters; a phrase is best)"),
                                 validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(_l("New password again"), validators=[DataRequired(), Length(max=200)])
