"""Crash points for the crash tests: with ``PLANNER_FAILPOINT=<name>`` the process dies right there.

``os._exit`` skips every cleanup, as a power cut or an OOM kill would. Unset (always, in production)
each check is one dictionary lookup.
"""

from __future__ import annotations

import os

EXIT_CODE = 86
# Where a dispatcher can die mid-delivery (the crash matrix kills one at each).
DISPATCH = ("after_claim", "after_request", "after_response", "while_recording")
NAMES = (*DISPATCH, "after_key_rotation_commit")


def hit(name: str) -> None:
    if os.environ.get("PLANNER_FAILPOINT") == name:
        os._exit(EXIT_CODE)
