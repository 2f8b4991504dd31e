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


def test_stats_api_gives_the_figures(api, november):
    _editor, operator = november
    answer = api.call("GET", f"/stats?{NOVEMBER}", operator)
    assert answer.status_code == 200, answer.json
    figures = answer.json
    assert figures["period"] == {"first_day": "2026-11-01", "last_day": "2026-11-30",
                                 "timezone": "Asia/Shanghai",
                                 "start": "2026-10-31T16:00:00Z", "end": "2026-11-30T16:00:00Z"}
    totals = figures["deliveries"]
    assert (totals["total"], totals["sent"], totals["failed"]) == (3, 2, 1)
    # Three were due: one on time, one 9 minutes late, one failed: a third on time.
    punctual = figures["punctuality"]
    assert (punctual["due"], punctual["sent"], punctual["on_time"], punctual["not_sent"]) == (3, 2, 1, 1)
    assert punctual["on_time_rate"] == pytest.approx(1 / 3)
    assert [r["sent"] for r in figures["rhythm"]] == [1, 1]  # numbers, not strings, on both databases
    assert figures["approval_turnaround"]["decisions"] == 2
    tagged = api.call("GET", f"/stats?{NOVEMBER}&tag=python", operator).json
    assert tagged["deliveries"]["total"] == 1


def test_stats_api_without_dates_covers_the_current_month(api, november):
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
def test_stats_api_says_what_is_wrong(api, november, query, field, message):
    answer = api.call("GET", f"/stats?{query}", november[1])
    assert answer.status_code == 422
    assert answer.json["error"]["fields"][field].startswith(message), answer.json


def test_reports_are_for_operators(api, client, auth, november):
    editor, _operator = november
    assert api.call("GET", "/stats", editor).status_code == 403
    assert api.call("GET", "/stats").status_code == 401
    assert client.get("/reports").status_code == 302
    auth.login(editor.email)
    assert client.get("/reports").status_code == 403
    assert client.get("/reports/deliveries.csv").status_code == 403


def table_cells(html: str, table_id: str) -> list[list[str]]:
    """The text of each body row's cells of one table on the page."""
    body = html.split(f'id="{table_id}"')[1].split("</table>")[0].split("<tbody>")[1]
    return [re.findall(r"<td>([^<]*)</td>", row) for row in body.split("</tr>") if "<td>" in row]


