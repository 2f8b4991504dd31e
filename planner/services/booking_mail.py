"""Email to guest speakers, when SMTP is configured; without it the pages show everything anyway.

Mail goes out after the booking is committed: a mail server that is down never loses a booking.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from typing import Any

log = logging.getLogger(__name__)
SMTP_TIMEOUT = 10  # seconds


def configured(config: dict[str, Any]) -> bool:
    return bool(config.get("SMTP_HOST"))


def send(config: dict[str, Any], *, to: str, subject: str, text: str,
         ics: bytes | None = None) -> bool:
    """Send one message; True when the server accepted it. A failure is logged, not raised."""
    if not configured(config):
        return False
    message = EmailMessage()
    message["From"] = config["SMTP_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    if ics is not None:
        message.add_attachment(ics, maintype="text", subtype="calendar", filename="booking.ics",
                               params={"method": "CANCEL" if b"METHOD:CANCEL" in ics else "REQUEST"})
    try:
        with smtplib.SMTP(config["SMTP_HOST"], int(config["SMTP_PORT"]),
                          timeout=SMTP_TIMEOUT) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("SMTP_USERNAME"):
                smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        log.warning("mail to a guest speaker was not sent: %s", error)
        return False
    return True
