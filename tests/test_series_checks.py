"""Approving a whole series runs every occurrence through the pre-publish checks: those that pass are
approved, those that fail stay in review and are reported (which target, and why), through the
service, the API and the series page; occurrences materialised later are checked the same way."""

import re
from datetime import time, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from planner.models import AuditEntry
from planner.services import posts as post_service
from planner.services import series as series_service
from planner.services.checks import checker_for
from planner.services.posts import PostInput
from planner.worker.series import materialise_series
from tests.api_client import ApiClient
from tests.conftest import START, csrf_from
from tests.review_helpers import channel, enable_kinds, set_rules
from tests.series_helpers import POOL, WEEKDAYS, deliveries_by_post, make_series, occurrence_posts

SHANGHAI = ZoneInfo("Asia/Shanghai")
LONG = "早" * 600  # over Mastodon's 500 characters, well within a WeCom group's 4096 bytes


@pytest.fixture
def team(st, make):
    enable_kinds(st)
    group = channel(st, "wecom", "Python learners group", tags=["python-groups"])
    return make.user("editor"), make.user("operator"), group


def approve(st, operator, series_id):
    with st.sessions() as session, session.begin():
        return series_service.approve_series(
            session, session.merge(operator), series_service.get_series(session, series_id),
            now=st.clock.now(), allow_self_approval=False, checker=checker_for(st, session))


def statuses(st, series_id):
    return [p.status for p in occurrence_posts(st, series_id)]


def test_occurrences_with_a_banned_word_stay_in_review_and_are_reported(st, team):
    editor, operator, _group = team
    series_id = make_series(st, editor, pool=["Good morning!", "Morning! Visit our casino", "Hi"])
    set_rules(st, banned=["casino"])
    result = approve(st, operator, series_id)

    made = occurrence_posts(st, series_id)
    # Occurrence i takes pool[i mod 3]: the 2nd, 5th and 8th carry the banned word.
    assert statuses(st, series_id) == ["approved", "in_review", "approved"] * 3 + ["approved"]
    held = [made[i].id for i in (1, 4, 7)]
    assert [h.post_id for h in result.held] == held
    assert sorted(result.approved) == sorted(p.id for p in made if p.id not in held)
    finding = result.held[0].findings[0]
    assert (finding.code, finding.channel_id, finding.message) == (
        "banned_words", None, "the post contains words the community's rules forbid: “casino”")
    assert result.held[0].scheduled_at == made[1].scheduled_at
    assert all(deliveries_by_post(st).get(post_id) is None for post_id in held)
    with st.sessions() as session:
        assert session.get(type(result.series), series_id).approved_at is not None
        entry = session.scalars(select(AuditEntry)
                                .where(AuditEntry.action == "series.approve")).one()
    assert entry.data["held"] == {str(post_id): [finding.message] for post_id in held}


def test_an_occurrence_too_long_for_one_target_names_that_target(st, team, make):
    editor, operator, group = team
    fedi = channel(st, "mastodon", "Fediverse", tags=["python-groups"])
    series_id = make_series(st, editor, pool=["Good morning!", LONG])
    result = approve(st, operator, series_id)
    assert statuses(st, series_id) == ["approved", "in_review"] * 5
    [finding] = result.held[0].findings
    assert (finding.code, finding.channel_id) == ("too_long", fedi.id)
    assert finding.message.startswith("Fediverse (Mastodon account) cannot take this post: ")
    assert group.id not in {f.channel_id for h in result.held for f in h.findings}


def test_occurrences_materialised_later_are_checked_too(st, team):
    editor, operator, _group = team
    series_id = make_series(st, editor, pool=["Good morning!", "Rise and shine ({weekday})"])
    approve(st, operator, series_id)
    assert set(statuses(st, series_id)) == {"approved"}
    set_rules(st, banned=["shine"])  # the rules change after the approval
    st.clock.advance(days=2)  # Wednesday: two more weekdays come within the horizon
    materialise_series(st)
    made = occurrence_posts(st, series_id)
    # Tuesday 8 December takes the first text; Wednesday the second, with the word now banned.
    assert [p.status for p in made[-2:]] == ["approved", "in_review"]
    assert "shine" in made[-1].body and deliveries_by_post(st).get(made[-1].id) is None
    with st.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "series.materialise")
                                .order_by(AuditEntry.id.desc())).first()
    assert entry.data["held"] == {str(made[-1].id): [
        "the post contains words the community's rules forbid: “shine”"]}


