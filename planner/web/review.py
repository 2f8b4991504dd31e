"""The review queue (approve, reject, bulk approve, with previews and checks), expired posts, comments."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from planner.errors import PlannerError, ValidationFailed
from planner.models import Post, PostStatus, Role
from planner.services import comments
from planner.services import posts as post_service
from planner.services import series as series_service
from planner.services.posts import PostInput
from planner.services.previews import Draft
from planner.web.context import allow_self_approval, checker, db, now, role_required, workspace_timezone
from planner.web.forms import ActionForm, CommentForm, NewCommentForm, RescheduleForm
from planner.web.timefmt import parse_local

bp = Blueprint("review", __name__)
SORTS = ("publish_time", "newest")
UNIT_LABELS = {"characters": _l("characters"), "bytes": _l("bytes")}


bp.record_once(lambda setup: setup.app.jinja_env.globals.update(UNIT_LABELS=UNIT_LABELS))


@bp.get("/review")
@role_required(Role.operator)
def queue():  # type: ignore[no-untyped-def]
    sort = request.args.get("sort", "publish_time")
    sort = sort if sort in SORTS else "publish_time"
    queued = post_service.review_queue(db())
    if sort == "newest":
        queued.sort(key=lambda p: (p.submitted_at or p.created_at, p.id), reverse=True)
    self_ok = allow_self_approval()
    checks = checker()
    threads = comments.threads(db(), [p.id for p in queued])
    series = series_service.series_by_id(db(), {p.series_id for p in queued if p.series_id})
    items = []
    for post in queued:
        targets = post_service.resolve_targets(db(), post)
        renderings, findings = checks.preview(db(), Draft.of(post, targets))
        of = series.get(post.series_id) if post.series_id else None
        items.append({"post": post, "can_review": post_service.can_review(current_user, post, self_ok),
                      "targets": targets, "renderings": renderings, "findings": findings,
                      "blocking": any(f.blocking for f in findings), "thread": threads[post.id],
                      "series": of, "can_approve_series": of is not None and not post.detached
                      and series_service.can_approve(current_user, of, self_ok)})
    return render_template("review/queue.html", items=items, sort=sort, comment_form=CommentForm(),
                           new_comment_form=NewCommentForm(), action_form=ActionForm())


@bp.post("/review/approve")
@role_required(Role.operator)
def bulk_approve():  # type: ignore[no-untyped-def]
    """Approve each chosen post in its own transaction; one that cannot be approved is skipped."""
    if not ActionForm().validate_on_submit():
        flash(_("The form expired; please try again."), "danger")
        return redirect(url_for("review.queue"))
    ids = [int(value) for value in request.form.getlist("post_ids") if value.isdigit()]
    if not ids:
        flash(_("Tick the posts to approve first."), "warning")
        return redirect(url_for("review.queue"))
    approved = 0
    checks, self_ok = checker(), allow_self_approval()
    for post_id in dict.fromkeys(ids):
        try:
            post = post_service.get_post(db(), post_id, for_change=True)
            title = post.title
            post_service.approve(db(), current_user, post, now=now(), allow_self_approval=self_ok,
                                 checker=checks)
        except PlannerError as error:
            db().rollback()
            why = "; ".join(str(text) for text in error.fields.values()) or str(error.message)
            flash(_("Skipped post %(id)s: %(why)s", id=post_id, why=why), "warning")
            continue
        db().commit()
        approved += 1
        flash(_("Approved “%(title)s”.", title=title), "success")
    flash(_("%(approved)d of %(chosen)d approved.", approved=approved, chosen=len(set(ids))),
          "success" if approved == len(set(ids)) else "warning")
    return redirect(url_for("review.queue"))


@bp.get("/review/expired")
@login_required
def expired():  # type: ignore[no-untyped-def]
    posts = post_service.list_posts(db(), status=PostStatus.expired)
    posts.sort(key=lambda p: (p.scheduled_at, p.id), reverse=True)
    return render_template(
        "review/expired.html",
        items=[(p, post_service.can_edit(current_user, p), post_service.can_cancel(current_user, p))
               for p in posts],
        reschedule_form=RescheduleForm(), action_form=ActionForm(), tz=workspace_timezone())


@bp.post("/review/expired/<int:post_id>/reschedule")
@login_required
def reschedule(post_id: int):  # type: ignore[no-untyped-def]
    """Give an expired post a new time and send it back to review."""
    post = post_service.get_post(db(), post_id, for_change=True)
    form = RescheduleForm()
    if not form.validate_on_submit():
        flash(_("Choose the new publish time."), "danger")
        return redirect(url_for("review.expired"))
    try:
        when = parse_local(form.scheduled_at.data or "", workspace_timezone())
    except ValueError:
        flash(_("Not a date and time: %(value)s", value=form.scheduled_at.data), "danger")
        return redirect(url_for("review.expired"))
    data = PostInput(kind=post.kind, title=post.title, body=post.body, scheduled_at=when,
                     expires_at=post.expires_at if post.expires_at and post.expires_at > when else None,
                     channel_ids=[c.id for c in post.channels], tags=post.tags)
    try:
        post_service.update_post(db(), current_user, post, data, now=now())
        if post_service.can_submit(current_user, post):
            post_service.submit(db(), current_user, post, now=now())
    except PlannerError as error:
        db().rollback()
        why = "; ".join(str(text) for text in error.fields.values()) or str(error.message)
        flash(_("Not rescheduled: %(why)s", why=why), "danger")
        return redirect(url_for("review.expired"))
    db().commit()
    flash(_("“%(title)s” moved to %(when)s and sent back to review.", title=post.title,
            when=when.astimezone(workspace_timezone()).strftime("%Y-%m-%d %H:%M")), "success")
    return redirect(url_for("review.expired"))


@bp.post("/posts/<int:post_id>/comments")
@login_required
def add_comment(post_id: int):  # type: ignore[no-untyped-def]
    post = post_service.get_post(db(), post_id)
    form = NewCommentForm()
    back = _back(post)
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "danger")
        return redirect(back)
    try:
        comments.add_comment(db(), current_user, post, form.body.data or "", now=now())
    except ValidationFailed as error:
        db().rollback()
        flash("; ".join(str(text) for text in error.fields.values()), "danger")
        return redirect(back)
    db().commit()
    flash(_("Comment added."), "success")
    return redirect(back)


@bp.post("/comments/<int:comment_id>/delete")
@login_required
def delete_comment(comment_id: int):  # type: ignore[no-untyped-def]
    comment = comments.get_comment(db(), comment_id)
    post = post_service.get_post(db(), comment.post_id)
    if not ActionForm().validate_on_submit():
        flash(_("The form expired; please try again."), "danger")
        return redirect(_back(post))
    comments.delete_comment(db(), current_user, comment, now=now())
    db().commit()
    flash(_("Comment deleted."), "success")
    return redirect(_back(post))


@bp.app_template_global()
def can_delete_comment(entry: comments.ThreadEntry) -> bool:
    return entry.type == "comment" and (
        entry.author.id == current_user.id or current_user.has_role(Role.operator))


def _back(post: Post) -> str:
    """Where a comment form returns to: the queue it was sent from, else the post."""
    if request.form.get("back") == "queue" and current_user.has_role(Role.operator):
        return url_for("review.queue", _anchor=f"post-{post.id}")
    return url_for("posts.detail", post_id=post.id, _anchor="comments")
