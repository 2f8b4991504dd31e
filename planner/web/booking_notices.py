"""Mail to the speaker after a booking change is committed (only when SMTP is configured)."""

from __future__ import annotations

from flask import request, url_for
from flask_babel import gettext as _

from planner.models import Booking
from planner.services import booking_ics, booking_mail
from planner.state import state


def calendar_bytes(booking: Booking) -> bytes:
    st = state()
    return booking_ics.calendar_file(booking, host=request.host.split(":")[0],
                                     organizer=st.config["SMTP_FROM"], now=st.clock.now())


def notify(booking: Booking, event: str, *, token: str | None = None) -> bool:
    config = state().config
    if not booking_mail.configured(config):
        return False
    subjects = {
        "booked": _("Your booking: %(topic)s", topic=booking.topic),
        "confirm": _("Confirmed: %(topic)s", topic=booking.topic),
        "decline": _("Declined: %(topic)s", topic=booking.topic),
        "reschedule": _("Moved: %(topic)s", topic=booking.topic),
        "cancel": _("Canceled: %(topic)s", topic=booking.topic),
        "edit": _("Updated: %(topic)s", topic=booking.topic),
    }
    lines = [_("Hello %(name)s,", name=booking.name), "",
             _("%(title)s on %(when)s UTC — status: %(status)s.", title=booking.slot.title,
               when=booking.slot.starts_at.strftime("%Y-%m-%d %H:%M"), status=booking.status)]
    if booking.operator_message:
        lines += ["", booking.operator_message]
    if token is not None:
        lines += ["", _("Your private link to see, change or cancel the booking (keep it to yourself):"),
                  url_for("booking.manage", token=token, _external=True),
                  "", _("Calendar file:"), url_for("booking.calendar_file", token=token, _external=True)]
    return booking_mail.send(config, to=booking.email, subject=subjects[event],
                             text="\n".join(lines), ics=calendar_bytes(booking))
