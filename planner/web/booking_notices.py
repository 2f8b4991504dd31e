"""Mail to the speaker after a booking change is committed (only when SMTP is configured).

Each mail speaks the language the speaker booked in, whoever made the change, and gives the time on the
slot's own clock, written the way that language writes dates.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask import request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from planner.models import Booking, Slot
from planner.services import booking_ics, booking_mail
from planner.state import state

# The status as the speaker reads it, on the manage page and in mail.
BOOKING_LABELS = {"pending": _l("Waiting for confirmation"), "confirmed": _l("Confirmed"),
                  "declined": _l("Declined"), "canceled": _l("Canceled")}
LANGUAGES = {"en": "en", "zh": "zh_Hans_CN"}  # what a visitor may choose → the catalog's locale


def calendar_bytes(booking: Booking) -> bytes:
    st = state()
    return booking_ics.calendar_file(booking, host=request.host.split(":")[0],
                                     organizer=st.config["SMTP_FROM"], now=st.clock.now())


def slot_time(slot: Slot, locale: str) -> str:
    """The slot's start on its own clock, e.g. "Thursday, November 26, 2026 20:00 (Asia/Shanghai)"."""
    local = slot.starts_at.astimezone(ZoneInfo(slot.timezone))
    return (f"{format_date(local.date(), 'full', locale=locale)} "
            f"{format_time(local, 'HH:mm', locale=locale)} ({slot.timezone})")


def notify(booking: Booking, event: str, *, token: str | None = None) -> bool:
    """Tell the speaker about ``event``; ``token`` adds a manage link. True when the mail was sent."""
    config = state().config
    if not booking_mail.configured(config):
        return False
    with force_locale(booking.locale or "en"):
        subject, text = _message(booking, event, token)
    return booking_mail.send(config, to=booking.email, subject=subject, text=text,
                             ics=calendar_bytes(booking))


def _message(booking: Booking, event: str, token: str | None) -> tuple[str, str]:
    subjects = {
        "booked": _("Your booking: %(topic)s", topic=booking.topic),
        "link": _("Your link: %(topic)s", topic=booking.topic),
        "confirm": _("Confirmed: %(topic)s", topic=booking.topic),
        "decline": _("Declined: %(topic)s", topic=booking.topic),
        "reschedule": _("Moved: %(topic)s", topic=booking.topic),
        "cancel": _("Canceled: %(topic)s", topic=booking.topic),
        "edit": _("Updated: %(topic)s", topic=booking.topic),
    }
    lines = [_("Hello %(name)s,", name=booking.name), "",
             _("%(title)s on %(when)s — status: %(status)s.", title=booking.slot.title,
               when=slot_time(booking.slot, booking.locale or "en"),
               status=BOOKING_LABELS[booking.status])]
    if booking.operator_message:
        lines += ["", _("Message from the organisers:"), booking.operator_message]
    if token is not None:
        lang = {locale: code for code, locale in LANGUAGES.items()}.get(booking.locale)
        lines += ["", _("Your private link to see, change or cancel the booking (keep it to yourself):"),
                  url_for("booking.manage", token=token, lang=lang, _external=True),
                  "", _("Calendar file:"), url_for("booking.calendar_file", token=token, _external=True)]
    return subjects[event], "\n".join(lines)
