"""``planner backup`` and ``planner restore``: a consistent snapshot while writers run, restored whole."""

import base64
import io
import json
import shutil
import sqlite3
import subprocess
import tarfile
import threading
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, make_url, select, text

from planner import create_app
from planner.cli import main
from planner.db import normalise_url
from planner.models import Alert, AuditEntry, Base, Channel, User
from planner.services import audit, calendar_links, workspace
from planner.services import channels as channel_service
from planner.state import state
from planner.worker.dispatcher import Dispatcher
from tests.conftest import PASSWORD, Auth, Factory, csrf_from
from tests.seed_helpers import seed

HOOK_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


def run(instance, *args, database_url=None):
    env = {"PLANNER_INSTANCE_PATH": str(instance), "PLANNER_DATABASE_URL": database_url}
    return CliRunner().invoke(main, list(args), env=env)


@pytest.fixture
def sqlite_url(sqlite_template, tmp_path):
    path = tmp_path / "source" / "planner.sqlite3"
    path.parent.mkdir()
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def open_app(instance, database_url, clock):
    return create_app({"TESTING": True, "INSTANCE_PATH": str(instance), "DATABASE_URL": database_url,
                       "CLOCK": clock, "CHANNEL_KINDS": ["webhook", "outbox"]})


def fill(app):
    """One of everything, so that every table holds rows: a restore must bring back each one."""
    st = state(app)
    client = app.test_client()
    make = Factory(st)
    world = seed(st, make, client)  # users, tokens, channels, posts, reviews, comments, series,
    now = st.clock.now()            # slots, a booking, a feed and its item, a calendar link
    with st.sessions() as session, session.begin():
        channel_service.create_channel(
            session, st.registry, st.secret_box, kind="webhook", name="Webhook group", tags=[],
            settings={"url": "http://127.0.0.1:9/hook", "secret": HOOK_SECRET}, actor="test", now=now)
        workspace.put(session, "community_name", "Python learners", actor="test", now=now)
        session.add(Alert(delivery_id=world.ids["delivery"], channel_id=world.ids["channel"],
                          text="A delivery failed", next_attempt_at=now, created_at=now))
    make.post(world.editor, tags=["python-groups"])

    def api(method, path, body):  # type: ignore[no-untyped-def]
        response = client.open(f"/api/v1{path}", method=method, json=body,
                               headers={"Authorization": f"Bearer {world.tokens['editor']}"})
        assert response.status_code < 300, response.get_data(as_text=True)

    api("PATCH", f"/feeds/{world.ids['feed']}", {"channel_ids": [world.ids["channel"]]})
    api("POST", "/series", {"kind": "greeting", "title": "Hello", "rrule": "FREQ=DAILY;COUNT=3",
                            "timezone": "Asia/Shanghai", "starts_at": (now + timedelta(days=1)).isoformat(),
                            "pool": ["Hi"], "tags": ["python-groups"]})
    Auth(client).login(world.editor.email, "a wrong password")  # a throttling record
    st.clock.advance(days=3)
    with Dispatcher(st) as dispatcher:  # sends what is due (attempts) and says it is alive
        dispatcher.tick()
        dispatcher.heartbeat()
    found = counts(st)
    assert [name for name, rows in found.items() if not rows] == []
    return found


def counts(st):
    """The number of rows of every table planner has."""
    with st.sessions() as session:
        return {table.name: session.scalar(select(func.count()).select_from(table))
                for table in Base.metadata.sorted_tables}


