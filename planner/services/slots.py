"""Slots for guest speakers: made one by one or as a series, closed and reopened, listed when bookable.

A series is an RRULE evaluated in the slot's timezone from the local wall-clock time of its first
slot, so "every Thursday 20:00" stays at 20:00 local time across daylight-saving changes.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr
from flask_babel import gettext as _
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from planner.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from planner.models import Booking, Channel, Role, Slot, SlotState, User
from planner.models.booking import ACTIVE
from planner.models.slot import default_questions
from planner.services import audit

MAX_SERIES = 104  # two years of weekly slots
QUESTION_MODES = ("required", "optional", "off")
EXTRA_NAME = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
UNTIL_UTC = re.compile(r"UNTIL=(\d{8}T\d{6})Z", re.IGNORECASE)


@dataclass
class SlotInput:
    title: str
    starts_at: datetime
    duration_minutes: int
    timezone: str
    channel_ids: list[int]
    announcement_channel_ids: list[int] = field(default_factory=list)
    min_notice_minutes: int = 24 * 60
    max_days_ahead: int = 60
    requires_confirmation: bool = True
    questions: dict[str, Any] = field(default_factory=default_questions)
    rrule: str = ""


@dataclass(frozen=True)
class SlotView:
    """What a guest may see of a slot; plain values, still readable after the session is gone."""

    id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    questions: dict[str, Any]

    @classmethod
    def of(cls, slot: Slot) -> SlotView:
        return cls(slot.id, slot.title, slot.starts_at, slot.ends_at, slot.duration_minutes,
                   dict(slot.questions))


# ---- queries -----------------------------------------------------------------------------------

def get_slot(session: Session, slot_id: int) -> Slot:
    slot = session.get(Slot, slot_id)
    if slot is None:
        raise NotFound(_("slot %(id)s does not exist", id=slot_id))
    return slot


def list_slots(session: Session, *, since: datetime) -> list[Slot]:
    return list(session.scalars(select(Slot).where(Slot.starts_at >= since)
                                .order_by(Slot.starts_at, Slot.id)))


def active_bookings(session: Session, slot_ids: list[int]) -> dict[int, Booking]:
    rows = session.scalars(select(Booking).where(Booking.slot_id.in_(slot_ids),
                                                 Booking.status.in_(ACTIVE)))
    return {row.slot_id: row for row in rows}


def open_slots(session: Session, *, now: datetime) -> list[Slot]:
    """Slots a guest may book now: open, inside their booking window, with no active booking."""
    taken = exists().where(Booking.slot_id == Slot.id, Booking.status.in_(ACTIVE))
    candidates = session.scalars(
        select(Slot).where(Slot.state == SlotState.open, Slot.starts_at > now, ~taken)
        .order_by(Slot.starts_at, Slot.id))
    return [slot for slot in candidates if slot.bookable(now)]


# ---- series ------------------------------------------------------------------------------------

def occurrences(rule: str, first: datetime, tz: ZoneInfo) -> list[datetime]:
    """The UTC start of every slot of a series, keeping ``first``'s wall-clock time in ``tz``."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:"):]
    if "COUNT=" not in text.upper() and "UNTIL=" not in text.upper():
        raise ValidationFailed(_("the slots were not created"),
                               {"rrule": _("give COUNT or UNTIL so the series ends")})
    local = first.astimezone(tz).replace(tzinfo=None)
    try:
        rule_set = rrulestr(_local_until(text, tz), dtstart=local)
        starts = list(islice(iter(rule_set), MAX_SERIES + 1))  # type: ignore[call-overload]
    except (ValueError, TypeError) as error:
        raise ValidationFailed(_("the slots were not created"),
                               {"rrule": _("not a valid RRULE: %(why)s", why=str(error))}) from None
    if len(starts) > MAX_SERIES:
        raise ValidationFailed(_("the slots were not created"),
                               {"rrule": _("a series makes at most %(max)s slots", max=MAX_SERIES)})
    return [start.replace(tzinfo=tz).astimezone(ZoneInfo("UTC")) for start in starts]


def _local_until(rule: str, tz: ZoneInfo) -> str:
    """``UNTIL=…Z`` (RFC 5545's form beside a zoned start) as the same instant on the local clock the
    rule runs on; a local or date-only UNTIL stays as written."""
    def local(match: re.Match[str]) -> str:
        instant = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return f"UNTIL={instant.astimezone(tz):%Y%m%dT%H%M%S}"

    return UNTIL_UTC.sub(local, rule)


# ---- validation --------------------------------------------------------------------------------

