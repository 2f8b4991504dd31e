"""CSV import and export through the page and the API: who may, all or nothing, and a clean round trip."""

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from planner.models import AuditEntry, Post
from planner.services import users
from tests.conftest import csrf_from

HEADER = "kind,title,body,scheduled_at,expires_at,channels,tags\n"
GOOD = HEADER + "tutorial,Tip,Use **f-strings**.,2026-11-24T08:00+08:00,,Group A,weekly\n"
BAD = GOOD + "lecture,Bad,Body,2026-11-24T08:00+08:00,,Group Z,\n"


def counts(st):
    with st.sessions() as session:
        return (session.scalar(select(func.count()).select_from(Post)),
                session.scalar(select(func.count()).select_from(AuditEntry)))


@pytest.fixture
def bearer(st):
    def token_for(user):
        with st.sessions() as session, session.begin():
            return {"Authorization": "Bearer " + users.create_token(session, session.merge(user),
                                                                    now=st.clock.now())}
    return token_for


def upload(text, name="posts.csv"):
    return (io.BytesIO(text.encode("utf-8")), name)


def test_the_import_page_imports_a_file_and_lists_the_posts(st, make, auth, client):
    editor = make.user("editor")
    make.channel("Group A")
    auth.login(editor.email)
    page = client.get("/posts/import")
    assert page.status_code == 200 and b"kind,title,body,scheduled_at" in page.data
    response = client.post("/posts/import", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "file": upload(GOOD),
        "submit_all": "y"}, content_type="multipart/form-data")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Imported 1 post(s)." in html and "Tip" in html and "In review" in html
    with st.sessions() as session:
        post = session.scalars(select(Post)).one()
        assert (post.title, post.status, post.author_id) == ("Tip", "in_review", editor.id)


