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
from planner.models import AuditEntry, Channel
from planner.services import channels as channel_service
from planner.state import state
from planner.worker.failpoints import EXIT_CODE

SECRETS = {"Python group": "whsec_" + base64.b64encode(b"p" * 32).decode(),
           "Rust group": "whsec_" + base64.b64encode(b"r" * 32).decode()}


@pytest.fixture
def instance(tmp_path, database_url, clock):
    """An instance with two webhook channels whose signing secrets are sealed with its key file."""
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
    yield st
    st.engine.dispose()


def run(st, *args, **env):
    env = {"PLANNER_INSTANCE_PATH": str(st.instance_path),
           "PLANNER_DATABASE_URL": st.config["DATABASE_URL"]} | env
    return CliRunner().invoke(main, list(args), env=env)


def tokens(st):
    with st.sessions() as session:
        return dict(session.execute(select(Channel.name, Channel.secrets_encrypted)).all())


def readable_with(box, st):
    return {name: box.open(token)["secret"] for name, token in tokens(st).items()}


def test_rotation_reencrypts_every_secret_and_retires_the_old_key(instance):
    st = instance
    old_key = (st.instance_path / "encryption_key").read_bytes()
    before = tokens(st)
    result = run(st, "keys", "rotate")
    assert result.exit_code == 0, result.output
    assert "re-encrypted 2 secret(s) with the new key" in result.output
    key_file = st.instance_path / "encryption_key"
    assert key_file.read_bytes() != old_key
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert not (st.instance_path / "encryption_key.next").exists()
    assert all(tokens(st)[name] != token for name, token in before.items())
    # The running app follows the key file by itself; a new process reads the new key.
    assert readable_with(st.secret_box, st) == SECRETS
    assert readable_with(SecretBox.for_instance(st.instance_path), st) == SECRETS
    old_box = SecretBox(old_key)
    for token in tokens(st).values():
        with pytest.raises(RuntimeError, match="cannot be decrypted"):
            old_box.open(token)
    with st.sessions() as session:
        row = session.scalar(select(AuditEntry).where(AuditEntry.action == "keys.rotate"))
        assert row.data == {"rewritten": 2}


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
    assert (st.instance_path / "encryption_key").read_text() == old_key  # the file is not used
