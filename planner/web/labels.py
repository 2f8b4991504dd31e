"""What people read for the values the code stores: kinds, statuses, roles, review decisions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

KIND_LABELS = {
    "tutorial": _l("Tutorial"),
    "share": _l("Share"),
    "greeting": _l("Greeting"),
    "guest_session": _l("Guest session"),
    "announcement": _l("Announcement"),
}

STATUS_LABELS = {
    # posts
    "draft": _l("Draft"),
    "in_review": _l("In review"),
    "approved": _l("Approved"),
    "published": _l("Published"),
    # deliveries
    "pending": _l("Pending"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "retrying": _l("Retrying"),
    "unconfirmed": _l("Unconfirmed"),
    # both
    "failed": _l("Failed"),
    "canceled": _l("Canceled"),
    "expired": _l("Expired"),
}

ROLE_LABELS = {"admin": _l("Admin"), "operator": _l("Operator"), "editor": _l("Editor")}

DECISION_LABELS = {"approved": _l("approved"), "rejected": _l("rejected")}


def register(app) -> None:  # type: ignore[no-untyped-def]
    app.jinja_env.globals.update(
        KIND_LABELS=KIND_LABELS, STATUS_LABELS=STATUS_LABELS, ROLE_LABELS=ROLE_LABELS,
        DECISION_LABELS=DECISION_LABELS,
    )
