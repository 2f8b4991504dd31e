"""Logging for the ``planner`` processes: one line per event, and nothing that carries a secret."""

from __future__ import annotations

import logging
import os


def configure() -> None:
    level = os.environ.get("PLANNER_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # urllib3 logs request lines at DEBUG, and platform URLs can carry keys and tokens.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    # APScheduler announces every tick at INFO, and warns when it skips a tick because the last
    # one is still sending (the dispatcher then carries on by itself): what matters, the
    # dispatcher reports itself.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    # Alembic lists its plugins and dialect details on every upgrade; the revisions it runs remain.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
