"""The ``planner`` command, through click and through the installed console script."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from planner.cli import main
from planner.models import Channel, Post, Series, User
from planner.worker.runner import SingleDispatcherLock


@pytest.fixture
def cli(database_url, tmp_path):
    env = {"PLANNER_INSTANCE_PATH": str(tmp_path / "instance"), "PLANNER_DATABASE_URL": database_url}

    def invoke(*args, input=None):
        return CliRunner().invoke(main, list(args), env=env, input=input)

    invoke.env = env
    return invoke


def count(st, model):
    with st.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_user_add_reads_the_password_from_stdin(cli, auth, st):
    result = cli("user", "add", "Owen@Example.com", "--role", "operator", "--password-stdin",
                 input="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert "created operator owen@example.com" in result.output
    assert auth.login("owen@example.com", "a long enough password").status_code == 302


def test_user_add_without_a_terminal_generates_and_prints_a_password(cli, auth):
    result = cli("user", "add", "eva@example.com", "--role", "editor")
    assert result.exit_code == 0, result.output
    password = result.output.strip().splitlines()[-1].removeprefix("password: ")
    assert auth.login("eva@example.com", password).status_code == 302


@pytest.mark.parametrize("args, stdin, message", [
    (["not-an-email", "--role", "editor", "--password-stdin"], "a long enough password\n",
     "is not an email address"),
    (["eva@example.com", "--role", "editor", "--password-stdin"], "short\n", "at least 10"),
    (["eva@example.com", "--role", "king"], None, "Invalid value for '--role'"),
])
def test_user_add_rejects_bad_input_and_creates_nobody(cli, st, args, stdin, message):
    result = cli("user", "add", *args, input=stdin)
    assert result.exit_code != 0
    assert message in result.output
    assert count(st, User) == 0


def test_user_add_refuses_a_duplicate(cli, st):
    cli("user", "add", "eva@example.com", "--role", "editor")
    result = cli("user", "add", "EVA@example.com", "--role", "admin")
    assert result.exit_code == 1 and "already exists" in result.output
    assert count(st, User) == 1


def test_token_create_prints_a_working_token_last(cli, client):
    cli("user", "add", "eva@example.com", "--role", "editor")
    result = cli("token", "create", "eva@example.com")
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json["email"] == "eva@example.com"
    missing = cli("token", "create", "nobody@example.com")
    assert missing.exit_code == 1 and "no user with the email" in missing.output


def test_demo_is_idempotent(cli, st):
    first = cli("demo")
    assert first.exit_code == 0, first.output
    assert "admin@example.com" in first.output and "editor@example.com" in first.output
    second = cli("demo")
    assert "already exists" in second.output
    assert (count(st, User), count(st, Channel), count(st, Series)) == (3, 3, 1)
    with st.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Post)
                              .where(Post.series_id.is_(None))) == 8
        greetings = list(session.scalars(select(Post).where(Post.series_id.is_not(None))))
    assert greetings and {p.status for p in greetings} == {"approved"}
    assert len({p.body for p in greetings[:5]}) == min(5, len(greetings))
    listed = cli("channels", "list")
    assert listed.output.count("outbox") == 3 and "python-groups" in listed.output


def test_demo_passwords_sign_in(cli, auth):
    output = cli("demo").output
    line = next(line for line in output.splitlines() if "editor@example.com" in line)
    assert auth.login("editor@example.com", line.split()[-1]).status_code == 302


def test_second_worker_on_sqlite_refuses_with_a_clear_message(tmp_path):
    from planner import create_app
    from planner.state import state

    url = f"sqlite:///{tmp_path / 'solo.sqlite3'}"
    env = {"PLANNER_INSTANCE_PATH": str(tmp_path), "PLANNER_DATABASE_URL": url}
    app = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": url})
    lock = SingleDispatcherLock(state(app))
    lock.acquire()
    try:
        result = CliRunner().invoke(main, ["worker"], env=env)
    finally:
        lock.release()
        state(app).engine.dispose()
    assert result.exit_code == 1
    assert "already running on this SQLite database" in result.output


def test_console_script_upgrades_and_lists(tmp_path):
    script = Path(sys.executable).with_name("planner")
    env = os.environ | {"PLANNER_INSTANCE_PATH": str(tmp_path / "inst")}
    env.pop("PLANNER_DATABASE_URL", None)
    upgrade = subprocess.run([script, "db", "upgrade"], env=env, capture_output=True, text=True,
                             timeout=60, check=False)
    assert upgrade.returncode == 0, upgrade.stderr
    assert (tmp_path / "inst" / "planner.sqlite3").exists()
    assert oct((tmp_path / "inst" / "secret_key").stat().st_mode & 0o777) == "0o600"
    listed = subprocess.run([script, "channels", "list"], env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert listed.stdout.strip() == "no channels"
