"""Reading posts from CSV files: every rule of the post editor, all or nothing, row by row."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from planner.models import AuditEntry, Post, PostTag, post_channels
from planner.services.post_csv import ImportRefused
from planner.services.post_import import import_posts

SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER = "kind,title,body,scheduled_at,expires_at,channels,tags\n"
TOMORROW = "2026-11-24T08:00+08:00"  # the clock starts at 2026-11-23 08:00 in Shanghai


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


@pytest.fixture
def editor(make):
    return make.user("editor")


def run(st, user, content, *, submit=False, max_bytes=1024 * 1024, max_rows=1000):
    data = content.encode() if isinstance(content, str) else content
    with st.sessions() as session, session.begin():
        posts = import_posts(session, session.merge(user), data, tz=SHANGHAI, now=st.clock.now(),
                             submit=submit, max_bytes=max_bytes, max_rows=max_rows)
        return [p.id for p in posts]


def refused(st, user, content, **options):
    before = counts(st)
    with pytest.raises(ImportRefused) as caught:
        run(st, user, content, **options)
    assert counts(st) == before, "a refused file must leave nothing behind"
    return caught.value.fields


def counts(st):
    with st.sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(table))
                     for table in (Post, PostTag, post_channels, AuditEntry))


def posts_by_id(st, ids):
    with st.sessions() as session:
        found = session.scalars(select(Post).where(Post.id.in_(ids)).order_by(Post.id)).all()
        return [(p.kind, p.title, p.body, p.status, p.author_id, p.scheduled_at, p.expires_at,
                 [c.name for c in p.channels], p.tags) for p in found]


def test_a_file_becomes_drafts_with_channels_tags_and_multiline_markdown(ctx, st, make, editor):
    make.channel("Python learners 1")
    make.channel("Python learners 2")
    content = HEADER + (
        f'tutorial,列表推导式,"# 列表推导式\n\n- 简洁\n- **快**, 还有 ""引号""",{TOMORROW},'
        f'2026-11-24T12:00+08:00,Python learners 1; python learners 2,python-groups|weekly\n'
        f'greeting,Good morning,早上好！,2026-11-25 08:00,,,\n'
        '\n'
        f',,,,,,\n'
        f'share,Unscheduled share,See https://example.com,,,Python learners 2,\n')
    ids = run(st, editor, content)
    at8 = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    assert posts_by_id(st, ids) == [
        ("tutorial", "列表推导式", '# 列表推导式\n\n- 简洁\n- **快**, 还有 "引号"', "draft", editor.id,
         at8, at8 + timedelta(hours=4), ["Python learners 1", "Python learners 2"],
         ["python-groups", "weekly"]),
        ("greeting", "Good morning", "早上好！", "draft", editor.id, at8 + timedelta(days=1), None,
         [], []),
        ("share", "Unscheduled share", "See https://example.com", "draft", editor.id, None, None,
         ["Python learners 2"], []),
    ]
    with st.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "post.import")).one()
        assert entry.data == {"count": 3, "submitted": False, "post_ids": ids}


def test_excel_files_with_a_bom_semicolons_or_tabs_and_crlf(ctx, st, make, editor):
    make.channel("Group A")
    semicolons = ("\ufeffKind;Title;Body;Scheduled_At;Channels\r\n"
                  'tutorial;Tip;"line 1\r\nline 2";2026/11/24 8:00;Group A\r\n')
    ids = run(st, editor, semicolons.encode("utf-8"))
    assert posts_by_id(st, ids)[0][1:3] == ("Tip", "line 1\nline 2")
    assert posts_by_id(st, ids)[0][5] == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    tabs = "kind\ttitle\tbody\ngreeting\tHi, all\tGood morning; everyone\n"
    assert posts_by_id(st, run(st, editor, tabs))[0][1:3] == ("Hi, all", "Good morning; everyone")


