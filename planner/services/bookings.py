"""Bookings: a guest books a slot and manages it by a private link; operators confirm, decline, move.

No check-then-insert decides who gets a slot: the partial unique index over active bookings does, and
the loser of a race gets :class:`SlotTaken` with the slots still open. Every change of an existing
booking first locks its row and reads it again, so two changes at once (two operators confirming, a
confirmation racing the speaker's cancellation) run one after the other and the second sees the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

from planner.errors import Conflict, NotFound, PermissionDenied
from planner.models import Booking, BookingStatus, Role, Slot, SlotState, User
from planner.models.booking import ACTIVE
from planner.services import audit, booking_links, booking_posts, slots
from planner.services.booking_input import BookingInput, clean, same_request

GUEST = "guest"
STATUS_WORDS = {BookingStatus.pending: _l("pending"), BookingStatus.confirmed: _l("confirmed"),
                BookingStatus.declined: _l("declined"), BookingStatus.canceled: _l("canceled")}
# A repeat of the very same submit this soon after the booking gets a link of its own (a lost answer,
# a double click); later, the link goes only to the speaker's mailbox.
REPLAY_WINDOW = timedelta(minutes=10)


class SlotTaken(Conflict):
    code = "slot_taken"

    def __init__(self, open_slots: list[Slot]) -> None:
        super().__init__(_("This slot was just taken — please pick another"))
        self.open_slots = [slots.SlotView.of(slot) for slot in open_slots]


class AlreadyBooked(Conflict):
    """The same booking was submitted again, too late to show its link here."""

    code = "already_booked"

    def __init__(self, *, mailed: bool) -> None:
        super().__init__(
            _("You have already booked this slot, and its private link was shown then. We have sent a "
              "new link to your email address.") if mailed else
            _("You have already booked this slot, and its private link was shown then. If you lost "
              "it, please ask the organisers."))


@dataclass
class Booked:
    """What a submit gave: the booking, a new manage link (``token``), and whether the booking is new.

    ``show_link`` is False for a replay that may not see the link: then ``token``, if any, goes only to
    the speaker's mailbox and the caller answers :class:`AlreadyBooked`.
    """

    booking: Booking
    token: str | None
    created: bool
    show_link: bool = True


def booking_status_label(status: str) -> str:
    """The status as a word of the reader's language, for sentences such as "is canceled"."""
    return str(STATUS_WORDS[BookingStatus(status)])


# ---- queries -----------------------------------------------------------------------------------

def by_token(session: Session, token: str) -> Booking:
    """The booking a manage link points at; a wrong or guessed token is simply not found."""
    return booking_links.find(session, token)


def get_booking(session: Session, booking_id: int) -> Booking:
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(_("booking %(id)s does not exist", id=booking_id))
    return booking


def bookings_of(session: Session, slot_id: int) -> list[Booking]:
    return list(session.scalars(select(Booking).where(Booking.slot_id == slot_id)
                                .order_by(Booking.id.desc())))


def _locked(session: Session, booking: Booking) -> Booking:
    """Lock the booking's row and read it again (PostgreSQL; SQLite's writers already take turns).

    The slot is not joined in: after waiting for the lock, PostgreSQL rechecks a join against the
    slot row it first read, so a booking just moved would come back without its slot.
    """
    return session.scalars(select(Booking).where(Booking.id == booking.id)
                           .options(lazyload(Booking.slot)).with_for_update()
                           .execution_options(populate_existing=True)).one()


def _replay(session: Session, slot_id: int, cleaned: BookingInput, key: str | None) -> Booking | None:
    """The active booking this submit repeats: the same email with the same form key or details."""
    found = session.scalars(select(Booking).where(
        Booking.slot_id == slot_id, Booking.email == cleaned.email, Booking.status.in_(ACTIVE))).first()
    if found is None:
        return None
    return found if (key is not None and found.idempotency_key == key) or same_request(
        found, cleaned) else None


# ---- guest side --------------------------------------------------------------------------------

