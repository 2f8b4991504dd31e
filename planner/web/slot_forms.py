"""Forms of the operators' slot pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from planner.web.forms import CheckboxListField

MODES = [SelectChoice("optional", _l("optional")), SelectChoice("required", _l("required")),
         SelectChoice("off", _l("not asked"))]


class SlotForm(FlaskForm):
    title = StringField(_l("Title"), default="Guests airborne",
                        validators=[DataRequired(), Length(max=200)])
    starts_at = StringField(_l("Starts at"), validators=[DataRequired()])
    duration_minutes = IntegerField(_l("Duration (minutes)"), default=60,
                                    validators=[DataRequired(), NumberRange(5, 600)])
    timezone = StringField(_l("Timezone"), validators=[DataRequired(), Length(max=64)])
    rrule = StringField(_l("Repeat (RRULE, optional)"), validators=[Optional(), Length(max=500)],
                        description=_l("e.g. FREQ=WEEKLY;BYDAY=TH;COUNT=8 for eight Thursdays"))
    channel_ids = CheckboxListField(_l("Session channels"), coerce=int, validate_choice=False)
    announcement_channel_ids = CheckboxListField(_l("Announcement channels (default: the session's)"),
                                                 coerce=int, validate_choice=False)
    min_notice_hours = IntegerField(_l("Minimum notice (hours)"), default=24,
                                    validators=[Optional(), NumberRange(0, 24 * 60)])
    max_days_ahead = IntegerField(_l("Bookable up to (days ahead)"), default=60,
                                  validators=[Optional(), NumberRange(1, 365)])
    requires_confirmation = BooleanField(_l("Bookings need an operator's confirmation"), default=True)
    bio = SelectField(_l("Short bio"), choices=MODES)
    contact = SelectField(_l("Contact"), choices=MODES)
    extra = TextAreaField(_l("Extra questions (one per line; end with * when required)"),
                          validators=[Optional(), Length(max=2000)])


class DecisionForm(FlaskForm):
    message = TextAreaField(_l("Message to the speaker"), validators=[Optional(), Length(max=2000)])


class MoveForm(FlaskForm):
    slot_id = SelectField(_l("Move to"), coerce=int, validate_choice=False)
