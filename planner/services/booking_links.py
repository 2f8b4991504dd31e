"""A booking's private manage links: unguessable tokens, stored only as SHA-256, several per booking.

Every link a booking gave out keeps working, so a repeated submit never breaks the link already shown
or mailed. A link of a canceled or declined booking still shows it (and its canceling calendar file)
but changes nothing.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from planner.crypto import token_digest
from planner.errors import NotFound
from planner.models import Booking
from planner.models.booking import BookingToken

TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
MAX_LINKS = 10  # per booking: replays cannot pile up links without end


def issue(session: Session, booking: Booking, *, now: datetime) -> str | None:
    """A new link for ``booking`` (the token, to show or mail once); None when it has enough."""
    if links_of(session, booking) >= MAX_LINKS:
        return None
    token = secrets.token_urlsafe(32)
    session.add(BookingToken(booking_id=booking.id, token_hash=token_digest(token), created_at=now))
    return token


def links_of(session: Session, booking: Booking) -> int:
    return session.scalar(select(func.count()).select_from(BookingToken)
                          .where(BookingToken.booking_id == booking.id)) or 0


def find(session: Session, token: str) -> Booking:
    """The booking a manage link points at; a wrong or guessed token is simply not found."""
    booking = None
    if TOKEN.match(token):
        booking = session.scalars(
            select(Booking).join(BookingToken, BookingToken.booking_id == Booking.id)
            .where(BookingToken.token_hash == token_digest(token))
            .execution_options(populate_existing=True)).first()
    if booking is None:
        raise NotFound(_("This booking link is not valid."))
    return booking
