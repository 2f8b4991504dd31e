"""The calendar, the post editor and the actions on one post."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from planner.errors import ValidationFailed
from planner.models import Post, Role
from planner.services import channels as channel_service
from planner.services import comments, deliveries
from planner.services import posts as post_service
from planner.services.posts import PostInput
from planner.services.previews import Draft
from planner.web import calendar_page
from planner.web.context import (
    allow_self_approval,
    attach_errors,
    checker,
    db,
    now,
    saved,
    viewer_timezone,
)
from planner.web.forms import ActionForm, CommentForm, NewCommentForm, PostForm
from planner.web.timefmt import LOCAL_INPUT, parse_local, to_input

bp = Blueprint("posts", __name__)


@bp.get("/")
@login_required
def calendar():  # type: ignore[no-untyped-def]
    return calendar_page.render()


@bp.route("/posts/new", methods=["GET", "POST"])
@login_required
def new():  # type: ignore[no-untyped-def]
    form = _post_form()
    if request.method == "GET" and request.args.get("scheduled_at"):
        form.scheduled_at.data = _prefill(request.args["scheduled_at"])
    if form.validate_on_submit():
        try:
            post = post_service.create_post(db(), current_user, _input(form), now=now())
        except ValidationFailed as error:
            db().rollback()
            attach_errors(form, error)
        else:
            if request.form.get("then") == "submit":
                return _submit_new(post)
            db().commit()
            flash(_("Draft saved."), "success")
            return redirect(url_for("posts.detail", post_id=post.id))
    status = 422 if form.is_submitted() else 200
    return render_template("posts/edit.html", form=form, post=None,
                           tz=viewer_timezone()), status


def _submit_new(post: Post):  # type: ignore[no-untyped-def]
    try:
        post_service.submit(db(), current_user, post, now=now())
    except ValidationFailed as error:
        db().commit()  # keep the draft; say what is missing
        flash(_("Draft saved, but not submitted: %(why)s", why=_fields_text(error)), "warning")
    else:
        db().commit()
        flash(_("Submitted for review."), "success")
    return redirect(url_for("posts.detail", post_id=post.id))


@bp.get("/posts/<int:post_id>")
@login_required
def detail(post_id: int):  # type: ignore[no-untyped-def]
    post = post_service.get_post(db(), post_id)
    targets = post_service.resolve_targets(db(), post)
    # Previews and checks matter while the post can still change; afterwards the deliveries tell.
    renderings, findings = (checker().preview(db(), Draft.of(post, targets))
                            if post.status in post_service.EDITABLE else ([], []))
    return render_template(
        "posts/detail.html",
        post=post,
        conversation=comments.thread(db(), post.id),
        new_comment_form=NewCommentForm(),
        renderings=renderings,
        findings=findings,
        deliveries=deliveries.deliveries_of(db(), post.id),
        targets=targets,
        can_edit=post_service.can_edit(current_user, post),
        can_submit=post_service.can_submit(current_user, post),
        can_review=post_service.can_review(current_user, post, allow_self_approval()),
        can_cancel=post_service.can_cancel(current_user, post),
        can_delete=post_service.can_delete(current_user, post),
        action_form=ActionForm(),
        comment_form=CommentForm(),
    )


@bp.route("/posts/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
def edit(post_id: int):  # type: ignore[no-untyped-def]
    post = post_service.get_post(db(), post_id, for_change=request.method == "POST")
    if not post_service.can_edit(current_user, post):
        flash(_("This post cannot be edited now."), "warning")
        return redirect(url_for("posts.detail", post_id=post.id))
    form = _post_form(post)
    if form.validate_on_submit():
        if saved(lambda: post_service.update_post(db(), current_user, post, _input(form), now=now(),
                                                  checker=checker()), form) is not None:
            flash(_("Saved."), "success")
            return redirect(url_for("posts.detail", post_id=post.id))
    status = 422 if form.is_submitted() else 200
    return render_template("posts/edit.html", form=form, post=post,
                           tz=viewer_timezone()), status


@bp.post("/posts/<int:post_id>/<any(submit, approve, reject, cancel, delete):action>")
@login_required
def act(post_id: int, action: str):  # type: ignore[no-untyped-def]
    post = post_service.get_post(db(), post_id, for_change=True)
    form = CommentForm()
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "danger")
        return redirect(url_for("posts.detail", post_id=post_id))
    comment = form.comment.data or ""
    kwargs = {"now": now()}
    if action in ("approve", "reject"):
        kwargs["allow_self_approval"] = allow_self_approval()
    if action == "approve":
        kwargs["checker"] = checker()
    try:
        if action == "delete":
            post_service.delete(db(), current_user, post, **kwargs)
        else:
            getattr(post_service, action)(db(), current_user, post, comment=comment, **kwargs)
    except ValidationFailed as error:
        db().rollback()
        flash(f"{error.message}: {_fields_text(error)}", "danger")
        return redirect(url_for("posts.detail", post_id=post_id))
    db().commit()
    flash(_ACTION_DONE[action](), "success")
    if action == "delete":
        return redirect(url_for("posts.calendar"))
    if action in ("approve", "reject") and current_user.has_role(Role.operator):
        return redirect(url_for("review.queue"))
    return redirect(url_for("posts.detail", post_id=post_id))


_ACTION_DONE = {
    "submit": lambda: _("Submitted for review."),
    "approve": lambda: _("Approved: it will be published at its time."),
    "reject": lambda: _("Returned to the author as a draft."),
    "cancel": lambda: _("Canceled."),
    "delete": lambda: _("Deleted."),
}


def _prefill(value: str) -> str:
    """A publish time from the calendar (a day, or a day and time, in the viewer's timezone) for
    the form; anything else leaves the field empty."""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return ""
    if when.tzinfo is not None:
        when = when.astimezone(viewer_timezone())
    elif len(value.strip()) == 10:  # a day without a time: the usual morning slot
        when = when.replace(hour=9)
    return when.strftime(LOCAL_INPUT)


def _post_form(post: Post | None = None) -> PostForm:
    tz = viewer_timezone()
    # A submitted form is read from what was sent alone: a field left out is empty, never the
    # post's own value (a datetime or a list, which the form cannot parse back).
    form = PostForm(obj=post if request.method == "GET" else None)
    form.channel_ids.choices = [SelectChoice(c.id, c.name)
                                for c in channel_service.list_channels(db())]
    if post is not None and request.method == "GET":
        form.scheduled_at.data = to_input(post.scheduled_at, tz)
        form.expires_at.data = to_input(post.expires_at, tz)
        form.channel_ids.data = [c.id for c in post.channels]
        form.tags.data = ", ".join(post.tags)
    return form


def _input(form: PostForm) -> PostInput:
    tz = viewer_timezone()
    times = {}
    errors = {}
    for name in ("scheduled_at", "expires_at"):
        raw = getattr(form, name).data
        try:
            times[name] = parse_local(raw, tz) if raw else None
        except ValueError:
            errors[name] = _("Not a date and time: %(value)s", value=raw)
    if errors:
        raise ValidationFailed(_("the post was not saved"), errors)
    return PostInput(
        kind=form.kind.data or "",
        title=form.title.data or "",
        body=form.body.data or "",
        channel_ids=list(form.channel_ids.data or []),
        tags=[t.strip().lower() for t in (form.tags.data or "").split(",") if t.strip()],
        **times,
    )


def _fields_text(error: ValidationFailed) -> str:
    return "; ".join(str(text) for text in error.fields.values()) or str(error.message)
