"""Forms of the operators' slot pages."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from planner.services.booking_templates import BODY_MAX, TITLE_MAX
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


class TemplateTextForm(Form):
    title = StringField(_l("Title"), validators=[Optional(), Length(max=TITLE_MAX)])
    body = TextAreaField(_l("Text"), validators=[Optional(), Length(max=BODY_MAX)])


class AnnouncementTemplateForm(TemplateTextForm):
    minutes_before = IntegerField(_l("Minutes before the session"), validators=[Optional()],
                                  description=_l("1440 is the same time the day before; 0 is the start"))


class GuestTemplatesForm(FlaskForm):
    """The texts a confirmed booking drafts; an announcement left empty is removed."""

    session = FormField(TemplateTextForm, label=_l("The session post"))
    announcements = FieldList(FormField(AnnouncementTemplateForm), label=_l("Announcements"))
    cancellation = FormField(TemplateTextForm, label=_l("Cancellation notice"))
    moved = FormField(TemplateTextForm, label=_l("Moved notice"))


def templates_from(form: GuestTemplatesForm) -> tuple[dict[str, Any], list[int]]:
    """The form as the templates' shape, and for each announcement kept the row it came from."""
    def pair(sub: Any) -> dict[str, str]:
        return {"title": sub.title.data or "", "body": sub.body.data or ""}

    rows, announcements = [], []
    for number, entry in enumerate(form.announcements.entries):
        item = entry.form
        if not (item.title.data or "").strip() and not (item.body.data or "").strip():
            continue  # an empty row: removed, or the blank row left unused
        rows.append(number)
        announcements.append({"minutes_before": item.minutes_before.data, **pair(item)})
    value = {"session": pair(form.session.form), "announcements": announcements,
             "cancellation": pair(form.cancellation.form), "moved": pair(form.moved.form)}
    return value, rows


def attach_template_errors(form: GuestTemplatesForm, rows: list[int], errors: dict[str, str]) -> None:
    """Put ``announcements.1.title``-style messages under the fields they are about."""
    for name, message in errors.items():
        part, _dot, rest = name.partition(".")
        target: Any = None
        if part == "announcements" and rest:
            number, _dot, field = rest.partition(".")
            entry = form.announcements.entries[rows[int(number)]].form
            target = getattr(entry, field or "title", None)
        elif part in ("session", "cancellation", "moved") and rest:
            target = getattr(getattr(form, part).form, rest, None)
        if target is None:
            form.form_errors.append(message)
        else:
            target.errors = [*target.errors, message]
