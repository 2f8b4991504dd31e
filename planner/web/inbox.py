"""The inbox: feed items to triage (share, star, dismiss), filtered by state, feed, tag and words."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from planner.errors import PlannerError, ValidationFailed
from planner.models import FeedItemState
from planner.services import feed_items
from planner.services import feeds as feed_service
from planner.web.context import db, now
from planner.web.feed_forms import BulkForm
from planner.web.forms import ActionForm

bp = Blueprint("inbox", __name__)
STATE_LABELS = {"new": _l("New"), "starred": _l("Starred"), "dismissed": _l("Dismissed"), "used": _l("Used")}


@bp.get("/inbox")
@login_required
def index():  # type: ignore[no-untyped-def]
    state = request.args.get("state", FeedItemState.new)
    if state not in FeedItemState.__members__:
        state = FeedItemState.new
    feed_id = request.args.get("feed_id", type=int)
    tag = request.args.get("tag") or None
    search = (request.args.get("q") or "").strip()[:200]
    cursor = request.args.get("cursor") or None
    filters = {"state": state, "feed_id": feed_id, "tag": tag, "search": search or None}
    try:
        page = feed_items.list_items(db(), cursor=cursor, **filters)
    except ValidationFailed:  # a cursor mangled by hand: start from the newest
        cursor, page = None, feed_items.list_items(db(), **filters)
    return render_template(
        "feeds/inbox.html", items=page.items, next_cursor=page.next_cursor, cursor=cursor, state=state,
        feed_id=feed_id, tag=tag, search=search,
        feeds=feed_service.list_feeds(db()), tags=feed_service.all_tags(db()),
        counts=feed_items.counts(db()), states=list(FeedItemState), action_form=ActionForm(),
        bulk_form=BulkForm(), STATE_LABELS=STATE_LABELS,
    )


@login_required
def act(item_id: int, action: str):  # type: ignore[no-untyped-def]
    back = _back()
    if not ActionForm().validate_on_submit():
        flash(_("The form expired; please try again."), "danger")
        return redirect(back)
    item = feed_items.get_item(db(), item_id)
    try:
        if action == "share":
            post = feed_items.share(db(), current_user, item, now=now())
        else:
            target = {"star": "starred", "unstar": "new", "dismiss": "dismissed"}[action]
            feed_items.set_state(db(), current_user, item, target, now=now())
    except PlannerError as error:
        db().rollback()
        flash(error.message, "danger")
        return redirect(back)
    db().commit()
    if action == "share":
        flash(_("A draft share post was made: finish it and submit it for review."), "success")
        return redirect(url_for("posts.edit", post_id=post.id))
    return redirect(back)


for _action in ("share", "star", "unstar", "dismiss"):
    bp.add_url_rule(f"/inbox/<int:item_id>/{_action}", "act", act, methods=["POST"],
                    defaults={"action": _action})


@bp.post("/inbox/dismiss")
@login_required
def dismiss_many():  # type: ignore[no-untyped-def]
    back = _back()
    if not BulkForm().validate_on_submit():
        flash(_("The form expired; please try again."), "danger")
        return redirect(back)
    ids = [int(v) for v in request.form.getlist("item_ids") if v.isdigit()]
    try:
        count = feed_items.dismiss_many(db(), current_user, ids, now=now())
    except PlannerError as error:
        db().rollback()
        flash("; ".join(str(v) for v in error.fields.values()) or error.message, "danger")
        return redirect(back)
    db().commit()
    flash(_("%(count)s item(s) dismissed.", count=count), "success")
    return redirect(back)


def _back() -> str:
    """Back to the inbox view the action came from (only ever a path inside the inbox)."""
    target = request.form.get("next", "")
    return target if target.startswith("/inbox") and not target.startswith("//") else url_for("inbox.index")
