"""Materialising recurring series, on the dispatcher's clock."""

from __future__ import annotations

import logging

from planner.services import series
from planner.services.checks import checker_for
from planner.state import PlannerState

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 60


def materialise_series(state: PlannerState) -> None:
    try:
        with state.sessions() as session, session.begin():
            made = series.materialise_due(session, now=state.clock.now(), config=state.config,
                                          checker=checker_for(state, session))
    except Exception:  # the next run tries again; the error must not stop the clock
        log.exception("materialising series failed")
        return
    if made:
        log.info("materialised %d series occurrence(s)", len(made))