def count(st, model):
    with st.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_backup_while_writing_then_restore_into_a_fresh_instance(sqlite_url, tmp_path, clock):
    source = open_app(tmp_path / "source", sqlite_url, clock)
    st = state(source)
    expected = fill(source)
    stop, written = threading.Event(), []

    def keep_writing():  # the app and dispatcher keep committing while the snapshot is taken
        while not stop.is_set():
            with st.sessions() as session, session.begin():
                audit.record(session, at=clock.now(), actor="system", action="test.write",
                             subject_type="test", subject_id=len(written))
            written.append(1)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while len(written) < 20:
            threading.Event().wait(0.01)
        before = len(written)
        result = run(tmp_path / "source", "backup", str(tmp_path / "nightly.tar.gz"),
                     database_url=sqlite_url)
        after = len(written)
    finally:
        stop.set()
        writer.join()
        state(source).engine.dispose()
    assert result.exit_code == 0, result.output
    assert "backup written to" in result.output
    archive = tmp_path / "nightly.tar.gz"
    assert oct(archive.stat().st_mode & 0o777) == "0o600"
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == ["encryption_key", "manifest.json", "planner.sqlite3",
                                          "secret_key"]
        tar.extract("planner.sqlite3", tmp_path / "check", filter="data")
    snapshot = sqlite3.connect(tmp_path / "check" / "planner.sqlite3")
    try:
        assert snapshot.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        writes = snapshot.execute("SELECT count(*) FROM audit_log WHERE action = 'test.write'").fetchone()[0]
    finally:
        snapshot.close()
    assert before <= writes <= after + 1

    fresh = tmp_path / "fresh"
    restored = run(fresh, "restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert "database is up to date" in restored.output
    app = open_app(fresh, f"sqlite:///{fresh / 'planner.sqlite3'}", clock)
    try:
        st = state(app)
        restored_counts = counts(st)
        assert restored_counts == expected | {"audit_log": expected["audit_log"] + writes}
        with st.sessions() as session:
            hook = session.scalar(select(Channel).where(Channel.name == "Webhook group"))
            assert st.secret_box.open(hook.secrets_encrypted)["secret"] == HOOK_SECRET
            assert channel_service.saved_secrets(hook, st.secret_box) == ["secret"]
            assert session.scalar(select(func.count()).where(AuditEntry.action == "test.write")) == writes
            editor = session.scalar(select(User).where(User.email == "editor@example.com"))
            calendar_token = calendar_links.token_of(st.secret_box, editor)
        assert calendar_token  # the calendar link still opens with the restored key
        assert app.test_client().get(f"/calendar.ics?token={calendar_token}").status_code == 200
        assert (fresh / "secret_key").read_text() == (tmp_path / "source" / "secret_key").read_text()
        assert oct((fresh / "encryption_key").stat().st_mode & 0o777) == "0o600"
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        signed_in = client.post("/login", data={"email": "editor@example.com", "password": PASSWORD,
                                                "csrf_token": csrf_from(page)})
        assert signed_in.status_code == 302
    finally:
        state(app).engine.dispose()


def test_backup_never_overwrites_and_restore_never_replaces_data_unless_forced(sqlite_url, tmp_path, clock):
    source = open_app(tmp_path / "source", sqlite_url, clock)
    fill(source)
    state(source).engine.dispose()
    archive = tmp_path / "backup.tar.gz"
    archive.write_bytes(b"precious")
    refused = run(tmp_path / "source", "backup", str(archive), database_url=sqlite_url)
    assert refused.exit_code == 1
    assert "already exists: choose another name (a backup never overwrites)" in refused.output
    assert archive.read_bytes() == b"precious"

    not_a_backup = run(tmp_path / "fresh", "restore", str(archive))
    assert not_a_backup.exit_code == 1 and "is not a planner backup" in not_a_backup.output
    assert not (tmp_path / "fresh" / "planner.sqlite3").exists()

    archive.unlink()
    assert run(tmp_path / "source", "backup", str(archive), database_url=sqlite_url).exit_code == 0
    # Restoring onto the source itself: it holds data, so it is refused and left as it was.
    key_before = (tmp_path / "source" / "encryption_key").read_bytes()
    onto_data = run(tmp_path / "other", "restore", str(archive), database_url=sqlite_url)
    assert onto_data.exit_code == 1
    assert "already holds data: restore into a fresh instance, or pass --force" in onto_data.output
    assert not (tmp_path / "other" / "encryption_key").exists()
    assert (tmp_path / "source" / "encryption_key").read_bytes() == key_before

    forced = run(tmp_path / "source", "restore", str(archive), "--force", database_url=sqlite_url)
    assert forced.exit_code == 0, forced.output
    app = open_app(tmp_path / "source", sqlite_url, clock)
    try:
        assert count(state(app), User) == 4
    finally:
        state(app).engine.dispose()


def test_a_fresh_instance_whose_schema_exists_counts_as_empty(sqlite_url, tmp_path, clock):
    source = open_app(tmp_path / "source", sqlite_url, clock)
    fill(source)
    state(source).engine.dispose()
    run(tmp_path / "source", "backup", str(tmp_path / "b.tar.gz"), database_url=sqlite_url)
    assert run(tmp_path / "fresh", "db", "upgrade").exit_code == 0  # tables, but no rows
    restored = run(tmp_path / "fresh", "restore", str(tmp_path / "b.tar.gz"))
    assert restored.exit_code == 0, restored.output


def test_postgres_backup_keeps_the_keys_and_points_to_pg_dump(postgres_migrated, tmp_path):
    database_url = postgres_migrated
    (tmp_path / "inst").mkdir()
    (tmp_path / "inst" / "config.toml").write_text('community_name = "Python learners"\n')
    (tmp_path / "inst" / "encryption_key").write_text("a-key")
    result = run(tmp_path / "inst", "backup", str(tmp_path / "keys.tar.gz"), database_url=database_url)
    assert result.exit_code == 0, result.output
    assert "pg_dump --format=custom" in result.output
    with tarfile.open(tmp_path / "keys.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["config.toml", "encryption_key", "manifest.json"]
    elsewhere = run(tmp_path / "new", "restore", str(tmp_path / "keys.tar.gz"), database_url=database_url)
    assert elsewhere.exit_code == 0, elsewhere.output
    assert "pg_restore" in elsewhere.output
    assert (tmp_path / "new" / "encryption_key").read_text() == "a-key"
    assert (tmp_path / "new" / "config.toml").read_text() == 'community_name = "Python learners"\n'
    # A host with settings of its own keeps them; the backup's copy lands beside them.
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "config.toml").write_text('timezone = "Europe/Berlin"\n')
    kept = run(tmp_path / "host", "restore", str(tmp_path / "keys.tar.gz"), database_url=database_url)
    assert "kept this instance's config.toml; the backup's is config.toml.from-backup" in kept.output
    assert (tmp_path / "host" / "config.toml").read_text() == 'timezone = "Europe/Berlin"\n'
    assert "Python learners" in (tmp_path / "host" / "config.toml.from-backup").read_text()
    assert (tmp_path / "host" / "encryption_key").read_text() == "a-key"


@pytest.mark.skipif(not shutil.which("pg_dump"), reason="pg_dump and pg_restore are not installed")
def test_the_documented_pg_dump_path_restores_everything(postgres_migrated, tmp_path, clock):
    source = open_app(tmp_path / "source", postgres_migrated, clock)
    try:
        st = state(source)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with st.engine.begin() as conn:  # the shared test database may hold rows of other tests
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        expected = fill(source)
    finally:
        state(source).engine.dispose()
    assert run(tmp_path / "source", "backup", str(tmp_path / "keys.tar.gz"),
               database_url=postgres_migrated).exit_code == 0
    url = make_url(normalise_url(postgres_migrated))
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    target = url.set(database=f"{url.database}_restored")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}"'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    restored_url = target.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        dump = tmp_path / "planner.dump"
        subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", plain], check=True, timeout=120)
        subprocess.run(["pg_restore", "--no-owner", f"--dbname={restored_url}", str(dump)],
                       check=True, timeout=120)
        assert run(tmp_path / "new", "restore", str(tmp_path / "keys.tar.gz"),
                   database_url=restored_url).exit_code == 0
        app = open_app(tmp_path / "new", restored_url, clock)
        try:
            st = state(app)
            assert counts(st) == expected
            with st.sessions() as session:
                hook = session.scalar(select(Channel).where(Channel.name == "Webhook group"))
                assert st.secret_box.open(hook.secrets_encrypted)["secret"] == HOOK_SECRET
        finally:
            state(app).engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        admin.dispose()


def test_a_backup_from_a_newer_version_is_refused(sqlite_url, tmp_path, clock):
    source = open_app(tmp_path / "source", sqlite_url, clock)
    fill(source)
    state(source).engine.dispose()
    run(tmp_path / "source", "backup", str(tmp_path / "b.tar.gz"), database_url=sqlite_url)
    with tarfile.open(tmp_path / "b.tar.gz") as original, \
            tarfile.open(tmp_path / "newer.tar.gz", "w:gz") as newer:
        for member in original.getmembers():
            data = original.extractfile(member).read()
            if member.name == "manifest.json":
                manifest = json.loads(data)
                manifest["revisions"].append("9999")
                data = json.dumps(manifest).encode()
            member.size = len(data)
            newer.addfile(member, io.BytesIO(data))
    refused = run(tmp_path / "fresh", "restore", str(tmp_path / "newer.tar.gz"))
    assert refused.exit_code == 1
    assert ("this backup comes from a newer planner (schema revision 9999): install that version or "
            "a later one, then restore") in refused.output
    assert not (tmp_path / "fresh" / "planner.sqlite3").exists()