def _validate(session: Session, data: SlotInput, now: datetime) -> ZoneInfo:
    errors: dict[str, str] = {}
    title = data.title.strip()
    if not title or len(title) > 200:
        errors["title"] = _("a title of 1 to 200 characters is required")
    if not 5 <= data.duration_minutes <= 600:
        errors["duration_minutes"] = _("the duration is 5 to 600 minutes")
    tz = ZoneInfo("UTC")
    try:
        tz = ZoneInfo(data.timezone.strip())
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = _("unknown timezone; use a name such as Asia/Shanghai")
    if data.starts_at.tzinfo is None:
        errors["starts_at"] = _("give a timezone offset, e.g. 2026-11-26T20:00:00+08:00")
    elif data.starts_at <= now:
        errors["starts_at"] = _("the slot starts in the past")
    if not 0 <= data.min_notice_minutes <= 60 * 24 * 60:
        errors["min_notice_minutes"] = _("the minimum notice is 0 to 86400 minutes")
    if not 1 <= data.max_days_ahead <= 365:
        errors["max_days_ahead"] = _("bookings open 1 to 365 days ahead")
    for name in ("channel_ids", "announcement_channel_ids"):
        ids = set(getattr(data, name))
        known = set(session.scalars(select(Channel.id).where(Channel.id.in_(ids)))) if ids else set()
        if ids - known:
            errors[name] = _("unknown channel id(s): %(ids)s",
                             ids=", ".join(map(str, sorted(ids - known))))
    if not data.channel_ids and "channel_ids" not in errors:
        errors["channel_ids"] = _("choose at least one channel for the session")
    problem = _questions_problem(data.questions)
    if problem:
        errors["questions"] = problem
    if errors:
        raise ValidationFailed(_("the slots were not created"), errors)
    return tz


def _questions_problem(questions: dict[str, Any]) -> str | None:
    for name in ("bio", "contact"):
        if questions.get(name, "optional") not in QUESTION_MODES:
            return _("%(name)s must be required, optional or off", name=name)
    extra = questions.get("extra", [])
    if not isinstance(extra, list) or len(extra) > 10:
        return _("at most 10 extra questions")
    for item in extra:
        if (not isinstance(item, dict) or not EXTRA_NAME.match(str(item.get("name", "")))
                or not 1 <= len(str(item.get("label", ""))) <= 100):
            return _("each extra question needs a name (a-z, 0-9, _) and a label of 1 to 100 "
                     "characters")
    return None


# ---- changes -----------------------------------------------------------------------------------

def create_slots(session: Session, user: User, data: SlotInput, *, now: datetime) -> list[Slot]:
    """One slot, or every slot of ``data.rrule``'s series."""
    if not user.has_role(Role.operator):
        raise PermissionDenied(_("only operators may create slots"))
    tz = _validate(session, data, now)
    starts = occurrences(data.rrule, data.starts_at, tz) if data.rrule.strip() else [data.starts_at]
    series_key = secrets.token_hex(8) if data.rrule.strip() else None
    questions = default_questions() | data.questions
    slots = [
        Slot(title=data.title.strip(), starts_at=start, duration_minutes=data.duration_minutes,
             timezone=tz.key, channel_ids=sorted(set(data.channel_ids)),
             announcement_channel_ids=sorted(set(data.announcement_channel_ids)),
             min_notice_minutes=data.min_notice_minutes, max_days_ahead=data.max_days_ahead,
             requires_confirmation=data.requires_confirmation, questions=questions,
             state=SlotState.open, series_key=series_key, created_by_id=user.id,
             created_at=now, updated_at=now)
        for start in starts if start > now
    ]
    session.add_all(slots)
    session.flush()
    audit.record(session, at=now, actor=user, action="slot.create", subject_type="slot",
                 subject_id=slots[0].id if slots else None, count=len(slots),
                 series_key=series_key, rrule=data.rrule.strip())
    return slots


def set_state(session: Session, user: User, slot: Slot, state: SlotState, *, now: datetime) -> Slot:
    """Close a slot to new bookings (an existing booking stands) or open it again."""
    if not user.has_role(Role.operator):
        raise PermissionDenied(_("only operators may close or reopen slots"))
    if slot.state == state:
        raise Conflict(_("slot %(id)s is already %(state)s", id=slot.id, state=state))
    before = slot.state
    slot.state = state
    slot.updated_at = now
    action = "slot.close" if state == SlotState.closed else "slot.reopen"
    audit.record(session, at=now, actor=user, action=action, subject_type="slot",
                 subject_id=slot.id, state_before=before)
    return slot


def demo_series(session: Session, operator: User, channel_ids: list[int], *,
                now: datetime) -> list[Slot]:
    """Guest slots for the demo: six Thursdays at 20:00 in Shanghai, the first at least two days away."""
    tz = ZoneInfo("Asia/Shanghai")
    first = (now + timedelta(days=2)).astimezone(tz).date()
    first += timedelta(days=(3 - first.weekday()) % 7)  # Thursday
    return create_slots(session, operator, SlotInput(
        title="Guests airborne", starts_at=datetime.combine(first, time(20), tz),
        duration_minutes=60, timezone="Asia/Shanghai", channel_ids=channel_ids,
        rrule="FREQ=WEEKLY;BYDAY=TH;COUNT=6"), now=now)
