"""Recurring series and their occurrences."""

from __future__ import annotations

from datetime import timedelta

from flask import jsonify
from flask_babel import gettext as _

from planner.api.bp import bp
from planner.api.review import finding_out
from planner.api.schemas import CommentIn
from planner.api.series_schemas import (
    HeldOut,
    OccurrenceList,
    OccurrenceQuery,
    SeriesApprovalOut,
    SeriesIn,
    SeriesList,
    SeriesOut,
    SeriesPatch,
)
from planner.api.spec import endpoint
from planner.errors import ValidationFailed
from planner.models import Role, Series, User
from planner.services import series as series_service
from planner.services.series import SeriesInput
from planner.state import state
from planner.web.context import allow_self_approval, checker, db

MAX_RANGE = timedelta(days=366)


def series_out(series: Series) -> dict:
    return SeriesOut(
        id=series.id, kind=series.kind, title=series.title, rrule=series.rrule,
        timezone=series.timezone, starts_at=series.starts_at, template=series.template,
        pool=series.pool, channel_ids=[c.id for c in series.channels], tags=series.tags,
        expires_after_minutes=series.expires_after_minutes, status=series.status,
        approved=series.approved_at is not None, approved_at=series.approved_at,
        approved_by_id=series.approved_by_id, ended_at=series.ended_at,
        next_occurrence_at=series.next_occurrence_at, author_id=series.author_id,
        created_at=series.created_at, updated_at=series.updated_at,
    ).model_dump(mode="json")


@endpoint(bp, "/series", "GET", summary="List recurring series", response=SeriesList)
def list_series(user: User):  # type: ignore[no-untyped-def]
    return jsonify({"items": [series_out(s) for s in series_service.list_series(db())]})


@endpoint(bp, "/series", "POST", summary="Create a recurring series (its occurrences go to review)",
          body=SeriesIn, response=SeriesOut, status=201)
def create_series(user: User, body: SeriesIn):  # type: ignore[no-untyped-def]
    series = series_service.create_series(db(), user, SeriesInput(**body.model_dump()),
                                          now=_now(), config=state().config, checker=checker())
    db().commit()
    return jsonify(series_out(series)), 201


@endpoint(bp, "/series/<int:series_id>", "GET", summary="One series", response=SeriesOut)
def get_series(user: User, series_id: int):  # type: ignore[no-untyped-def]
    return jsonify(series_out(series_service.get_series(db(), series_id)))


@endpoint(bp, "/series/<int:series_id>", "PATCH",
          summary="Edit a series and all its future occurrences not edited on their own",
          body=SeriesPatch, response=SeriesOut)
def patch_series(user: User, series_id: int, body: SeriesPatch):  # type: ignore[no-untyped-def]
    series = series_service.get_series(db(), series_id, for_change=True)
    current = series_service.input_of(series)
    merged = SeriesInput(**{**current.__dict__, **body.model_dump(exclude_unset=True)})
    series_service.update_series(db(), user, series, merged, now=_now(), config=state().config,
                                 checker=checker())
    db().commit()
    return jsonify(series_out(series))


@endpoint(bp, "/series/<int:series_id>", "DELETE",
          summary="Delete a series; its occurrences not yet published are canceled", status=204)
def delete_series(user: User, series_id: int):  # type: ignore[no-untyped-def]
    series = series_service.get_series(db(), series_id, for_change=True)
    series_service.delete_series(db(), user, series, now=_now())
    db().commit()
    return "", 204


@endpoint(bp, "/series/<int:series_id>/end", "POST",
          summary="End a series now; its occurrences not yet published are canceled",
          response=SeriesOut)
def end_series(user: User, series_id: int):  # type: ignore[no-untyped-def]
    series = series_service.get_series(db(), series_id, for_change=True)
    series_service.end_series(db(), user, series, now=_now())
    db().commit()
    return jsonify(series_out(series))


@endpoint(bp, "/series/<int:series_id>/approve", "POST",
          summary="Approve a whole series: its future occurrences that pass the pre-publish checks, "
          "and those still to come; the others stay in review and are listed in `held`",
          role=Role.operator, body=CommentIn, response=SeriesApprovalOut)
def approve_series(user: User, series_id: int, body: CommentIn):  # type: ignore[no-untyped-def]
    series = series_service.get_series(db(), series_id, for_change=True)
    result = series_service.approve_series(db(), user, series, now=_now(),
                                           allow_self_approval=allow_self_approval(),
                                           checker=checker(), comment=body.comment)
    db().commit()
    held = [HeldOut(post_id=h.post_id, title=h.title, scheduled_at=h.scheduled_at,
                    findings=[finding_out(f) for f in h.findings]).model_dump(mode="json")
            for h in result.held]
    return jsonify(series_out(series) | {"approved_post_ids": result.approved, "held": held})


@endpoint(bp, "/series/<int:series_id>/occurrences", "GET",
          summary="A series' occurrences in a range (beyond the horizon too), with their texts",
          query=OccurrenceQuery, response=OccurrenceList)
def series_occurrences(user: User, series_id: int, query: OccurrenceQuery):  # type: ignore[no-untyped-def]
    if query.end <= query.start:
        raise ValidationFailed(_("the request has invalid fields"),
                               {"end": _("the end must be after the start")})
    if query.end - query.start > MAX_RANGE:
        raise ValidationFailed(_("the request has invalid fields"),
                               {"end": _("at most 366 days at once")})
    series = series_service.get_series(db(), series_id)
    found = series_service.occurrences(db(), series, query.start, query.end, config=state().config)
    return jsonify(OccurrenceList.model_validate({"items": found}).model_dump(mode="json"))


def _now():  # type: ignore[no-untyped-def]
    return state().clock.now()