def test_dashboard_shows_charts_and_tables(client, auth, november):
    auth.login(november[1].email)
    page = client.get(f"/reports?{NOVEMBER}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="stat-sent">2<' in html and 'id="stat-on-time">33%<' in html
    assert "From Nov 1, 2026 to Nov 30, 2026 (Asia/Shanghai)." in html
    # Deliveries per channel, lateness, busiest day and posts per kind: each chart beside its table.
    pairs = html.split('<div class="chart-pair">')[1:]
    assert len(pairs) == html.count('<svg class="chart"') == 4
    for pair in pairs:
        inside = pair.split("</table>")[0]
        assert inside.count('<svg class="chart"') == 1 and inside.count("<table") == 1
    assert table_cells(html, "table-deliveries") == [
        ["General chat", "2", "1", "1", "0", "0", "0"], ["Python group 1", "1", "1", "0", "0", "0", "0"]]
    assert table_cells(html, "table-lateness") == [
        ["on time (within 5 min)", "1"], ["up to 15 min late", "1"], ["up to 1 h late", "0"],
        ["up to 24 h late", "0"], ["more than 24 h late", "0"], ["not sent", "1"]]
    assert table_cells(html, "table-posts") == [
        ["Tutorial", "2"], ["Share", "0"], ["Greeting", "0"], ["Guest session", "0"], ["Announcement", "0"]]
    bad = client.get("/reports?start=2026-11-30&end=2026-11-01")
    assert bad.status_code == 422 and "To: the last day is before the first" in bad.get_data(as_text=True)


def test_the_dashboard_says_in_its_own_words_what_is_wrong(client, auth, november):
    auth.login(november[1].email)
    bad = client.get("/reports?start=1%20November&end=2026-11-30&channel_id=0&kind=advert")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Input should be" not in text
    assert "From: enter the first day as YYYY-MM-DD" in text
    assert "Channel: choose a channel from the list" in text and "Kind: choose a kind from the list" in text
    # A stray parameter in a shared link does not break the page (the API still refuses it).
    assert client.get(f"/reports?{NOVEMBER}&utm_source=mail").status_code == 200


def test_the_dashboard_in_chinese_writes_days_the_chinese_way(st, client, auth, november):
    from planner.models import User

    with st.sessions() as session, session.begin():
        session.get(User, november[1].id).locale = "zh_Hans_CN"
    auth.login(november[1].email)
    html = client.get(f"/reports?{NOVEMBER}").get_data(as_text=True)
    [period] = re.findall(r'<p class="muted">([^<]*Asia/Shanghai[^<]*)</p>', html)
    assert "2026年11月1日" in period and "2026年11月30日" in period and "2026-11" not in period
    assert 'name="start" value="2026-11-01"' in html  # the form's own value stays ISO


def test_every_table_exports_as_csv_that_parses_back(api, client, auth, november):
    operator = november[1]
    auth.login(operator.email)
    html = client.get(f"/reports?{NOVEMBER}").get_data(as_text=True)
    figures = api.call("GET", f"/stats?{NOVEMBER}", operator).json

    def exported(name: str) -> list[dict[str, str]]:
        answer = client.get(f"/reports/{name}.csv?{NOVEMBER}")
        assert answer.status_code == 200 and answer.mimetype == "text/csv"
        assert f'filename="{name}-2026-11-01-2026-11-30.csv"' in answer.headers["Content-Disposition"]
        assert f'href="/reports/{name}.csv?' in html  # the page links every table's file
        return list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))

    from planner.web.report_tables import TABLES

    assert set(TABLES) == {"deliveries", "punctuality", "lateness", "rhythm", "posts", "reviews",
                           "guest-sessions", "feed-items"}
    deliveries = exported("deliveries")
    assert [(r["channel"], r["total"], r["sent"], r["failed"]) for r in deliveries] == [
        ("General chat", "2", "1", "1"), ("Python group 1", "1", "1", "0")]
    assert [[r["channel"], r["total"], r["sent"], r["failed"], r["unconfirmed"], r["expired"], r["canceled"]]
            for r in deliveries] == table_cells(html, "table-deliveries")

    [punctual] = exported("punctuality")
    api_punctual = figures["punctuality"]
    assert {k: int(punctual[k]) for k in ("due", "sent", "on_time", "late", "not_sent")} == {
        k: api_punctual[k] for k in ("due", "sent", "on_time", "late", "not_sent")} == {
        "due": 3, "sent": 2, "on_time": 1, "late": 1, "not_sent": 1}
    assert float(punctual["on_time_rate"]) == pytest.approx(api_punctual["on_time_rate"], abs=1e-4)
    # Lateness 2 s and 9 min: nearest-rank p50 is the first, p90 and p99 the second.
    assert [float(punctual[f"{p}_seconds"]) for p in ("p50", "p90", "p99")] == pytest.approx([2, 540, 540],
                                                                                             abs=0.1)
    assert table_cells(html, "table-punctuality")[0][:5] == [punctual[k] for k in (
        "due", "sent", "on_time", "late", "not_sent")]

    lateness = exported("lateness")
    assert [(r["band"], r["up_to_seconds"], int(r["deliveries"])) for r in lateness] == [
        (b["band"], "" if b["up_to_seconds"] is None else str(b["up_to_seconds"]), b["deliveries"])
        for b in figures["lateness"]]
    assert [r["deliveries"] for r in lateness] == [
        count for _label, count in table_cells(html, "table-lateness")]

    rhythm = exported("rhythm")
    assert [(r["channel"], r["active_days"], r["sent"], r["busiest_day"], r["too_close"])
            for r in rhythm] == [("General chat", "1", "1", "1", "0"), ("Python group 1", "1", "1", "1", "0")]
    assert [[r[k] for k in ("channel", "active_days", "sent", "per_day", "busiest_day", "days_over_limit",
                            "too_close")] for r in rhythm] == table_cells(html, "table-rhythm")

    posts = exported("posts")
    assert [(r["kind"], int(r["posts"])) for r in posts] == [
        (kind, figures["posts_published"].get(kind, 0))
        for kind in ("tutorial", "share", "greeting", "guest_session", "announcement")]
    assert [r["posts"] for r in posts] == [count for _label, count in table_cells(html, "table-posts")]

    [reviews] = exported("reviews")
    assert (int(reviews["decisions"]), int(reviews["approved"]), int(reviews["rejected"])) == (2, 2, 0)
    assert float(reviews["median_seconds"]) == pytest.approx(
        figures["approval_turnaround"]["median_seconds"], abs=0.1) == pytest.approx(1800, abs=0.1)
    assert table_cells(html, "table-reviews")[0][:3] == ["2", "2", "0"]

    for name, key, table_id in (("guest-sessions", "guest_sessions", "table-guest-sessions"),
                                ("feed-items", "feed_items", "table-feed-items")):
        [row] = exported(name)
        assert {k: int(v) for k, v in row.items()} == figures[key]
        assert table_cells(html, table_id) == [list(row.values())]

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
        assert post.title == "Weekly summary Nov 9\u2009–\u200915, 2026"
        assert "- Deliveries sent: 2 of 3 (failed 1, unconfirmed 0, expired 0)" in post.body
        assert "- On time: 33%" in post.body
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
