"""The review queue: what operators approve or reject."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from planner.models import Role
from planner.services import posts as post_service
from planner.web.context import allow_self_approval, db, role_required
from planner.web.forms import CommentForm

bp = Blueprint("review", __name__)


@bp.get("/review")
@role_required(Role.operator)
def queue():  # type: ignore[no-untyped-def]
    queued = post_service.review_queue(db())
    self_ok = allow_self_approval()
    return render_template(
        "review/queue.html",
        posts=[(p, post_service.can_review(current_user, p, self_ok),
                post_service.resolve_targets(db(), p)) for p in queued],
        comment_form=CommentForm(),
    )
