"""What a guest speaker types into the booking form, checked field by field against the slot's questions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import gettext as _

from planner.errors import ValidationFailed
from planner.models import Booking, Slot

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LIMITS = {"name": 100, "email": 254, "topic": 200, "abstract": 5000, "bio": 2000, "contact": 200}


@dataclass
class BookingInput:
    name: str
    email: str
    topic: str
    abstract: str
    bio: str = ""
    contact: str = ""
    answers: dict[str, str] = field(default_factory=dict)


def clean(data: BookingInput, slot: Slot | None) -> BookingInput:
    """The input trimmed and checked; :class:`ValidationFailed` names every wrong field."""
    questions = slot.questions if slot is not None else {}
    cleaned = BookingInput(
        name=data.name.strip(), email=data.email.strip().lower(), topic=data.topic.strip(),
        abstract=data.abstract.strip(), bio=data.bio.strip(), contact=data.contact.strip(),
        answers={k: str(v).strip() for k, v in data.answers.items()})
    errors: dict[str, str] = {}
    required = {"name": _("your name is required"), "topic": _("the topic is required"),
                "abstract": _("a short abstract is required")}
    for name in ("bio", "contact"):
        if questions.get(name) == "required":
            required[name] = _("this answer is required")
    for name, message in required.items():
        if not getattr(cleaned, name):
            errors[name] = message
    if "email" not in errors and not EMAIL.match(cleaned.email):
        errors["email"] = _("an email address such as name@example.com is required")
    for name, limit in LIMITS.items():
        if name not in errors and len(getattr(cleaned, name)) > limit:
            errors[name] = _("at most %(limit)s characters", limit=limit)
    extra = {item["name"]: item for item in questions.get("extra", [])}
    answers = {}
    for name, item in extra.items():
        value = cleaned.answers.get(name, "")
        if item.get("required") and not value:
            errors[name] = _("this answer is required")
        elif len(value) > 2000:
            errors[name] = _("at most %(limit)s characters", limit=2000)
        elif value:
            answers[name] = value
    cleaned.answers = answers
    if errors:
        raise ValidationFailed(_("the booking was not made"), errors)
    return cleaned


def same_request(booking: Booking, cleaned: BookingInput) -> bool:
    """Whether ``cleaned`` says exactly what ``booking`` was made with: a true double submit."""
    return ((booking.name, booking.email, booking.topic, booking.abstract, booking.bio,
             booking.contact, dict(booking.answers))
            == (cleaned.name, cleaned.email, cleaned.topic, cleaned.abstract, cleaned.bio,
                cleaned.contact, cleaned.answers))
