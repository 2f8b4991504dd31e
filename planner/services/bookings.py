"""Bookings: a guest books a slot and manages it by a private link; operators confirm, decline, move.

No check-then-insert decides who gets a slot: the partial unique index over active bookings does, and
the loser of a race gets :class:`SlotTaken` with the slots still open.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from planner.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from planner.models import Booking, BookingStatus, Role, Slot, SlotState, User
from planner.models.booking import ACTIVE
from planner.services import audit, booking_posts, slots

GUEST = "guest"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
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


class SlotTaken(Conflict):
    code = "slot_taken"

    def __init__(self, open_slots: list[Slot]) -> None:
        super().__init__(_("This slot was just taken — please pick another"))
        self.open_slots = [slots.SlotView.of(slot) for slot in open_slots]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ---- queries -----------------------------------------------------------------------------------

def by_token(session: Session, token: str) -> Booking:
    """The booking a manage link points at; a wrong or guessed token is simply not found."""
    booking = None
    if TOKEN.match(token):
        booking = session.scalars(select(Booking).where(Booking.token_hash == hash_token(token))
                                  .execution_options(populate_existing=True)).first()
    if booking is None:
        raise NotFound(_("This booking link is not valid."))
    return booking


def get_booking(session: Session, booking_id: int) -> Booking:
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(_("booking %(id)s does not exist", id=booking_id))
    return booking


def bookings_of(session: Session, slot_id: int) -> list[Booking]:
    return list(session.scalars(select(Booking).where(Booking.slot_id == slot_id)
                                .order_by(Booking.id.desc())))


# ---- validation --------------------------------------------------------------------------------

def _clean(data: BookingInput, slot: Slot | None) -> BookingInput:
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


def _replay(session: Session, slot_id: int, email: str, key: str | None) -> Booking | None:
    if not key:
        return None
    return session.scalars(select(Booking).where(
        Booking.slot_id == slot_id, Booking.email == email, Booking.idempotency_key == key,
        Booking.status.in_(ACTIVE))).first()


# ---- guest side --------------------------------------------------------------------------------

def book(session: Session, slot_id: int, data: BookingInput, *, now: datetime,
         idempotency_key: str | None = None) -> tuple[Booking, str, bool]:
    """Book a slot; returns the booking, its manage token (shown once) and whether it is new.

    The same person submitting the same form twice gets the one booking back, with a fresh link.
    """
    slot = session.get(Slot, slot_id)
    cleaned = _clean(data, slot)
    key = (idempotency_key or "").strip()[:100] or None
    token = secrets.token_urlsafe(32)
    existing = _replay(session, slot_id, cleaned.email, key)
    if existing is not None:
        return _rotated(session, existing, token, now), token, False
    if slot is None or not slot.bookable(now):
        raise NotFound(_("This slot does not exist or is not open for booking."))
    booking = Booking(
        slot_id=slot.id, name=cleaned.name, email=cleaned.email, topic=cleaned.topic,
        abstract=cleaned.abstract, bio=cleaned.bio, contact=cleaned.contact,
        answers=cleaned.answers, status=BookingStatus.pending, token_hash=hash_token(token),
        ics_sequence=0, idempotency_key=key, created_at=now, updated_at=now)
    try:
        with session.begin_nested():
            session.add(booking)
            session.flush()
    except IntegrityError:
        existing = _replay(session, slot_id, cleaned.email, key)
        if existing is not None:
            return _rotated(session, existing, token, now), token, False
        raise SlotTaken(slots.open_slots(session, now=now)) from None
    booking.slot = slot
    audit.record(session, at=now, actor=GUEST, action="booking.create", subject_type="booking",
                 subject_id=booking.id, slot_id=slot.id)
    if not slot.requires_confirmation:
        author = session.get(User, slot.created_by_id)
        assert author is not None
        _confirm(session, author, booking, "", now)
    return booking, token, True


def _rotated(session: Session, booking: Booking, token: str, now: datetime) -> Booking:
    booking.token_hash = hash_token(token)
    booking.updated_at = now
    audit.record(session, at=now, actor=GUEST, action="booking.resubmit", subject_type="booking",
                 subject_id=booking.id)
    return booking


def edit(session: Session, booking: Booking, *, topic: str, abstract: str, now: datetime) -> Booking:
    """The speaker changes topic and abstract, until the organisers confirm."""
    if booking.status != BookingStatus.pending:
        raise Conflict(_("Your booking is %(status)s; the topic can no longer be changed here.",
                         status=booking.status))
    cleaned = _clean(BookingInput(name=booking.name, email=booking.email, topic=topic,
                                  abstract=abstract, bio=booking.bio, contact=booking.contact,
                                  answers=booking.answers), None)
    booking.topic, booking.abstract = cleaned.topic, cleaned.abstract
    _changed(session, booking, GUEST, "booking.edit", now)
    return booking


def reschedule(session: Session, booking: Booking, slot_id: int, *, now: datetime,
               actor: User | str = GUEST) -> Booking:
    """Move the booking to another open slot: by the speaker within the booking window, or by an
    operator to any open future slot. A confirmed booking's posts move with it."""
    if not booking.active:
        raise Conflict(_("This booking is %(status)s; it cannot be moved.", status=booking.status))
    target = session.get(Slot, slot_id)
    by_operator = isinstance(actor, User)
    usable = target is not None and (
        target.state == SlotState.open and target.starts_at > now if by_operator
        else target.bookable(now))
    if target is None or not usable:
        raise NotFound(_("This slot does not exist or is not open for booking."))
    if target.id == booking.slot_id:
        raise Conflict(_("The booking is already in this slot."))
    old_slot = booking.slot
    try:
        with session.begin_nested():
            booking.slot_id = target.id
            session.flush()
    except IntegrityError:
        session.refresh(booking)
        raise SlotTaken(slots.open_slots(session, now=now)) from None
    booking.slot = target
    if booking.status == BookingStatus.confirmed:
        booking_posts.move(session, booking, old_slot, now=now)
    _changed(session, booking, actor, "booking.reschedule", now, slot_before=old_slot.id)
    return booking


