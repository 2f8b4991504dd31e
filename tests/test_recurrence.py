"""Recurrence rules on local wall-clock time: daylight saving, month ends, leap days, COUNT and UNTIL,
rotation through the pool and the template variables."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from planner.services.recurrence import (
    Occurrence,
    RuleError,
    Schedule,
    check_text,
    occurrences,
    render_occurrence,
    zone,
)

NEW_YORK = ZoneInfo("America/New_York")


def local_times(rule, tz, starts_at, **bounds):
    return [o.local.replace(tzinfo=None) for o in occurrences(Schedule(rule, tz, starts_at), **bounds)]


def test_daylight_saving_keeps_the_local_time_in_new_york():
    starts = datetime(2026, 3, 6, 8, 0, tzinfo=NEW_YORK)  # a Friday, still on EST (UTC-5)
    found = list(occurrences(Schedule("FREQ=DAILY;COUNT=4", "America/New_York", starts)))
    assert [o.local.strftime("%m-%d %H:%M") for o in found] == [
        "03-06 08:00", "03-07 08:00", "03-08 08:00", "03-09 08:00"]
    # 08:00 stays 08:00: 13:00 UTC before the change, 12:00 UTC after it.
    assert [o.at.hour for o in found] == [13, 13, 12, 12]
    autumn = datetime(2026, 10, 31, 8, 0, tzinfo=NEW_YORK)
    found = list(occurrences(Schedule("FREQ=DAILY;COUNT=2", "America/New_York", autumn)))
    assert [(o.local.hour, o.at.hour) for o in found] == [(8, 12), (8, 13)]


def test_shanghai_has_no_daylight_saving():
    starts = datetime(2026, 3, 6, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    found = occurrences(Schedule("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;COUNT=30", "Asia/Shanghai", starts))
    assert {o.at.strftime("%H:%M") for o in found} == {"00:00"}


def test_a_time_skipped_in_spring_moves_to_the_first_time_after_the_gap():
    starts = datetime(2026, 3, 7, 2, 30, tzinfo=NEW_YORK)
    found = list(occurrences(Schedule("FREQ=DAILY;COUNT=3", "America/New_York", starts)))
    # 8 March 2026 has no 02:30 in New York: clocks jump from 02:00 to 03:00.
    assert [o.local.strftime("%d %H:%M %Z") for o in found] == [
        "07 02:30 EST", "08 03:00 EDT", "09 02:30 EDT"]
    assert found[1].at == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def test_an_hour_repeated_in_autumn_is_taken_once_the_first_time():
    starts = datetime(2026, 10, 31, 1, 30, tzinfo=NEW_YORK)
    found = list(occurrences(Schedule("FREQ=DAILY;COUNT=3", "America/New_York", starts)))
    assert [o.at for o in found] == [datetime(2026, 10, 31, 5, 30, tzinfo=UTC),
                                     datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # 01:30 EDT
                                     datetime(2026, 11, 2, 6, 30, tzinfo=UTC)]


def test_hourly_rule_across_the_spring_gap_sends_each_instant_once():
    starts = datetime(2026, 3, 8, 0, 0, tzinfo=NEW_YORK)
    found = list(occurrences(Schedule("FREQ=HOURLY;COUNT=5", "America/New_York", starts)))
    assert [o.local.strftime("%H:%M") for o in found] == ["00:00", "01:00", "03:00", "04:00"]
    assert [o.index for o in found] == [0, 1, 2, 4]  # positions in the rule stay put


def test_month_ends():
    starts = datetime(2026, 1, 1, 9, 0, tzinfo=NEW_YORK)
    assert [d.date().isoformat() for d in local_times(
        "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=4", "America/New_York", starts)] == [
        "2026-01-31", "2026-03-31", "2026-05-31", "2026-07-31"]  # months without a 31st are skipped
    assert [d.date().isoformat() for d in local_times(
        "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3", "America/New_York", starts)] == [
        "2026-01-31", "2026-02-28", "2026-03-31"]


def test_leap_day_comes_every_four_years():
    starts = datetime(2026, 1, 1, 8, 0, tzinfo=NEW_YORK)
    assert [d.date().isoformat() for d in local_times(
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=3", "America/New_York", starts)] == [
        "2028-02-29", "2032-02-29", "2036-02-29"]


def test_count_and_until():
    starts = datetime(2026, 11, 23, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert len(local_times("FREQ=DAILY;COUNT=5", "Asia/Shanghai", starts)) == 5
    # UNTIL in UTC: 2026-11-26T00:00Z is 08:00 in Shanghai, so the 26th is included.
    until = local_times("RRULE:FREQ=DAILY;UNTIL=20261126T000000Z", "Asia/Shanghai", starts)
    assert [d.day for d in until] == [23, 24, 25, 26]
    assert [d.day for d in local_times("FREQ=DAILY;UNTIL=20261125", "Asia/Shanghai", starts)] == [
        23, 24]


def test_bounds_are_utc_and_half_open():
    starts = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    found = list(occurrences(Schedule("FREQ=DAILY", "UTC", starts), start=starts + timedelta(days=1),
                             end=starts + timedelta(days=3)))
    assert [(o.index, o.at.day) for o in found] == [(1, 24), (2, 25)]


@pytest.mark.parametrize("rule, message", [
    ("", "give a recurrence rule, e.g. FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
    ("FREQ=FORTNIGHTLY", "the rule needs FREQ, one of YEARLY, MONTHLY, WEEKLY, DAILY, HOURLY "
     "(e.g. FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR)"),
    ("FREQ=MINUTELY", "the rule needs FREQ, one of YEARLY, MONTHLY, WEEKLY, DAILY, HOURLY "
     "(e.g. FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR)"),
    ("FREQ=DAILY;BYDAY=XX", "not a valid RRULE (invalid 'BYDAY': XX); e.g. "
     "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
    ("FREQ=DAILY;COUNT=2;UNTIL=20261201", "give COUNT or UNTIL, not both"),
    ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be a whole number of at least 1"),
    ("DTSTART:20261123T080000\nRRULE:FREQ=DAILY", "give one RRULE line only; the first occurrence "
     "comes from starts_at"),
    ("FREQ=DAILY;DTSTART=20261123", "leave DTSTART out of the rule; the first occurrence comes "
     "from starts_at"),
])
def test_bad_rules_say_why(rule, message):
    with pytest.raises(RuleError) as error:
        list(occurrences(Schedule(rule, "UTC", datetime(2026, 11, 23, tzinfo=UTC))))
    assert error.value.message == message


def test_unknown_timezone():
    with pytest.raises(RuleError) as error:
        zone("Mars/Olympus")
    assert error.value.message == ("unknown timezone Mars/Olympus; use an IANA name such as "
                                   "Asia/Shanghai or America/New_York")


def sample(index, day=23):
    local = datetime(2026, 11, day, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    return Occurrence(index=index, at=local.astimezone(UTC), local=local)


def test_rotation_never_repeats_a_text_twice_in_a_row():
    pool = ["早上好 {weekday}!", "Good morning, {community}", "Rise and shine"]
    bodies = [render_occurrence("Greeting {date}", "{text}", pool, sample(i), "Python learners")[1]
              for i in range(7)]
    assert all(a != b for a, b in zip(bodies, bodies[1:], strict=False))
    assert bodies[:4] == ["早上好 Monday!", "Good morning, Python learners", "Rise and shine",
                          "早上好 Monday!"]


def test_template_variables_and_literal_braces():
    title, body = render_occurrence(
        "{weekday} {date}", "{community} at {time}: {text} {{not a variable}}", ["hi"],
        sample(0, day=25), "Python learners")
    assert title == "Wednesday November 25, 2026"
    assert body == "Python learners at 08:00: hi {not a variable}"


@pytest.mark.parametrize("text, allow_text, message", [
    ("Hello {name}", True, "unknown variable(s) {name}; use {date}, {weekday}, {time}, "
     "{community}, {text}, and {{ and }} for literal braces"),
    ("{text}", False, "unknown variable(s) {text}; use {date}, {weekday}, {time}, {community}, "
     "and {{ and }} for literal braces"),
    ("{date:%Y}", True, "unknown variable(s) {date:%Y}; use {date}, {weekday}, {time}, "
     "{community}, {text}, and {{ and }} for literal braces"),
    ("{}", True, "unknown variable(s) {}; use {date}, {weekday}, {time}, {community}, {text}, "
     "and {{ and }} for literal braces"),
    ("a { b", True, "a brace is not closed; write {{ and }} for literal braces"),
])
def test_unknown_variables_are_refused(text, allow_text, message):
    with pytest.raises(RuleError) as error:
        check_text(text, allow_text=allow_text)
    assert error.value.message == message


@pytest.mark.parametrize(("language", "title"), [
    ("zh_Hans_CN", "星期三 · 2026年11月25日"),
    ("zh-CN", "星期三 · 2026年11月25日"),
    ("de", "Mittwoch · 25. November 2026"),
    ("en", "Wednesday · November 25, 2026"),
    (None, "Wednesday · November 25, 2026"),
    ("xx_NOWHERE", "Wednesday · November 25, 2026"),  # an unknown code never stops a series
])
def test_weekday_and_date_are_written_in_the_series_language(language, title):
    rendered, body = render_occurrence("{weekday} · {date}", "{text}", ["早上好，{weekday}！"],
                                       sample(0, day=25), "Python learners", language)
    assert rendered == title
    assert body == f"早上好，{title.split(' · ')[0]}！"
