"""API tokens: hashed, scoped, revocable, with their last use noted."""

import hashlib
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from planner.cli import main
from planner.models import ApiToken, AuditEntry, Post
from tests.conftest import START, csrf_from

NEW_POST = {"kind": "tutorial", "title": "Tip of the week", "body": "Use **f-strings**.",
            "scheduled_at": "2026-11-23T10:00:00+08:00", "tags": []}


@pytest.fixture
def cli(database_url, st):
    env = {"PLANNER_INSTANCE_PATH": str(st.instance_path), "PLANNER_DATABASE_URL": database_url}

    def invoke(*args):
        return CliRunner().invoke(main, list(args), env=env)

    return invoke


def created_token(result):
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def rows(st):
    with st.sessions() as session:
        return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def posts(st):
    with st.sessions() as session:
        return session.scalar(select(func.count()).select_from(Post))


def test_tokens_are_stored_hashed_and_note_their_last_use(cli, client, make, st, clock):
    make.user("editor", "eva@example.com")
    token = created_token(cli("token", "create", "eva@example.com", "--name", "calendar sync"))
    [row] = rows(st)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.token_hash
    assert (row.name, row.scope, row.last_used_at) == ("calendar sync", "write", None)
    clock.advance(hours=2)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert rows(st)[0].last_used_at == START + timedelta(hours=2)
    listed = cli("token", "list", "eva@example.com")
    assert listed.exit_code == 0
    assert listed.output.split("\t")[:3] == [str(row.id), "calendar sync", "write"]
    assert "2026-11-23 02:00" in listed.output


def test_a_read_token_reads_and_may_change_nothing(cli, client, make, st):
    make.user("editor", "eva@example.com")
    token = created_token(cli("token", "create", "eva@example.com", "--scope", "read"))
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/posts", headers=auth).status_code == 200
    refused = client.post("/api/v1/posts", headers=auth, json=NEW_POST)
    assert refused.status_code == 403
    assert refused.json["error"] == {
        "code": "forbidden", "fields": {},
        "message": "this token may only read: create a token with the write scope to make changes"}
    assert posts(st) == 0
    writer = created_token(cli("token", "create", "eva@example.com"))
    assert client.post("/api/v1/posts", headers={"Authorization": f"Bearer {writer}"},
                       json=NEW_POST).status_code == 201


def test_a_revoked_token_stops_working_at_once(cli, client, make, st):
    make.user("editor", "eva@example.com")
    token = created_token(cli("token", "create", "eva@example.com"))
    [row] = rows(st)
    revoked = cli("token", "revoke", str(row.id))
    assert revoked.exit_code == 0 and f"token {row.id} (cli) is revoked" in revoked.output
    answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401
    assert answer.json["error"]["message"] == "the API token is unknown or revoked"
    missing = cli("token", "revoke", "999")
    assert missing.exit_code == 1 and "token 999 does not exist" in missing.output
    with st.sessions() as session:
        assert session.scalar(select(func.count()).where(AuditEntry.action == "token.revoke")) == 1


def test_bad_token_requests_are_refused_and_create_nothing(cli, make, st):
    make.user("editor", "eva@example.com")
    bad_scope = cli("token", "create", "eva@example.com", "--scope", "admin")
    assert bad_scope.exit_code == 2 and "Invalid value for '--scope'" in bad_scope.output
    nobody = cli("token", "list", "nobody@example.com")
    assert nobody.exit_code == 1 and "no user with the email nobody@example.com" in nobody.output
    assert rows(st) == []
    assert cli("token", "list", "eva@example.com").output.strip() == "no tokens"


def test_people_see_and_revoke_their_own_tokens_only(cli, client, auth, make, st):
    make.user("editor", "eva@example.com")
    make.user("operator", "owen@example.com")
    mine = created_token(cli("token", "create", "eva@example.com", "--name", "my script"))
    cli("token", "create", "owen@example.com", "--name", "owen's script")
    eva_row, owen_row = rows(st)
    auth.login("eva@example.com")
    page = client.get("/account/security").get_data(as_text=True)
    assert "my script" in page and "owen&#39;s script" not in page and "never" in page
    token = csrf_from(page)
    other = client.post(f"/account/security/tokens/{owen_row.id}/revoke", data={"csrf_token": token})
    assert other.status_code == 404
    assert rows(st)[1].revoked_at is None
    done = client.post(f"/account/security/tokens/{eva_row.id}/revoke", data={"csrf_token": token},
                       follow_redirects=True)
    assert "The token my script is revoked." in done.get_data(as_text=True)
    assert rows(st)[0].revoked_at is not None
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {mine}"}).status_code == 401