def cancel(session: Session, booking: Booking, *, now: datetime) -> Booking:
    if not booking.active:
        raise Conflict(_("This booking is already %(status)s.", status=booking.status))
    return _withdraw(session, booking, BookingStatus.canceled, GUEST, "booking.cancel", now)


# ---- operator side -----------------------------------------------------------------------------

def confirm(session: Session, user: User, booking: Booking, *, message: str = "",
            now: datetime) -> Booking:
    _require_operator(user)
    if booking.status != BookingStatus.pending:
        raise Conflict(_("booking %(id)s is %(status)s; only pending bookings can be confirmed",
                         id=booking.id, status=booking.status))
    return _confirm(session, user, booking, message, now)


def decline(session: Session, user: User, booking: Booking, *, message: str = "",
            now: datetime) -> Booking:
    _require_operator(user)
    if not booking.active:
        raise Conflict(_("booking %(id)s is %(status)s; it cannot be declined",
                         id=booking.id, status=booking.status))
    booking.operator_message = message.strip()[:2000]
    return _withdraw(session, booking, BookingStatus.declined, user, "booking.decline", now)


def move(session: Session, user: User, booking: Booking, slot_id: int, *, now: datetime) -> Booking:
    _require_operator(user)
    return reschedule(session, booking, slot_id, now=now, actor=user)


def _confirm(session: Session, user: User, booking: Booking, message: str, now: datetime) -> Booking:
    booking.status = BookingStatus.confirmed
    booking.confirmed_at = now
    booking.operator_message = message.strip()[:2000]
    booking_posts.put_on_calendar(session, booking, user, now=now)
    _changed(session, booking, user, "booking.confirm", now)
    return booking


def _withdraw(session: Session, booking: Booking, to: BookingStatus, actor: User | str,
              action: str, now: datetime) -> Booking:
    was_confirmed = booking.status == BookingStatus.confirmed
    booking.status = to
    booking.canceled_at = now
    if was_confirmed:
        booking_posts.withdraw(session, booking, now=now)
    _changed(session, booking, actor, action, now)
    return booking


def _changed(session: Session, booking: Booking, actor: User | str, action: str, now: datetime,
             **data: object) -> None:
    booking.ics_sequence += 1
    booking.updated_at = now
    audit.record(session, at=now, actor=actor, action=action, subject_type="booking",
                 subject_id=booking.id, status=booking.status, slot_id=booking.slot_id, **data)


def _require_operator(user: User) -> None:
    if not user.has_role(Role.operator):
        raise PermissionDenied(_("only operators may confirm, decline or move bookings"))