def test_the_api_lists_the_held_occurrences_with_their_findings(st, team, client):
    editor, operator, _group = team
    fedi = channel(st, "mastodon", "Fediverse", tags=["python-groups"])
    series_id = make_series(st, editor, pool=["Good morning!", LONG])
    api = ApiClient(st, client)
    answer = api.call("POST", f"/series/{series_id}/approve", operator, json={"comment": "ok"})
    assert answer.status_code == 200, answer.json
    made = occurrence_posts(st, series_id)
    assert answer.json["approved"] is True
    assert answer.json["approved_post_ids"] == [p.id for p in made[::2]]
    held = answer.json["held"]
    assert [h["post_id"] for h in held] == [p.id for p in made[1::2]]
    assert held[0]["scheduled_at"] == "2026-11-25T00:00:00Z"
    assert [(f["code"], f["severity"], f["channel_id"]) for f in held[0]["findings"]] == [
        ("too_long", "error", fedi.id)]
    assert api.call("GET", f"/posts/{made[1].id}", operator).json["status"] == "in_review"


def test_the_series_page_says_which_occurrences_stay_in_review(st, team, auth, client):
    editor, operator, _group = team
    series_id = make_series(st, editor, title="Morning", pool=["Good morning!", "Visit our casino"])
    set_rules(st, banned=["casino"])
    auth.login(operator.email)
    page = client.get(f"/series/{series_id}").get_data(as_text=True)
    done = client.post(f"/series/{series_id}/approve", follow_redirects=True,
                       data={"csrf_token": csrf_from(page)})
    text = unescape(done.get_data(as_text=True))
    assert "Series approved: 5 occurrence(s) approved; 5 stay in review" in text
    held = re.findall(r"“Morning” \(([^)]+)\) stays in review: the post contains words the "
                      r"community's rules forbid: “casino”", text)
    assert len(held) == 5 and "2026" in held[0]  # each with its time, as the reader writes times
    assert statuses(st, series_id) == ["approved", "in_review"] * 5


def test_moving_an_approved_series_sends_back_only_the_occurrences_that_break_the_rules(
        st, team, auth, client):
    editor, operator, group = team
    series_id = make_series(st, editor)  # weekdays 08:00 Asia/Shanghai from Tuesday 24 November
    approve(st, operator, series_id)
    thursday_tip = START + timedelta(days=3, hours=2)  # Thursday 26 November, 10:00 in Shanghai
    with st.sessions() as session, session.begin():
        tip = post_service.create_post(session, session.merge(editor), PostInput(
            kind="tutorial", title="Weekly tip", body="Body", scheduled_at=thursday_tip,
            channel_ids=[group.id]), now=st.clock.now())
        post_service.submit(session, session.merge(editor), tip, now=st.clock.now())
        post_service.approve(session, session.merge(operator), tip, now=st.clock.now(),
                             allow_self_approval=False)
    set_rules(st, gap=120)  # two hours between posts to one group, from now on

    auth.login(editor.email)  # the editor moves the greeting to 09:30, changing nothing else
    page = client.get(f"/series/{series_id}/edit").get_data(as_text=True)
    saved = client.post(f"/series/{series_id}/edit", follow_redirects=True, data={
        "csrf_token": csrf_from(page), "kind": "greeting", "title": "Good morning {date}",
        "rrule": WEEKDAYS, "timezone": "Asia/Shanghai", "starts_at": "2026-11-24T09:30",
        "template": "{text}", "pool": "\n---\n".join(POOL), "tags": "python-groups"})
    assert "1 approved occurrence(s) went back to review: the posting rules do not allow them at " \
           "their new time." in unescape(saved.get_data(as_text=True))

    made = occurrence_posts(st, series_id)
    assert {p.scheduled_at.astimezone(SHANGHAI).time() for p in made} == {time(9, 30)}
    [moved_too_close] = [p for p in made if p.scheduled_at == thursday_tip - timedelta(minutes=30)]
    # Only Thursday's greeting, half an hour before the tip, lost its approval; its deliveries wait.
    assert [p.id for p in made if p.status == "in_review"] == [moved_too_close.id]
    assert set(deliveries_by_post(st)[moved_too_close.id]) == {"canceled"}
    assert all(set(deliveries_by_post(st)[p.id]) == {"pending"} for p in made if p.status == "approved")
    with st.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "post.return_to_review")).one()
    assert (entry.subject_id, entry.actor_label, entry.data["status_before"], entry.data["status_after"]) == (
        moved_too_close.id, editor.email, "approved", "in_review")
    assert entry.data["comment"].startswith("the series moved it to a time that breaks the posting rules: ")
    with st.sessions() as session:
        update = session.scalars(select(AuditEntry).where(AuditEntry.action == "series.update")).one()
    assert update.data["returned_to_review"] == [moved_too_close.id]
    assert not update.data["approval_withdrawn"]
