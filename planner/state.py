"""What the web app, the CLI and the dispatcher share: engine, sessions, channel kinds, clock, keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from flask import Flask, current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from planner.crypto import SecretBox
from planner.registry import Registry


class Clock(Protocol):
    def now(self) -> Any: ...


@dataclass
class PlannerState:
    config: dict[str, Any]
    instance_path: Path
    engine: Engine
    sessions: sessionmaker[Session]
    registry: Registry
    clock: Clock
    secret_box: SecretBox


def state(app: Flask | None = None) -> PlannerState:
    return (app or current_app).extensions["planner"]
