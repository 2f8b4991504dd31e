"""The series form: the rule, its timezone and start, the template and the pool of texts."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from planner.web.forms import CheckboxListField
from planner.web.labels import KIND_LABELS

# Texts of the pool are separated by a line holding only this.
POOL_SEPARATOR = "---"


class SeriesForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k, label)
                                            for k, label in KIND_LABELS.items()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    rrule = StringField(_l("Repeats (RRULE)"), validators=[DataRequired(), Length(max=500)],
                        default="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR")
    timezone = StringField(_l("Timezone"), validators=[DataRequired(), Length(max=64)])
    starts_at = StringField(_l("First occurrence (local time in that timezone)"),
                            validators=[DataRequired()])
    template = TextAreaField(_l("Template (Markdown)"), default="{text}",
                             validators=[DataRequired(), Length(max=20000)])
    pool = TextAreaField(_l("Pool of texts, taken in turn (separate them with a line ---)"),
                         validators=[Optional(), Length(max=200_000)])
    expires_after_minutes = IntegerField(_l("Expires after (minutes, optional)"),
                                         validators=[Optional()])
    channel_ids = CheckboxListField(_l("Channels"), coerce=int, validate_choice=False)
    tags = StringField(_l("Tags (comma-separated)"), validators=[Optional(), Length(max=500)])


def pool_from_text(text: str) -> list[str]:
    entries, current = [], []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.strip() == POOL_SEPARATOR:
            entries.append("\n".join(current).strip("\n"))
            current = []
        else:
            current.append(line)
    entries.append("\n".join(current).strip("\n"))
    # Blank space around the last separator is not a text; an empty text between two is.
    if entries and not entries[-1].strip():
        entries.pop()
    return entries


def pool_to_text(pool: list[str]) -> str:
    return f"\n{POOL_SEPARATOR}\n".join(pool)
