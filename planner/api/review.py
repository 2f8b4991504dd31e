"""Previews per target channel, pre-publish checks and comments."""

from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _
from sqlalchemy import select

from planner.api.bp import bp
from planner.api.review_schemas import (
    FindingOut,
    MessageOut,
    NewComment,
    PreviewIn,
    PreviewOut,
    PreviewQuery,
    TargetPreviewOut,
    ThreadEntryOut,
    ThreadOut,
)
from planner.api.spec import endpoint
from planner.errors import ValidationFailed
from planner.models import Channel, User
from planner.services import channels as channel_service
from planner.services import comments
from planner.services import posts as post_service
from planner.services.checks import Finding
from planner.services.comments import ThreadEntry
from planner.services.previews import Draft, Rendering, targets_for
from planner.state import state
from planner.web.context import checker, db


def preview_out(renderings: list[Rendering], findings: list[Finding]) -> dict:
    return PreviewOut(
        targets=[target_out(r, [f for f in findings if f.channel_id == r.channel.id])
                 for r in renderings],
        findings=[finding_out(f) for f in findings],
        blocking=any(f.blocking for f in findings),
    ).model_dump(mode="json")


def target_out(rendering: Rendering, findings: list[Finding]) -> TargetPreviewOut:
    limits = rendering.limits
    return TargetPreviewOut(
        channel_id=rendering.channel.id, channel_name=rendering.channel.name,
        kind=rendering.channel.kind, kind_label=rendering.kind_label, shows_title=rendering.titles,
        messages=[MessageOut(part=m.part, parts=m.parts, title=m.title, text=m.text, format=m.format)
                  for m in rendering.messages],
        parts=len(rendering.messages), length=rendering.length,
        limit=limits.max_length if limits else None, unit=limits.unit if limits else None,
        max_parts=limits.max_parts if limits else None, refusal=rendering.refusal,
        findings=[finding_out(f) for f in findings],
    )


def finding_out(finding: Finding) -> FindingOut:
    return FindingOut(code=finding.code, severity=finding.severity, message=finding.message,
                      channel_id=finding.channel_id)


def entry_out(entry: ThreadEntry) -> dict:
    return ThreadEntryOut(type=entry.type, id=entry.id, author_id=entry.author.id,  # type: ignore[arg-type]
                          author_name=entry.author.name, body=entry.body,
                          decision=entry.decision,  # type: ignore[arg-type]
                          created_at=entry.created_at).model_dump(mode="json")


@endpoint(bp, "/preview", "POST", summary="Preview unsaved input on every target, with its checks",
          body=PreviewIn, response=PreviewOut)
def preview_input(user: User, body: PreviewIn):  # type: ignore[no-untyped-def]
    ids = list(dict.fromkeys(body.channel_ids))
    known = set(db().scalars(select(Channel.id).where(Channel.id.in_(ids)))) if ids else set()
    missing = sorted(set(ids) - known)
    if missing:
        raise ValidationFailed(_("the request has invalid fields"), {
            "channel_ids": _("unknown channel id(s): %(ids)s", ids=", ".join(map(str, missing)))})
    draft = Draft(body.kind, body.title, body.body, body.scheduled_at,
                  targets_for(db(), ids, list(dict.fromkeys(body.tags))), body.post_id)
    return jsonify(preview_out(*checker().preview(db(), draft)))


@endpoint(bp, "/posts/<int:post_id>/preview", "GET", query=PreviewQuery, response=PreviewOut,
          summary="A saved post as each target channel (or the one given) will show it")
def preview_post(user: User, post_id: int, query: PreviewQuery):  # type: ignore[no-untyped-def]
    post = post_service.get_post(db(), post_id)
    if query.channel_id is None:
        targets = post_service.resolve_targets(db(), post)
    else:
        targets = [channel_service.get_channel(db(), query.channel_id)]
    renderings, findings = checker().preview(db(), Draft.of(post, targets))
    return jsonify(preview_out(renderings, findings))


@endpoint(bp, "/posts/<int:post_id>/comments", "GET", response=ThreadOut,
          summary="A post's comments and review decisions, oldest first")
def list_comments(user: User, post_id: int):  # type: ignore[no-untyped-def]
    post_service.get_post(db(), post_id)
    return jsonify({"items": [entry_out(e) for e in comments.thread(db(), post_id)]})


@endpoint(bp, "/posts/<int:post_id>/comments", "POST", body=NewComment, response=ThreadEntryOut,
          status=201, summary="Comment on a post (any signed-in user)")
def add_comment(user: User, post_id: int, body: NewComment):  # type: ignore[no-untyped-def]
    post = post_service.get_post(db(), post_id)
    comment = comments.add_comment(db(), user, post, body.body, now=state().clock.now())
    db().commit()
    entry = ThreadEntry("comment", comment.id, user, comment.body, comment.created_at)
    return jsonify(entry_out(entry)), 201


@endpoint(bp, "/comments/<int:comment_id>", "DELETE", status=204,
          summary="Delete a comment (its author, or an operator)")
def delete_comment(user: User, comment_id: int):  # type: ignore[no-untyped-def]
    comments.delete_comment(db(), user, comments.get_comment(db(), comment_id),
                            now=state().clock.now())
    db().commit()
    return "", 204
