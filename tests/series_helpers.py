"""Shared set-up for the series tests: a weekday good-morning series in Asia/Shanghai."""

from datetime import timedelta

from sqlalchemy import select

from planner.models import Delivery, Post
from planner.services import series as series_service
from planner.services.checks import checker_for
from planner.services.series import SeriesInput
from tests.conftest import START

WEEKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
POOL = ["早上好！今天也要加油。", "Good morning, {community}!", "Rise and shine ({weekday})"]


def series_data(**overrides):
    return {"kind": "greeting", "title": "Good morning {date}", "rrule": WEEKDAYS,
            "timezone": "Asia/Shanghai", "starts_at": START + timedelta(days=1),
            "template": "{text}", "pool": list(POOL), "tags": ["python-groups"]} | overrides


def make_series(st, author, **overrides):
    with st.sessions() as session, session.begin():
        series = series_service.create_series(session, session.merge(author),
                                              SeriesInput(**series_data(**overrides)),
                                              now=st.clock.now(), config=st.config,
                                              checker=checker_for(st, session))
        return series.id


def occurrence_posts(st, series_id):
    with st.sessions() as session:
        return list(session.scalars(select(Post).where(Post.series_id == series_id)
                                    .order_by(Post.occurrence_at)))


def deliveries_by_post(st):
    with st.sessions() as session:
        found = {}
        for delivery in session.scalars(select(Delivery)):
            found.setdefault(delivery.post_id, []).append(delivery.status)
        return found
