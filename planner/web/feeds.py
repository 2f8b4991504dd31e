"""The feed pages: subscribe, change, poll now, resume, unsubscribe, OPML in and out."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from planner.errors import PlannerError, ValidationFailed
from planner.feeds.poller import find_feed, poll_one
from planner.models import Feed
from planner.services import channels as channel_service
from planner.services import feed_items
from planner.services import feeds as feed_service
from planner.services.feeds import FeedInput
from planner.state import state
from planner.web.context import attach_errors, db, now, saved
from planner.web.feed_forms import FeedForm, OpmlForm
from planner.web.forms import ActionForm

bp = Blueprint("feeds", __name__)


@bp.get("/feeds")
@login_required
def index():  # type: ignore[no-untyped-def]
    return render_template("feeds/index.html", feeds=feed_service.list_feeds(db()), form=_form(),
                           opml_form=OpmlForm(), action_form=ActionForm(), counts=feed_items.counts(db()))


@bp.post("/feeds")
@login_required
def subscribe():  # type: ignore[no-untyped-def]
    form = _form()
    if form.validate_on_submit():
        data = _input(form)
        try:
            data.url = feed_service.check_new(db(), current_user, data)
            db().rollback()  # hold no database lock while fetching
            found = find_feed(state(), data.url)
            feed = feed_service.subscribe(db(), current_user, data, found, now=now(),
                                          config=state().config)
        except PlannerError as error:
            db().rollback()
            attach_errors(form, error)
        else:
            db().commit()
            flash(_("Subscribed to %(name)s.", name=feed.name), "success")
            return redirect(url_for("inbox.index", feed_id=feed.id))
    return render_template("feeds/index.html", feeds=feed_service.list_feeds(db()), form=form,
                           opml_form=OpmlForm(), action_form=ActionForm(),
                           counts=feed_items.counts(db())), 422


@bp.route("/feeds/<int:feed_id>/edit", methods=["GET", "POST"])
@login_required
def edit(feed_id: int):  # type: ignore[no-untyped-def]
    feed = feed_service.get_feed(db(), feed_id)
    form = _form(feed)
    if form.validate_on_submit():
        if saved(lambda: feed_service.update_feed(db(), current_user, feed, _input(form), now=now()),
                 form, refused=(PlannerError,)) is not None:
            flash(_("Saved."), "success")
            return redirect(url_for("feeds.index"))
    status = 422 if form.is_submitted() else 200
    return render_template("feeds/edit.html", feed=feed, form=form, action_form=ActionForm(),
                           can_change=feed_service.can_change(current_user, feed)), status


@login_required
def act(feed_id: int, action: str):  # type: ignore[no-untyped-def]
    feed = feed_service.get_feed(db(), feed_id)
    if not ActionForm().validate_on_submit():
        flash(_("The form expired; please try again."), "danger")
        return redirect(url_for("feeds.index"))
    if action == "poll":
        db().rollback()
        result = poll_one(state(), feed_id)
        if result.error:
            flash(_("Polling failed: %(error)s", error=result.error), "danger")
        elif result.not_modified:
            flash(_("The feed has not changed."), "success")
        else:
            flash(_("%(count)s new item(s).", count=result.new), "success")
        return redirect(_back())
    if action == "resume":
        if not feed_service.can_change(current_user, feed):
            flash(_("Only the person who subscribed or an operator may change this feed."), "danger")
            return redirect(url_for("feeds.index"))
        feed_service.resume(feed, now=now())
        db().commit()
        flash(_("Resumed: the feed is polled again."), "success")
        return redirect(url_for("feeds.index"))
    feed_service.delete_feed(db(), current_user, feed, now=now())
    db().commit()
    flash(_("Unsubscribed."), "success")
    return redirect(url_for("feeds.index"))


for _action in ("poll", "resume", "delete"):
    bp.add_url_rule(f"/feeds/<int:feed_id>/{_action}", "act", act, methods=["POST"],
                    defaults={"action": _action})


@bp.get("/feeds/export.opml")
@login_required
def export():  # type: ignore[no-untyped-def]
    document = feed_service.export_opml(db(), _("planner subscriptions"))
    return Response(document, mimetype="text/x-opml",
                    headers={"Content-Disposition": "attachment; filename=subscriptions.opml"})


@bp.post("/feeds/import")
@login_required
def import_opml():  # type: ignore[no-untyped-def]
    form = OpmlForm()
    if not form.validate_on_submit():
        flash(_("Choose an OPML file to import."), "danger")
        return redirect(url_for("feeds.index"))
    try:
        added, skipped = feed_service.import_opml(db(), current_user, form.file.data.read(1_000_001),
                                                  now=now())
    except ValidationFailed as error:
        db().rollback()
        flash("; ".join(str(v) for v in error.fields.values()), "danger")
        return redirect(url_for("feeds.index"))
    db().commit()
    flash(_("%(added)s feed(s) added; they are polled within a minute.", added=added), "success")
    for reason in skipped[:10]:
        flash(_("Skipped %(reason)s", reason=reason), "warning")
    return redirect(url_for("feeds.index"))


def _back() -> str:
    """Back to the page the action came from, when it is the feed list or the inbox."""
    target = request.form.get("next", "")
    if target.startswith(("/feeds", "/inbox")) and "//" not in target:
        return target
    return url_for("feeds.index")


def _form(feed: Feed | None = None) -> FeedForm:
    form = FeedForm(obj=feed) if feed is not None else FeedForm()
    form.channel_ids.choices = [SelectChoice(c.id, c.name) for c in channel_service.list_channels(db())]
    if feed is not None and request.method == "GET":
        form.tags.data = ", ".join(feed.tags)
        form.keep_rules.data = "\n".join(feed.keep_rules)
        form.block_rules.data = "\n".join(feed.block_rules)
        form.channel_ids.data = [c.id for c in feed.channels]
    return form


def _input(form: FeedForm) -> FeedInput:
    def lines(text: str | None) -> list[str]:
        return [line.strip() for line in (text or "").splitlines() if line.strip()]

    return FeedInput(
        url=form.url.data or "", title_override=form.title_override.data or "",
        tags=[t.strip().lower() for t in (form.tags.data or "").split(",") if t.strip()],
        enabled=bool(form.enabled.data), keep_rules=lines(form.keep_rules.data),
        block_rules=lines(form.block_rules.data), channel_ids=list(form.channel_ids.data or []),
        auto_draft=bool(form.auto_draft.data),
    )
