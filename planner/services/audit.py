"""Writing audit rows: every state change calls ``record`` inside its own transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from planner.models import AuditEntry, User


def record(
    session: Session,
    *,
    at: datetime,
    actor: User | str,
    action: str,
    subject_type: str,
    subject_id: int | None,
    **data: Any,
) -> AuditEntry:
    entry = AuditEntry(
        at=at,
        actor_id=actor.id if isinstance(actor, User) else None,
        actor_label=actor.email if isinstance(actor, User) else actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        data=data,
    )
    session.add(entry)
    return entry
