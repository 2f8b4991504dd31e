"""Workspace settings: stored rows override the configuration defaults."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from planner.models import User, WorkspaceSetting
from planner.services import audit

KEYS = ("community_name", "timezone", "allow_self_approval", "alerts_channel_id")


def get(session: Session, key: str, default: Any) -> Any:
    row = session.get(WorkspaceSetting, key)
    return default if row is None else row.value


def put(session: Session, key: str, value: Any, *, actor: User | str, now: datetime) -> None:
    if key not in KEYS:
        raise KeyError(key)
    row = session.get(WorkspaceSetting, key)
    old = None if row is None else row.value
    if old == value:
        return  # nothing changed: no row, no audit entry
    if row is None:
        session.add(WorkspaceSetting(key=key, value=value))
    else:
        row.value = value
    audit.record(session, at=now, actor=actor, action="setting.change", subject_type="setting",
                 subject_id=None, key=key, old=old, new=value)