def test_every_bad_row_and_column_is_reported_and_nothing_is_imported(ctx, st, make, editor):
    make.channel("Group A")
    content = HEADER + "\n".join([
        f"tutorial,Fine,Body,{TOMORROW},,Group A,",
        f"lecture,Bad kind,Body,{TOMORROW},,,",
        "tutorial,Garbled,Body,next tuesday,2026-11-24T09:00+08:00,,",
        "tutorial,Past,Body,2026-11-22T08:00+08:00,,,",
        f"tutorial,Unknown channel,Body,{TOMORROW},,Group A; Group Z|Nope,",
        f"tutorial,,Body,{TOMORROW},,,",
        f"tutorial,{'x' * 201},Body,{TOMORROW},,,",
        f"tutorial,Expiry first,Body,{TOMORROW},2026-11-24T07:00+08:00,,Bad!Tag",
        f"share,No body,   ,{TOMORROW},,,",
    ]) + "\n"
    assert refused(st, editor, content) == {
        "row 3.kind": "kind must be one of tutorial, share, greeting, guest_session, announcement",
        "row 4.scheduled_at": "not a date and time: 'next tuesday' (write e.g. 2026-11-23T08:00+08:00, "
                              "or 2026-11-23 08:00 in the workspace timezone)",
        "row 5.scheduled_at": "the publish time is in the past",
        "row 6.channels": "no channel is called 'Group Z', 'Nope'",
        "row 7.title": "a title is required",
        "row 8.title": "the title is 201 characters; at most 200",
        "row 9.expires_at": "the expiry must be after the publish time",
        "row 9.tags": "not a tag: 'bad!tag' (lower-case letters, digits, - and _, at most 50)",
        "row 10.body": "the body is empty",
    }


def test_the_last_row_failing_keeps_every_earlier_row_out(ctx, st, make, editor):
    make.channel("Group A")
    good = "".join(f"tutorial,Post {i},Body {i},{TOMORROW},,Group A,weekly\n" for i in range(200))
    fields = refused(st, editor, HEADER + good + f"tutorial,Last,Body,{TOMORROW},,Group B,\n")
    assert fields == {"row 202.channels": "no channel is called 'Group B'"}
    # the same rows without the bad one go in: the refusal was about that row only
    assert len(run(st, editor, HEADER + good)) == 200


def test_submitting_on_import_needs_each_post_ready_for_review(ctx, st, make, editor):
    make.channel("Group A", tags=["python-groups"])
    ready = f"tutorial,Ready,Body,{TOMORROW},,,python-groups\n"
    fields = refused(st, editor, HEADER + ready + "tutorial,No time,Body,,,,\n", submit=True)
    assert fields == {
        "row 3.scheduled_at": "set a publish time first",
        "row 3.channels": "choose at least one enabled channel, or a tag that enabled channels carry",
    }
    ids = run(st, editor, HEADER + ready, submit=True)
    assert posts_by_id(st, ids)[0][3] == "in_review"


@pytest.mark.parametrize(("content", "fields"), [
    ("", {"file": "the file is empty; the first row must name the columns: "
                  "kind,title,body,scheduled_at,expires_at,channels,tags"}),
    ("\ufeff  \r\n", {"file": "the file is empty; the first row must name the columns: "
                              "kind,title,body,scheduled_at,expires_at,channels,tags"}),
    (HEADER, {"file": "the file has a header but no posts"}),
    (HEADER + ",,,,,,\n\n", {"file": "the file has a header but no posts"}),
    ("kind,title,body,title\ntutorial,a,b,c\n", {"row 1.title": "the column title appears twice"}),
    ("kind,title,body,author,\ntutorial,a,b,me,\n", {
        "row 1.author": "unknown column 'author' (column 4); the columns are: "
                        "kind, title, body, scheduled_at, expires_at, channels, tags",
        "row 1.#5": "unknown column '' (column 5); the columns are: "
                    "kind, title, body, scheduled_at, expires_at, channels, tags"}),
    ("kind,body\ntutorial,b\n", {"row 1.title": "the column title is missing"}),
    ("kind,title,body\ntutorial,a\n", {"row 2.body": "the body is empty"}),
    ("kind,title,body\ntutorial,a,b,extra\n",
     {"row 2": "the row has 4 cells but the header names 3 columns"}),
    ('kind,title,body\ntutorial,"a"b,c\n',
     {"row 2": "the CSV cannot be read from here on: ',' expected after '\"'"}),
    ("kind,title,body\ngreeting,早上好,大家好\n".encode("gbk"),
     {"file": "the file is not UTF-8 text (byte 26); in Excel choose \"CSV UTF-8 (comma delimited)\" "
              "when saving"}),
])
def test_unusable_files_say_why(ctx, st, editor, content, fields):
    assert refused(st, editor, content) == fields


def test_size_limits(ctx, st, editor):
    rows = "".join(f"greeting,Hello {i},Body\n" for i in range(4))
    assert refused(st, editor, "kind,title,body\n" + rows, max_rows=3) == {
        "file": "the file has more than 3 posts; split it into smaller files"}
    assert len(run(st, editor, "kind,title,body\n" + rows, max_rows=4)) == 4
    assert refused(st, editor, "kind,title,body\n" + "greeting,x," + "y" * 3000 + "\n",
                   max_bytes=2048) == {
        "file": "the file is 3 KB; at most 2 KB can be imported at once"}
