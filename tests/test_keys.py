"""``planner keys rotate``: every secret moves to a new key in one transaction, and nothing is lost."""

import base64
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import select, update

from planner import create_app
from planner.cli import main
from planner.crypto import SecretBox
from planner.models import AuditEntry, Channel, User
from planner.services import calendar_links, users
from planner.services import channels as channel_service
from planner.state import state
from planner.worker.failpoints import EXIT_CODE
from tests.conftest import PASSWORD

SECRETS = {"Python group": "whsec_" + base64.b64encode(b"p" * 32).decode(),
           "Rust group": "whsec_" + base64.b64encode(b"r" * 32).decode()}


@pytest.fixture
def instance_app(tmp_path, database_url, clock):
    """An instance with two webhook channels whose signing secrets are sealed with its key file,
    and a user whose private calendar link is sealed with it too."""
    path = tmp_path / "instance"
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(path), "DATABASE_URL": database_url,
                      "CLOCK": clock, "CHANNEL_KINDS": ["webhook"]})
    st = state(app)
    with st.sessions() as session, session.begin():
        for name, secret in SECRETS.items():
            channel_service.create_channel(
                session, st.registry, st.secret_box, kind="webhook", name=name, tags=[],
                settings={"url": "http://127.0.0.1:9/hook", "secret": secret}, actor="test",
                now=clock.now())
        eva = users.create_user(session, email="eva@example.com", role="editor", password=PASSWORD,
                                now=clock.now())
        app.config["TEST_CALENDAR_TOKEN"] = calendar_links.create_link(session, st.secret_box, eva,
                                                                       now=clock.now())
    yield app
    st.engine.dispose()


@pytest.fixture
def instance(instance_app):
    return state(instance_app)


def sealed_calendar(st):
    with st.sessions() as session:
        return session.scalar(select(User.calendar_token_sealed).where(User.email == "eva@example.com"))


def calendar_link_works(app) -> bool:
    """The link opens the calendar, and its owner is shown the same link (``/api/v1/me``)."""
    token = app.config["TEST_CALENDAR_TOKEN"]
    if app.test_client().get(f"/calendar.ics?token={token}").status_code != 200:
        return False
    with state(app).sessions() as session:
        eva = session.scalar(select(User).where(User.email == "eva@example.com"))
        return calendar_links.token_of(state(app).secret_box, eva) == token


def run(st, *args, **env):
    env = {"PLANNER_INSTANCE_PATH": str(st.instance_path),
           "PLANNER_DATABASE_URL": st.config["DATABASE_URL"]} | env
    return CliRunner().invoke(main, list(args), env=env)


def tokens(st):
    with st.sessions() as session:
        return dict(session.execute(select(Channel.name, Channel.secrets_encrypted)).all())


def readable_with(box, st):
    return {name: box.open(token)["secret"] for name, token in tokens(st).items()}


def test_rotation_reencrypts_every_secret_and_retires_the_old_key(instance_app, instance):
    st = instance
    old_key = (st.instance_path / "encryption_key").read_bytes()
    before, calendar_before = tokens(st), sealed_calendar(st)
    assert calendar_link_works(instance_app)
    result = run(st, "keys", "rotate")
    assert result.exit_code == 0, result.output
    assert "re-encrypted 3 secret(s) with the new key" in result.output
    key_file = st.instance_path / "encryption_key"
    assert key_file.read_bytes() != old_key
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert not (st.instance_path / "encryption_key.next").exists()
    assert all(tokens(st)[name] != token for name, token in before.items())
    # The running app follows the key file by itself; a new process reads the new key.
    assert readable_with(st.secret_box, st) == SECRETS
    assert readable_with(SecretBox.for_instance(st.instance_path), st) == SECRETS
    old_box = SecretBox(old_key)
    for token in [*tokens(st).values(), sealed_calendar(st)]:
        with pytest.raises(RuntimeError, match="cannot be decrypted"):
            old_box.open(token)
    # The private calendar link was re-encrypted too: the same link still opens the calendar.
    assert sealed_calendar(st) != calendar_before
    assert calendar_link_works(instance_app)
    with st.sessions() as session:
        row = session.scalar(select(AuditEntry).where(AuditEntry.action == "keys.rotate"))
        assert row.data == {"rewritten": 3}


def test_an_unreadable_secret_stops_the_rotation_and_changes_nothing(instance):
    st = instance
    old_key = (st.instance_path / "encryption_key").read_bytes()
    stranger = SecretBox(Fernet.generate_key()).seal({"secret": "sealed elsewhere"})
    with st.sessions() as session, session.begin():
        session.execute(update(Channel).where(Channel.name == "Rust group")
                        .values(secrets_encrypted=stranger))
    before = tokens(st)
    result = run(st, "keys", "rotate")
    assert result.exit_code == 1
    assert "cannot be decrypted with the instance's keys: nothing was changed" in result.output
    # Python group was re-encrypted before Rust group failed: the transaction undid it.
    assert tokens(st) == before
    assert (st.instance_path / "encryption_key").read_bytes() == old_key
    assert not (st.instance_path / "encryption_key.next").exists()
    assert SecretBox(old_key).open(before["Python group"])["secret"] == SECRETS["Python group"]
    with st.sessions() as session:
        assert session.scalar(select(AuditEntry).where(AuditEntry.action == "keys.rotate")) is None


def test_a_rotation_killed_after_its_commit_stays_readable_and_finishes_when_run_again(instance):
    st = instance
    old_key = (st.instance_path / "encryption_key").read_bytes()
    env = os.environ | {"PLANNER_INSTANCE_PATH": str(st.instance_path),
                        "PLANNER_DATABASE_URL": st.config["DATABASE_URL"],
                        "PLANNER_FAILPOINT": "after_key_rotation_commit"}
    killed = subprocess.run([sys.executable, "-m", "planner", "keys", "rotate"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert killed.returncode == EXIT_CODE, killed.stderr
    next_key = (st.instance_path / "encryption_key.next").read_bytes()
    assert SecretBox(next_key).open(tokens(st)["Python group"])  # the database committed
    assert readable_with(st.secret_box, st) == SECRETS  # both key files are read meanwhile

    finished = run(st, "keys", "rotate")
    assert finished.exit_code == 0, finished.output
    assert (st.instance_path / "encryption_key").read_bytes() == next_key
    assert not (st.instance_path / "encryption_key.next").exists()
    assert readable_with(SecretBox(next_key), st) == SECRETS
    with pytest.raises(RuntimeError):
        SecretBox(old_key).open(tokens(st)["Python group"])


def test_a_key_from_the_environment_rotates_once_the_new_key_is_listed_first(tmp_path, instance):
    st = instance
    old_key = (st.instance_path / "encryption_key").read_text()
    alone = run(st, "keys", "rotate", PLANNER_ENCRYPTION_KEY=old_key)
    assert alone.exit_code == 1
    assert "set it to 'NEW,OLD' on every process" in alone.output
    new_key = run(st, "keys", "generate").output.strip()
    Fernet(new_key)  # a valid key
    rotated = run(st, "keys", "rotate", PLANNER_ENCRYPTION_KEY=f"{new_key},{old_key}")
    assert rotated.exit_code == 0, rotated.output
    assert "drop the old key from PLANNER_ENCRYPTION_KEY" in rotated.output
    assert readable_with(SecretBox(new_key), st) == SECRETS
    assert SecretBox(new_key).open(sealed_calendar(st))["token"]
    assert (st.instance_path / "encryption_key").read_text() == old_key  # the file is not used