def book(session: Session, slot_id: int, data: BookingInput, *, now: datetime,
         idempotency_key: str | None = None, same_client: bool = False, mail_link: bool = False,
         locale: str = "en") -> Booked:
    """Book a slot. The same submit twice is one booking, and the link already given keeps working.

    A repeat gets a link of its own when it comes from the browser that booked (``same_client``) or
    repeats every detail within :data:`REPLAY_WINDOW`; otherwise only the speaker's mailbox gets one
    (``mail_link``, when mail is set up). Someone who knows the slot, the email and the form key but
    not the rest learns nothing: to them the slot is simply taken.
    """
    slot = session.get(Slot, slot_id)
    cleaned = clean(data, slot)
    key = (idempotency_key or "").strip()[:100] or None
    existing = _replay(session, slot_id, cleaned, key)
    if existing is not None:
        return _replayed(session, existing, cleaned, now, same_client and key is not None
                         and existing.idempotency_key == key, mail_link)
    if slot is None or not slot.bookable(now):
        raise NotFound(_("This slot does not exist or is not open for booking."))
    booking = Booking(
        slot_id=slot.id, name=cleaned.name, email=cleaned.email, topic=cleaned.topic,
        abstract=cleaned.abstract, bio=cleaned.bio, contact=cleaned.contact,
        answers=cleaned.answers, status=BookingStatus.pending, locale=locale[:16],
        ics_sequence=0, idempotency_key=key, created_at=now, updated_at=now)
    try:
        with session.begin_nested():
            session.add(booking)
            session.flush()
    except IntegrityError:  # someone holds the slot: perhaps this very speaker, a moment ago
        existing = _replay(session, slot_id, cleaned, key)
        if existing is not None:
            return _replayed(session, existing, cleaned, now, same_client and key is not None
                             and existing.idempotency_key == key, mail_link)
        raise SlotTaken(slots.open_slots(session, now=now)) from None
    booking.slot = slot
    token = booking_links.issue(session, booking, now=now)
    audit.record(session, at=now, actor=GUEST, action="booking.create", subject_type="booking",
                 subject_id=booking.id, slot_id=slot.id)
    if not slot.requires_confirmation:
        author = session.get(User, slot.created_by_id)
        assert author is not None
        _confirm(session, author, booking, "", now)
    return Booked(booking, token, True)


def _replayed(session: Session, booking: Booking, cleaned: BookingInput, now: datetime,
              same_client: bool, mail_link: bool) -> Booked:
    exact = same_request(booking, cleaned)
    if not same_client and not exact:
        raise SlotTaken(slots.open_slots(session, now=now))
    show = same_client or now - booking.created_at <= REPLAY_WINDOW
    token = booking_links.issue(session, booking, now=now) if show or mail_link else None
    audit.record(session, at=now, actor=GUEST, action="booking.resubmit", subject_type="booking",
                 subject_id=booking.id, link="shown" if show and token else
                 "mailed" if token else "none")
    return Booked(booking, token, False, show_link=show and token is not None)


def edit(session: Session, booking: Booking, *, topic: str, abstract: str, now: datetime) -> Booking:
    """The speaker changes topic and abstract, until the organisers confirm."""
    booking = _locked(session, booking)
    if booking.status != BookingStatus.pending:
        raise Conflict(_("Your booking is %(status)s; the topic can no longer be changed here.",
                         status=booking_status_label(booking.status)))
    cleaned = clean(BookingInput(name=booking.name, email=booking.email, topic=topic,
                                 abstract=abstract, bio=booking.bio, contact=booking.contact,
                                 answers=booking.answers), None)
    booking.topic, booking.abstract = cleaned.topic, cleaned.abstract
    _changed(session, booking, GUEST, "booking.edit", now)
    return booking


def reschedule(session: Session, booking: Booking, slot_id: int, *, now: datetime,
               actor: User | str = GUEST) -> Booking:
    """Move the booking to another open slot: by the speaker within the booking window, or by an
    operator to any open future slot. A confirmed booking's posts move with it."""
    booking = _locked(session, booking)
    if not booking.active:
        raise Conflict(_("This booking is %(status)s; it cannot be moved.",
                         status=booking_status_label(booking.status)))
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
        booking_posts.move(session, booking, old_slot, actor=actor, now=now)
    _changed(session, booking, actor, "booking.reschedule", now, slot_before=old_slot.id)
    return booking


def cancel(session: Session, booking: Booking, *, now: datetime) -> Booking:
    booking = _locked(session, booking)
    if not booking.active:
        raise Conflict(_("This booking is already %(status)s.",
                         status=booking_status_label(booking.status)))
    return _withdraw(session, booking, BookingStatus.canceled, GUEST, "booking.cancel", now)


# ---- operator side -----------------------------------------------------------------------------

def confirm(session: Session, user: User, booking: Booking, *, message: str = "",
            now: datetime) -> Booking:
    _require_operator(user)
    booking = _locked(session, booking)
    if booking.status != BookingStatus.pending:
        raise Conflict(_("booking %(id)s is %(status)s; only pending bookings can be confirmed",
                         id=booking.id, status=booking_status_label(booking.status)))
    return _confirm(session, user, booking, message, now)


def decline(session: Session, user: User, booking: Booking, *, message: str = "",
            now: datetime) -> Booking:
    _require_operator(user)
    booking = _locked(session, booking)
    if not booking.active:
        raise Conflict(_("booking %(id)s is %(status)s; it cannot be declined",
                         id=booking.id, status=booking_status_label(booking.status)))
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
        booking_posts.withdraw(session, booking, actor=actor, now=now)
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
