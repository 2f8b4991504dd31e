"""Reports through HTTP: the dashboard, its CSV files, `GET /api/v1/stats` and the weekly summary post."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from planner.models import Post
from planner.services import workspace
from tests.test_api_posts import api  # noqa: F401  (the bearer-token fixture)
from tests.test_reports import approved_post, at, outcome

NOVEMBER = "start=2026-11-01&end=2026-11-30"


@pytest.fixture
def november(st, clock, make):  # type: ignore[no-untyped-def]
    """Two channels, three deliveries in November (Shanghai time): two sent (one late), one failed."""
    people = make.user("editor"), make.user("operator")
    python = make.channel("Python group 1", tags=["python"])
    general = make.channel("General chat")
    first = approved_post(st, clock, people, scheduled=at("2026-11-10T12:00"),
                          channels=[python.id, general.id])
    second = approved_post(st, clock, people, scheduled=at("2026-11-11T12:00"), channels=[general.id])
    outcome(st, first, python.id, "sent", at("2026-11-10T12:00:02"))
    outcome(st, first, general.id, "failed")
    outcome(st, second, general.id, "sent", at("2026-11-11T12:09"))
    clock.set(at("2026-11-23T00:00"))
    return people


def test_stats_api_gives_the_figures(api, november):  # noqa: F811
    _editor, operator = november
    answer = api.call("GET", f"/stats?{NOVEMBER}", operator)
    assert answer.status_code == 200, answer.json
    figures = answer.json
    assert figures["period"] == {"first_day": "2026-11-01", "last_day": "2026-11-30",
                                 "timezone": "Asia/Shanghai",
                                 "start": "2026-10-31T16:00:00Z", "end": "2026-11-30T16:00:00Z"}
    totals = figures["deliveries"]
    assert (totals["total"], totals["sent"], totals["failed"]) == (3, 2, 1)
    assert figures["punctuality"]["on_time"] == 1 and figures["punctuality"]["sent"] == 2
    assert figures["approval_turnaround"]["decisions"] == 2
    tagged = api.call("GET", f"/stats?{NOVEMBER}&tag=python", operator).json
    assert tagged["deliveries"]["total"] == 1


def test_stats_api_without_dates_covers_the_current_month(api, november):  # noqa: F811
    figures = api.call("GET", "/stats", november[1]).json
    assert (figures["period"]["first_day"], figures["period"]["last_day"]) == ("2026-11-01", "2026-11-30")


@pytest.mark.parametrize(("query", "field", "message"), [
    ("start=2026-11-30&end=2026-11-01", "end", "the last day is before the first"),
    ("start=2025-01-01&end=2026-01-02", "end", "a report covers at most 366 days"),
    ("start=2026-11-01", "end", "give both start and end, or neither"),
    ("start=1%20November&end=2026-11-30", "start", "Input should be a valid date"),
    ("start=2026-11-01&end=2026-11-30&kind=advert", "kind", "Input should be"),
    ("start=2026-11-01&end=2026-11-30&colour=red", "colour", "Extra inputs are not permitted"),
])
def test_stats_api_says_what_is_wrong(api, november, query, field, message):  # noqa: F811
    answer = api.call("GET", f"/stats?{query}", november[1])
    assert answer.status_code == 422
    assert answer.json["error"]["fields"][field].startswith(message), answer.json


def test_reports_are_for_operators(api, client, auth, november):  # noqa: F811
    editor, _operator = november
    assert api.call("GET", "/stats", editor).status_code == 403
    assert api.call("GET", "/stats").status_code == 401
    assert client.get("/reports").status_code == 302
    auth.login(editor.email)
    assert client.get("/reports").status_code == 403
    assert client.get("/reports/deliveries.csv").status_code == 403


def test_dashboard_shows_charts_and_tables(client, auth, november):
    auth.login(november[1].email)
    page = client.get(f"/reports?{NOVEMBER}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="stat-sent">2<' in html and 'id="stat-on-time">50%<' in html
    assert html.count('<svg class="chart"') == 3  # deliveries per channel, busiest day, posts per kind
    rows = re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>",
                      html.split('id="table-deliveries"')[1].split("</table>")[0])
    assert rows == [("General chat", "2", "1", "1"), ("Python group 1", "1", "1", "0")]
    bad = client.get("/reports?start=2026-11-30&end=2026-11-01")
    assert bad.status_code == 422 and "the last day is before the first" in bad.get_data(as_text=True)


def test_every_table_exports_as_csv_that_parses_back(client, auth, november):
    auth.login(november[1].email)
    deliveries = client.get(f"/reports/deliveries.csv?{NOVEMBER}")
    assert deliveries.mimetype == "text/csv"
    assert 'filename="deliveries-2026-11-01-2026-11-30.csv"' in deliveries.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(deliveries.get_data(as_text=True))))
    assert [(r["channel"], r["total"], r["sent"], r["failed"]) for r in rows] == [
        ("General chat", "2", "1", "1"), ("Python group 1", "1", "1", "0")]
    rhythm_csv = client.get(f"/reports/rhythm.csv?{NOVEMBER}").get_data(as_text=True)
    rhythm = list(csv.DictReader(io.StringIO(rhythm_csv)))
    assert [(r["channel"], r["active_days"], r["sent"], r["busiest_day"]) for r in rhythm] == [
        ("General chat", "1", "1", "1"), ("Python group 1", "1", "1", "1")]
    assert client.get("/reports/secrets.csv").status_code == 404
    assert client.get("/reports/rhythm.csv?start=2026-11-30&end=2026-11-01").status_code == 400


def test_weekly_summary_goes_through_review_and_dispatch(st, client, auth, make, tick, november):
    editor, operator = november
    channel = make.channel("Operators")
    with st.sessions() as session, session.begin():
        workspace.put(session, "alerts_channel_id", channel.id, actor="test", now=st.clock.now())
    st.clock.set(at("2026-11-16T02:00"))  # Monday 10:00 in Shanghai: last week is 9–15 November
    auth.login(operator.email)
    assert f'<option selected value="{channel.id}">' in client.get("/reports").get_data(as_text=True)
    answer = client.post("/reports/weekly-summary",
                         data={"channel_id": channel.id, "csrf_token": auth.token("/reports")})
    post_id = int(answer.headers["Location"].rsplit("/", 1)[1])
    with st.sessions() as session:
        post = session.get(Post, post_id)
        assert (post.kind, post.status, post.author_id) == ("announcement", "in_review", operator.id)
        assert post.title == "Weekly summary 2026-11-09 – 2026-11-15"
        assert "- Deliveries sent: 2 of 3 (failed 1, unconfirmed 0, expired 0)" in post.body
        assert "- On time: 50%" in post.body
    # Another operator approves it, and the dispatcher posts it like any other announcement.
    second = make.user("operator")
    client.post("/logout", data={"csrf_token": auth.token("/reports")})
    auth.login(second.email)
    client.post(f"/posts/{post_id}/approve", data={"csrf_token": auth.token(f"/posts/{post_id}")})
    st.clock.advance(hours=1, seconds=1)
    tick()
    with st.sessions() as session:
        assert session.get(Post, post_id).status == "published"


def test_weekly_summary_needs_a_channel(st, client, auth, november):
    auth.login(november[1].email)
    before = _posts(st)
    answer = client.post("/reports/weekly-summary",
                         data={"channel_id": 999, "csrf_token": auth.token("/reports")})
    assert answer.status_code == 302 and _posts(st) == before
    assert "Pick the channel" in client.get("/reports").get_data(as_text=True)


def _posts(st) -> int:  # type: ignore[no-untyped-def]
    with st.sessions() as session:
        return session.scalar(select(func.count()).select_from(Post))


def test_summary_text_counts_only_last_week(st, november):
    from planner.services.report_periods import week_of

    period = week_of(at("2026-11-16T02:00"), __import__("zoneinfo").ZoneInfo("Asia/Shanghai")).previous()
    assert (period.first.isoformat(), period.last.isoformat()) == ("2026-11-09", "2026-11-15")
    assert period.end - period.start == timedelta(days=7)
