"""Series occurrences as posts: materialised once up to the horizon, approved with the series, edited
one at a time or all future ones together, ended and deleted."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from planner.errors import Conflict, PermissionDenied
from planner.models import AuditEntry, Delivery, Post, Series
from planner.services import posts as post_service
from planner.services import series as series_service
from planner.services.checks import checker_for
from planner.services.posts import PostInput
from planner.worker.series import materialise_series
from tests.conftest import START
from tests.series_helpers import (
    POOL,
    deliveries_by_post,
    make_series,
    occurrence_posts,
)

FIRST = START + timedelta(days=1)  # Tuesday 24 November, 08:00 in Shanghai


@pytest.fixture
def team(make):
    make.channel("Python learners group 1", tags=["python-groups"])
    make.channel("Python learners group 2", tags=["python-groups"])
    return make.user("editor"), make.user("operator")


def test_occurrences_are_materialised_up_to_the_horizon_once(st, team):
    editor, _operator = team
    series_id = make_series(st, editor)
    made = occurrence_posts(st, series_id)
    # Weekdays from Tue 24 Nov to Mon 7 Dec (14 days ahead, inclusive): 4 + 5 + 1.
    assert len(made) == 10
    assert made[0].scheduled_at == made[0].occurrence_at == FIRST
    assert {p.status for p in made} == {"in_review"}
    assert {p.scheduled_at.astimezone(UTC).strftime("%H:%M") for p in made} == {"00:00"}
    assert [p.body for p in made[:4]] == [POOL[0], "Good morning, Our community!",
                                          "Rise and shine (Thursday)", POOL[0]]
    assert made[0].title == "Good morning November 24, 2026"

    materialise_series(st)  # nothing new is due yet
    assert len(occurrence_posts(st, series_id)) == 10
    st.clock.advance(days=1)
    materialise_series(st)
    materialise_series(st)
    made = occurrence_posts(st, series_id)
    assert len(made) == 11 and made[-1].occurrence_at == FIRST + timedelta(days=14)
    with st.sessions() as session:
        assert session.get(Series, series_id).next_occurrence_at == FIRST + timedelta(days=15)


def test_horizon_is_configurable(st, team):
    st.config["SERIES_HORIZON_DAYS"] = 3
    series_id = make_series(st, team[0])
    assert len(occurrence_posts(st, series_id)) == 3  # Tue, Wed, Thu


def test_rotation_follows_the_position_in_the_rule_not_the_posts(st, team):
    editor, operator = team
    series_id = make_series(st, editor)
    second = occurrence_posts(st, series_id)[1]
    with st.sessions() as session, session.begin():
        post = session.get(Post, second.id)
        post_service.reject(session, session.merge(operator), post, now=st.clock.now(),
                            allow_self_approval=False, comment="skip this day")
        post_service.delete(session, session.merge(editor), post, now=st.clock.now())
    st.clock.advance(days=7)
    materialise_series(st)
    made = occurrence_posts(st, series_id)
    assert second.occurrence_at not in {p.occurrence_at for p in made}  # not written again
    bodies = [p.body for p in made]
    assert all(a != b for a, b in zip(bodies, bodies[1:], strict=False))
    assert made[1].body == "Rise and shine (Thursday)"  # the third text: its place in the rule


def test_approving_the_series_approves_its_occurrences_and_the_dispatcher_sends_them(
        st, team, tick):
    editor, operator = team
    series_id = make_series(st, editor)
    with st.sessions() as session, session.begin():
        series_service.approve_series(session, session.merge(operator),
                                      series_service.get_series(session, series_id),
                                      now=st.clock.now(), allow_self_approval=False,
                                      checker=checker_for(st, session))
    made = occurrence_posts(st, series_id)
    assert {p.status for p in made} == {"approved"}
    assert all(deliveries_by_post(st)[p.id] == ["pending", "pending"] for p in made)
    with st.sessions() as session, session.begin(), pytest.raises(Conflict) as error:
        series_service.approve_series(session, session.merge(operator),
                                      series_service.get_series(session, series_id),
                                      now=st.clock.now(), allow_self_approval=False,
                                      checker=checker_for(st, session))
    assert error.value.message == f"series {series_id} is already approved"

    st.clock.advance(days=1)
    materialise_series(st)
    newest = occurrence_posts(st, series_id)[-1]
    assert newest.status == "approved"
    assert deliveries_by_post(st)[newest.id] == ["pending", "pending"]

    st.clock.set(FIRST)
    assert tick().sent == 2
    assert tick().sent == 0
    assert sorted(deliveries_by_post(st)[made[0].id]) == ["sent", "sent"]
    assert occurrence_posts(st, series_id)[0].status == "published"


def test_only_operators_approve_and_never_their_own_series(st, team, make):
    editor, operator = team
    series_id = make_series(st, editor)
    own = make_series(st, operator)
    with st.sessions() as session, session.begin():
        with pytest.raises(PermissionDenied) as error:
            series_service.approve_series(session, session.merge(editor),
                                          series_service.get_series(session, series_id),
                                          now=st.clock.now(), allow_self_approval=False,
                                      checker=checker_for(st, session))
        assert error.value.message == "only operators may approve a series"
        with pytest.raises(PermissionDenied) as error:
            series_service.approve_series(session, session.merge(operator),
                                          series_service.get_series(session, own),
                                          now=st.clock.now(), allow_self_approval=False,
                                      checker=checker_for(st, session))
        assert error.value.message.startswith(f"you wrote series {own}; another operator")
    assert {p.status for p in occurrence_posts(st, series_id)} == {"in_review"}


def update(st, user, series_id, **changes):
    with st.sessions() as session, session.begin():
        series = series_service.get_series(session, series_id, for_change=True)
        data = series_service.input_of(series)
        for name, value in changes.items():
            setattr(data, name, value)
        series_service.update_series(session, session.merge(user), series, data,
                                     now=st.clock.now(), config=st.config,
                                     checker=checker_for(st, session))


def approve(st, operator, series_id):
    with st.sessions() as session, session.begin():
        series_service.approve_series(session, session.merge(operator),
                                      series_service.get_series(session, series_id),
                                      now=st.clock.now(), allow_self_approval=False,
                                      checker=checker_for(st, session))


def test_edit_one_occurrence_then_all_future_ones(st, team):
    editor, operator = team
    series_id = make_series(st, editor)
    approve(st, operator, series_id)
    one = occurrence_posts(st, series_id)[2]
    with st.sessions() as session, session.begin():
        post = session.get(Post, one.id)
        post_service.update_post(session, session.merge(editor), post, PostInput(
            kind="greeting", title="Happy Thanksgiving", body="Thankful for this group 🍂",
            scheduled_at=post.scheduled_at, tags=["python-groups"]), now=st.clock.now())
    assert occurrence_posts(st, series_id)[2].detached

    update(st, editor, series_id, pool=["New text A", "New text B"])
    made = occurrence_posts(st, series_id)
    assert made[2].title == "Happy Thanksgiving" and made[2].body == "Thankful for this group 🍂"
    others = [p for p in made if p.id != one.id]
    assert [p.body for p in others[:3]] == ["New text A", "New text B", "New text B"]
    assert {p.status for p in others} == {"in_review"}  # the text changed: back to review
    assert {s for p in others for s in deliveries_by_post(st)[p.id]} == {"canceled"}
    with st.sessions() as session:
        assert session.get(Series, series_id).approved_at is None
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "series.update")).one()
        assert entry.data["approval_withdrawn"] is True


def test_moving_only_the_time_keeps_the_approval(st, team):
    editor, operator = team
    series_id = make_series(st, editor)
    approve(st, operator, series_id)
    update(st, editor, series_id, starts_at=FIRST + timedelta(hours=1))  # 09:00 in Shanghai
    made = occurrence_posts(st, series_id)
    assert len(made) == 10
    assert {p.status for p in made} == {"approved"}
    assert {p.scheduled_at.strftime("%H:%M") for p in made} == {"01:00"}
    assert made[0].occurrence_at == made[0].scheduled_at == FIRST + timedelta(hours=1)
    with st.sessions() as session:
        assert session.get(Series, series_id).approved_at is not None
        dues = {d.due_at for d in session.scalars(select(Delivery).where(
            Delivery.post_id == made[0].id))}
    assert dues == {FIRST + timedelta(hours=1)}


def test_a_shorter_rule_cancels_the_occurrences_it_no_longer_has(st, team):
    editor, _operator = team
    series_id = make_series(st, editor)
    update(st, editor, series_id, rrule=WEEKDAYS_COUNT_3)
    statuses = [p.status for p in occurrence_posts(st, series_id)]
    assert statuses == ["in_review"] * 3 + ["canceled"] * 7


WEEKDAYS_COUNT_3 = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;COUNT=3"


def test_ending_a_series_cancels_what_is_ahead(st, team):
    editor, operator = team
    series_id = make_series(st, editor)
    approve(st, operator, series_id)
    with st.sessions() as session, session.begin(), pytest.raises(PermissionDenied) as error:
        series_service.end_series(session, session.merge(editor),
                                  series_service.get_series(session, series_id), now=st.clock.now())
    assert "only an operator may cancel them" in error.value.message
    st.clock.set(FIRST + timedelta(hours=1))  # the first one is out
    with st.sessions() as session, session.begin():
        series_service.end_series(session, session.merge(operator),
                                  series_service.get_series(session, series_id), now=st.clock.now())
    made = occurrence_posts(st, series_id)
    assert [p.status for p in made[:2]] == ["approved", "canceled"]
    st.clock.advance(days=3)
    materialise_series(st)
    assert len(occurrence_posts(st, series_id)) == 10
    with st.sessions() as session:
        assert session.get(Series, series_id).status == "ended"


def test_deleting_a_series_cancels_its_occurrences_and_keeps_them_as_posts(st, team):
    editor, _operator = team
    series_id = make_series(st, editor)
    ids = [p.id for p in occurrence_posts(st, series_id)]
    with st.sessions() as session, session.begin():
        series_service.delete_series(session, session.merge(editor),
                                     series_service.get_series(session, series_id),
                                     now=st.clock.now())
    with st.sessions() as session:
        assert session.get(Series, series_id) is None
        left = list(session.scalars(select(Post).where(Post.id.in_(ids))))
    assert {(p.status, p.series_id) for p in left} == {("canceled", None)}


def test_projected_occurrences_are_those_not_yet_posts(st, team):
    editor, _operator = team
    series_id = make_series(st, editor)
    with st.sessions() as session:
        month = series_service.projected_occurrences(session, START, START + timedelta(days=30))
        assert series_service.projected_occurrences(session, START, START + timedelta(days=14)) == []
    assert [item["scheduled_at"] for item in month][:2] == [FIRST + timedelta(days=14),
                                                           FIRST + timedelta(days=15)]
    assert {item["series_id"] for item in month} == {series_id}
    assert month[0]["title"] == "Good morning December 8, 2026" and month[0]["post_id"] is None


def test_two_dispatchers_materialise_each_occurrence_once(st, team):
    editor, _operator = team
    st.config["SERIES_HORIZON_DAYS"] = 1
    series_id = make_series(st, editor)
    st.config["SERIES_HORIZON_DAYS"] = 14
    if st.engine.dialect.name == "sqlite":
        materialise_series(st)
        materialise_series(st)
    else:
        with st.sessions() as first, first.begin():
            made = series_service.materialise_due(first, now=st.clock.now(), config=st.config,
                                                  checker=checker_for(st, first))
            assert len(made) == 9
            with st.sessions() as second, second.begin():  # the row is held: skipped, not waited on
                assert series_service.materialise_due(second, now=st.clock.now(),
                                                      config=st.config,
                                                      checker=checker_for(st, second)) == []
        materialise_series(st)
    made = occurrence_posts(st, series_id)
    assert len(made) == len({p.occurrence_at for p in made}) == 10
    assert made[-1].occurrence_at == datetime(2026, 12, 7, tzinfo=UTC)


def test_an_editor_cannot_drop_approved_occurrences_by_shortening_the_rule(st, team):
    editor, operator = team
    series_id = make_series(st, editor)
    approve(st, operator, series_id)
    with pytest.raises(PermissionDenied) as error:
        update(st, editor, series_id, rrule=WEEKDAYS_COUNT_3)
    assert error.value.message == (f"the new rule drops approved occurrences of series {series_id}; "
                                   "only an operator may cancel them")
    assert {p.status for p in occurrence_posts(st, series_id)} == {"approved"}
    update(st, operator, series_id, rrule=WEEKDAYS_COUNT_3)
    assert [p.status for p in occurrence_posts(st, series_id)] == ["approved"] * 3 + ["canceled"] * 7


def test_the_dispatcher_materialises_series_on_its_clock(st):
    from planner.worker.runner import DispatcherService

    service = DispatcherService(st)
    service.start()
    try:
        job = service.scheduler.get_job("series")
        assert job is not None and job.trigger.interval == timedelta(seconds=60)
    finally:
        service.stop()


def test_dispatchers_racing_write_each_occurrence_once(st, team, caplog):
    import threading

    st.config["SERIES_HORIZON_DAYS"] = 1
    series_id = make_series(st, team[0])
    st.config["SERIES_HORIZON_DAYS"] = 14
    start = threading.Barrier(3, timeout=30)

    def dispatcher():
        start.wait()
        materialise_series(st)

    threads = [threading.Thread(target=dispatcher) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    made = occurrence_posts(st, series_id)
    assert len(made) == len({p.occurrence_at for p in made}) == 10
    assert "materialising series failed" not in caplog.text


def test_weekdays_and_dates_are_written_in_the_authors_language(st, team):
    editor, _operator = team
    editor.locale = "zh_Hans_CN"  # saved with the series' author (make_series merges it)
    series_id = make_series(st, editor)
    made = occurrence_posts(st, series_id)
    assert made[0].title == "Good morning 2026年11月24日"
    assert made[2].body == "Rise and shine (星期四)"
    with st.sessions() as session:
        ahead = series_service.projected_occurrences(session, START, START + timedelta(days=30))
        assert session.get(Series, series_id).author.locale == "zh_Hans_CN"
    assert ahead[0]["title"] == "Good morning 2026年12月8日"