def test_the_import_page_shows_every_problem_and_imports_nothing(st, make, auth, client):
    editor = make.user("editor")
    make.channel("Group A")
    auth.login(editor.email)
    before = counts(st)
    response = client.post("/posts/import", data={
        "csrf_token": auth.token("/posts/import"), "file": upload(BAD)},
        content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Nothing was imported" in html
    assert '<td>3</td><td>kind</td><td class="message">kind must be one of' in html
    assert ('<td>3</td><td>channels</td><td class="message">no channel is called &#39;Group Z&#39;'
            '</td>') in html
    assert counts(st) == before


def test_the_import_page_refuses_without_csrf_or_file(st, make, auth, client):
    editor = make.user("editor")
    before = counts(st)
    assert client.post("/posts/import", data={"file": upload(GOOD)},
                       content_type="multipart/form-data").status_code == 400
    auth.login(editor.email)
    no_csrf = client.post("/posts/import", data={"file": upload(GOOD)},
                          content_type="multipart/form-data")
    assert no_csrf.status_code == 400
    no_file = client.post("/posts/import", data={"csrf_token": auth.token("/posts/import")})
    assert no_file.status_code == 422 and b"Choose a CSV file." in no_file.data
    assert counts(st) == before


def test_the_api_imports_multipart_or_a_csv_body(st, make, client, bearer):
    editor = make.user("editor")
    make.channel("Group A")
    headers = bearer(editor)
    multipart = client.post("/api/v1/posts/import", headers=headers, data={"file": upload(GOOD)},
                            content_type="multipart/form-data")
    assert multipart.status_code == 201, multipart.json
    [post] = multipart.json["items"]
    assert (post["title"], post["status"], post["tags"]) == ("Tip", "draft", ["weekly"])
    assert post["scheduled_at"] == "2026-11-24T00:00:00Z"
    body = client.post("/api/v1/posts/import?submit=true", headers=headers, data=GOOD,
                       content_type="text/csv; charset=utf-8")
    assert body.status_code == 201 and body.json["items"][0]["status"] == "in_review"


def test_the_api_refuses_bad_files_and_callers_and_writes_nothing(st, make, client, bearer, auth):
    editor = make.user("editor")
    make.channel("Group A")
    headers = bearer(editor)
    before = counts(st)
    bad = client.post("/api/v1/posts/import", headers=headers, data=BAD, content_type="text/csv")
    assert bad.status_code == 422
    assert bad.json["error"] == {
        "code": "validation_failed",
        "message": "nothing was imported: the file has 2 problem(s)",
        "fields": {"row 3.kind": "kind must be one of tutorial, share, greeting, guest_session, "
                                 "announcement",
                   "row 3.channels": "no channel is called 'Group Z'"}}
    wrong_type = client.post("/api/v1/posts/import", headers=headers, json={"csv": GOOD})
    assert (wrong_type.status_code, wrong_type.json["error"]["message"]) == (
        400, "send the CSV as multipart/form-data (field 'file') or as a text/csv body")
    no_field = client.post("/api/v1/posts/import", headers=headers, data={"upload": upload(GOOD)},
                           content_type="multipart/form-data")
    assert no_field.json["error"]["message"] == "the multipart request has no 'file' field"
    anonymous = client.post("/api/v1/posts/import", data=GOOD, content_type="text/csv")
    assert anonymous.status_code == 401
    forged = client.post("/api/v1/posts/import", data=GOOD, content_type="text/csv",
                         headers={"Authorization": "Bearer plnr_not-a-token"})
    assert forged.status_code == 401
    auth.login(editor.email)
    no_csrf = client.post("/api/v1/posts/import", data=GOOD, content_type="text/csv")
    assert no_csrf.status_code == 400 and "CSRF" in no_csrf.json["error"]["message"]
    too_big = client.post("/api/v1/posts/import", headers=headers, content_type="text/csv",
                          data=HEADER + "tutorial,x," + "y" * (1024 * 1024) + "\n")
    assert too_big.json["error"]["fields"] == {
        "file": "the file is 1025 KB; at most 1024 KB can be imported at once"}
    assert counts(st) == before


def test_an_export_imports_again_as_it_was(st, make, client, bearer):
    editor = make.user("editor")
    group_a, group_b = make.channel("Group A"), make.channel("微信群 2")
    now = st.clock.now()
    make.post(editor, kind="greeting", title="=HYPERLINK(\"http://evil\")", body="早上好！\n\n- 一\n- 二",
              scheduled_at=now + timedelta(hours=2), expires_at=now + timedelta(hours=5),
              channel_ids=[group_a.id, group_b.id], tags=["python-groups", "daily"])
    make.post(editor, title="@SUM(1)", body="- starts like a formula\n+ and more",
              scheduled_at=now + timedelta(days=3))
    make.post(editor, title="Outside the range", scheduled_at=now + timedelta(days=40))
    headers = bearer(editor)
    export = client.get("/api/v1/posts/export", headers=headers, query_string={
        "start": now.isoformat(), "end": (now + timedelta(days=30)).isoformat()})
    assert export.status_code == 200
    assert export.headers["Content-Type"] == "text/csv; charset=utf-8"
    text = export.get_data(as_text=True)
    assert text.startswith("\ufeffkind,title,body,")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    assert [(r["title"], r["body"][:2], r["channels"], r["tags"], r["scheduled_at"]) for r in rows] == [
        ("'=HYPERLINK(\"http://evil\")", "早上", "Group A; 微信群 2", "daily; python-groups",
         "2026-11-23T10:00+08:00"),
        ("'@SUM(1)", "'-", "", "", "2026-11-26T08:00+08:00"),
    ]
    original = client.get("/api/v1/posts", headers=headers).json["items"][:2]
    again = client.post("/api/v1/posts/import", headers=headers, data=text.encode("utf-8"),
                        content_type="text/csv")
    assert again.status_code == 201, again.json
    fields = ("kind", "title", "body", "scheduled_at", "expires_at", "channel_ids", "tags")
    assert [{k: p[k] for k in fields} for p in again.json["items"]] == [
        {k: p[k] for k in fields} for p in original]


def test_the_api_export_refuses_bad_ranges(st, make, client, bearer):
    headers = bearer(make.user("editor"))
    naive = client.get("/api/v1/posts/export", headers=headers,
                       query_string={"start": "2026-11-23T00:00", "end": "2026-11-30T00:00Z"})
    assert naive.status_code == 422 and "start" in naive.json["error"]["fields"]
    backwards = client.get("/api/v1/posts/export", headers=headers,
                           query_string={"start": "2026-11-30T00:00Z", "end": "2026-11-23T00:00Z"})
    assert backwards.json["error"]["fields"] == {"end": "the end must be after the start"}
    assert client.get("/api/v1/posts/export", query_string={
        "start": "2026-11-23T00:00Z", "end": "2026-11-30T00:00Z"}).status_code == 401


def test_the_export_form_downloads_the_chosen_days(st, make, auth, client):
    editor = make.user("editor")
    make.post(editor, title="On the 24th", scheduled_at=st.clock.now() + timedelta(days=1))
    make.post(editor, title="On the 30th", scheduled_at=st.clock.now() + timedelta(days=7))
    auth.login(editor.email)
    download = client.get("/posts/export?start=2026-11-24&end=2026-11-24")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == (
        'attachment; filename="posts-2026-11-24-to-2026-11-24.csv"')
    text = download.get_data(as_text=True)
    assert "On the 24th" in text and "On the 30th" not in text
    wrong = client.get("/posts/export?start=2026-11-30&end=2026-11-24")
    assert wrong.status_code == 422 and b"the end must be after the start" in wrong.data
    assert client.get("/posts/export?start=soon").status_code == 422
