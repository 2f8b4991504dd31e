"""The calendar page: month, week and list views drawn by FullCalendar from the calendar API, a tray
of unscheduled drafts, and a plain day-by-day list for browsers without JavaScript."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from flask import Response, make_response, render_template, request, url_for
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from planner.app import CONTENT_SECURITY_POLICY
from planner.models import PostKind, PostStatus
from planner.services import calendar as calendar_service
from planner.services import channels as channel_service
from planner.services.calendar import CalendarFilter, Entry
from planner.services.channels import TAG
from planner.services.schedule import can_move
from planner.web.context import db, now, viewer_timezone
from planner.web.labels import STATUS_LABELS

DAYS_LISTED = 14
# FullCalendar adds its styles through the CSS object model to an empty <style data-fullcalendar> that
# the page provides. The page's policy allows exactly that element (the hash is the empty string's)
# and the icon font FullCalendar embeds as a data: URL; inline styles stay refused.
CALENDAR_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
) + "; font-src 'self' data:"


def filters_from(args: MultiDict[str, str]) -> CalendarFilter:
    """The filters in a query string; values that are not valid are ignored."""
    kind, status, tag = args.get("kind", ""), args.get("status", ""), args.get("tag", "").strip()
    return CalendarFilter(
        kind=kind if kind in PostKind.__members__ else None,
        status=status if status in PostStatus.__members__ else None,
        channel_id=args.get("channel_id", type=int),
        tag=tag if TAG.match(tag) else None,
        author_id=args.get("author_id", type=int),
    )


def render() -> Response | str:
    tz = viewer_timezone()
    filters = filters_from(request.args)
    today = now().astimezone(tz).date()
    try:
        first = date.fromisoformat(request.args["start"]) if "start" in request.args else today
    except ValueError:
        first = today
    shared = {"filters": filters, "choices": _choices(), "today": today,
              "filter_args": {key: value for key, value in vars(filters).items() if value},
              "tray": [(entry, can_move(current_user, entry.status, entry.author_id))
                       for entry in calendar_service.unscheduled(db(), filters)]}
    if request.args.get("view") == "list":
        return _day_list(first, filters, shared)
    config = {
        "eventsUrl": url_for("api.calendar_get"),
        "moveUrl": url_for("api.move_post_post", post_id=0),
        "detailUrl": url_for("posts.detail", post_id=0),
        "seriesUrl": url_for("series.detail", series_id=0),
        "newUrl": url_for("posts.new"),
        "timeZone": tz.key,
        "now": now().astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S"),
        "initialDate": first.isoformat(),
        "locale": "zh-cn" if str(get_locale()).startswith("zh") else "en",
        "statuses": {key: str(STATUS_LABELS[key]) for key in PostStatus}
        | {"planned": _("planned by a series")},
        "text": {"moved": _("Moved “%(title)s” to %(when)s."),
                 "notMoved": _("“%(title)s” was not moved: %(why)s"),
                 "notLoaded": _("The calendar could not be loaded: %(why)s"),
                 "truncated": _truncated_text(),
                 "offline": _("the server could not be reached")},
    }
    response = make_response(render_template("posts/calendar.html", config=json.dumps(config),
                                              timezone=tz.key, **shared))
    response.headers["Content-Security-Policy"] = CALENDAR_POLICY
    return response


def _day_list(first: date, filters: CalendarFilter, shared: dict[str, object]) -> str:
    tz = viewer_timezone()
    start = datetime.combine(first, time(), tz)
    days: dict[date, list[Entry]] = defaultdict(list)
    found, truncated = calendar_service.in_range(db(), start, start + timedelta(days=DAYS_LISTED),
                                                 filters)
    for entry in found:
        assert entry.scheduled_at is not None
        days[entry.scheduled_at.astimezone(tz).date()].append(entry)
    return render_template(
        "posts/calendar_list.html",
        days=[(first + timedelta(days=i), days.get(first + timedelta(days=i), []))
              for i in range(DAYS_LISTED)],
        previous=first - timedelta(days=DAYS_LISTED),
        following=first + timedelta(days=DAYS_LISTED),
        truncated=truncated, truncated_text=_truncated_text(),
        **shared,
    )


def _truncated_text() -> str:
    return _("This range holds more than %(count)s posts; only the first %(count)s are shown. Narrow "
             "it with the filters or a shorter view.", count=format_decimal(calendar_service.MAX_ITEMS))


def _choices() -> dict[str, object]:
    return {"channels": [(c.id, c.name) for c in channel_service.list_channels(db())],
            "authors": calendar_service.authors(db()),
            "tags": calendar_service.known_tags(db())}
