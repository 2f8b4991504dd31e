"""Forms of the feed pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from planner.web.forms import CheckboxListField


class FeedForm(FlaskForm):
    url = StringField(_l("Feed or website address"), validators=[DataRequired(), Length(max=2000)])
    title_override = StringField(_l("Name (leave empty to use the feed's title)"),
                                 validators=[Optional(), Length(max=200)])
    tags = StringField(_l("Tags (comma-separated)"), validators=[Optional(), Length(max=500)])
    keep_rules = TextAreaField(_l("Keep only items matching (one keyword or /regex/ per line)"),
                               validators=[Optional(), Length(max=10_000)])
    block_rules = TextAreaField(_l("Never show items matching (one keyword or /regex/ per line)"),
                                validators=[Optional(), Length(max=10_000)])
    channel_ids = CheckboxListField(_l("Share to these channels by default"), coerce=int,
                                    validate_choice=False)
    enabled = BooleanField(_l("Enabled (the feed is polled)"), default=True)
    auto_draft = BooleanField(_l("Automatic drafts: items matching the keep rules go to the review "
                                 "queue in the next free posting slot (operators)"))


class OpmlForm(FlaskForm):
    file = FileField(_l("OPML file"), validators=[FileRequired()])


class BulkForm(FlaskForm):
    """The inbox's bulk dismiss: the CSRF token plus the ticked ``item_ids``."""
