"""Sessions and passwords: rotation on sign-in, signing out everywhere, throttling, the password rules."""

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from planner import create_app
from planner.cli import main
from planner.models import AuditEntry, LoginFailure, User
from planner.services import passwords
from planner.state import state
from tests.conftest import PASSWORD, Auth, csrf_from

NEW_PASSWORD = "a walk along the river"


def signed_in(client) -> bool:
    response = client.get("/")
    return response.status_code == 200


def copy_of(client, app):
    """Another browser holding a copy of this client's session cookie (as a thief would)."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def user_row(st, email):
    with st.sessions() as session:
        return session.scalar(select(User).where(User.email == email))


def audit_actions(st):
    with st.sessions() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


# ---- sign-in rotates the session; signing out everywhere ends every copy -------------------------

def test_signing_in_starts_a_new_session(app, client, auth, make):
    """Nothing from before the sign-in survives it: not a value someone planted in the session (a
    cookie fixed in the victim's browser) and not the CSRF token handed out with the sign-in form,
    which whoever planted the cookie would know."""
    make.user("editor", "eva@example.com")
    with client.session_transaction() as session:
        session["planted"] = "by whoever gave this browser its cookie"
    known_token = csrf_from(client.get("/login").get_data(as_text=True))
    with client.session_transaction() as session:
        known_secret = session["csrf_token"]
    anonymous = client.get_cookie("session").value
    response = client.post("/login", data={"email": "eva@example.com", "password": PASSWORD,
                                           "csrf_token": known_token})
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("csrf_token") != known_secret
        assert session.get("_user_id")
    assert client.get_cookie("session").value != anonymous
    # The form token from before the sign-in no longer authorises a change.
    refused = client.post("/logout", data={"csrf_token": known_token})
    assert refused.status_code == 400
    assert signed_in(client)
    assert client.post("/logout", data={"csrf_token": auth.token("/")}).status_code == 302
    assert not signed_in(client)
    replayed = app.test_client()
    replayed.set_cookie("session", anonymous)
    assert not signed_in(replayed)


def test_sign_out_everywhere_ends_every_copy_of_the_session(app, client, auth, make, st):
    make.user("editor", "eva@example.com")
    auth.login("eva@example.com")
    thief = copy_of(client, app)
    assert signed_in(thief)
    page = client.get("/account/security")
    assert page.status_code == 200 and "Sign out everywhere" in page.get_data(as_text=True)
    response = client.post("/account/security/sign-out-everywhere",
                           data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert not signed_in(thief)
    assert not signed_in(client)
    assert user_row(st, "eva@example.com").session_version == 1
    assert audit_actions(st)[-1] == "user.sign_out_everywhere"
    assert auth.login("eva@example.com").status_code == 302 and signed_in(client)


def test_a_plain_sign_out_leaves_other_devices_signed_in(app, make):
    make.user("editor", "eva@example.com")
    laptop, phone = app.test_client(), app.test_client()
    Auth(laptop).login("eva@example.com")
    Auth(phone).login("eva@example.com")
    laptop.post("/logout", data={"csrf_token": csrf_from(laptop.get("/").get_data(as_text=True))})
    assert not signed_in(laptop) and signed_in(phone)


# ---- changing one's password -------------------------------------------------------------------

def change(client, current, new, confirm=None):
    token = csrf_from(client.get("/account/security").get_data(as_text=True))
    return client.post("/account/security", data={"csrf_token": token, "current_password": current,
                                                  "new_password": new,
                                                  "confirm": new if confirm is None else confirm})


def test_changing_the_password_signs_out_the_other_sessions_only(app, client, auth, make, st):
    make.user("editor", "eva@example.com")
    auth.login("eva@example.com")
    thief = copy_of(client, app)
    response = change(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    assert "Your password is changed" in client.get("/account/security").get_data(as_text=True)
    assert signed_in(client) and not signed_in(thief)
    assert audit_actions(st)[-1] == "user.password_change"
    other = Auth(app.test_client())
    assert other.login("eva@example.com", PASSWORD).status_code == 401
    assert other.login("eva@example.com", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize("current, new, confirm, message", [
    ("not my password", NEW_PASSWORD, None, "this is not your current password"),
    (PASSWORD, "too short", None, "password must be at least 10 characters"),
    (PASSWORD, "Password123", None, "this password is too common"),
    (PASSWORD, "eva-rides-a-bike", None, "the password may not contain your email address"),
    (PASSWORD, PASSWORD, None, "the new password is the same as the current one"),
    (PASSWORD, NEW_PASSWORD, "a walk along the sea", "The two new passwords differ."),
])
def test_a_refused_password_change_says_why_and_changes_nothing(client, auth, make, st,
                                                               current, new, confirm, message):
    make.user("editor", "eva@example.com")
    auth.login("eva@example.com")
    before = user_row(st, "eva@example.com")
    response = change(client, current, new, confirm)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    after = user_row(st, "eva@example.com")
    assert (after.password_hash, after.session_version) == (before.password_hash, 0)
    assert "user.password_change" not in audit_actions(st)


def test_password_rules():
    assert passwords.problem("correct horse battery", "eva@example.com") is None
    assert passwords.problem("x" * 201) == "password must be at most 200 characters"
    assert passwords.problem("aaaaaaaaaaaa") == passwords.problem("1234567890")
    assert "too common" in passwords.problem("QWERTYUIOP")
    assert passwords.problem("bo-likes-tea-a-lot", "bo@example.com") is None  # too short to match


def test_user_add_applies_the_password_rules(database_url, tmp_path, st):
    env = {"PLANNER_INSTANCE_PATH": str(tmp_path / "cli"), "PLANNER_DATABASE_URL": database_url}
    result = CliRunner().invoke(main, ["user", "add", "owen@example.com", "--role", "editor",
                                       "--password-stdin"], env=env, input="owen@example.com1\n")
    assert result.exit_code == 1
    assert "the password may not contain your email address" in result.output
    common = CliRunner().invoke(main, ["user", "add", "owen@example.com", "--role", "editor",
                                       "--password-stdin"], env=env, input="password123\n")
    assert "this password is too common" in common.output
    with st.sessions() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


# ---- throttling ----------------------------------------------------------------------------------

def test_repeated_failures_for_one_email_are_throttled_then_forgiven(app, auth, make, clock, st):
    make.user("editor", "eva@example.com")
    for _ in range(5):
        assert auth.login("eva@example.com", "a wrong password").status_code == 401
    refused = auth.login("eva@example.com")  # even the right password, while throttled
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "900"
    assert "Too many failed sign-ins: try again in 15 minute(s)." in refused.get_data(as_text=True)
    clock.advance(minutes=10)
    assert auth.login("eva@example.com").headers["Retry-After"] == "300"
    clock.advance(minutes=5, seconds=1)
    assert auth.login("eva@example.com").status_code == 302


def test_a_success_clears_the_email_s_failures(app, client, auth, make):
    make.user("editor", "eva@example.com")
    for _ in range(4):
        auth.login("eva@example.com", "a wrong password")
    assert auth.login("eva@example.com").status_code == 302
    client.post("/logout", data={"csrf_token": auth.token("/")})
    for _ in range(4):
        assert auth.login("eva@example.com", "a wrong password").status_code == 401
    assert auth.login("eva@example.com").status_code == 302


def test_one_address_guessing_many_accounts_is_throttled_in_every_web_process(app, auth, make, st,
                                                                              database_url, tmp_path):
    app.config["LOGIN_FAILURE_LIMIT_PER_ADDRESS"] = 3
    make.user("editor", "eva@example.com")
    for name in ("ann", "bo", "cy"):
        assert auth.login(f"{name}@example.com", "a wrong password").status_code == 401
    assert auth.login("eva@example.com").status_code == 429
    # Another web process (gunicorn worker) reads the same failures from the database.
    other = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"),
                        "DATABASE_URL": database_url, "CLOCK": st.clock,
                        "LOGIN_FAILURE_LIMIT_PER_ADDRESS": 3})
    try:
        assert Auth(other.test_client()).login("eva@example.com").status_code == 429
    finally:
        state(other).engine.dispose()
    with st.sessions() as session:
        assert session.scalar(select(func.count()).select_from(LoginFailure)) == 6


def test_old_failures_are_pruned(auth, make, clock, st):
    auth.login("ann@example.com", "a wrong password")
    clock.advance(minutes=16)
    auth.login("bo@example.com", "a wrong password")
    with st.sessions() as session:
        assert set(session.scalars(select(LoginFailure.key))) == {"bo@example.com", "127.0.0.1"}


# ---- cookies -------------------------------------------------------------------------------------

def test_session_cookie_flags(app, client, auth, make):
    make.user("editor", "eva@example.com")
    cookie = auth.login("eva@example.com").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    app.config["SESSION_COOKIE_SECURE"] = True
    secure = app.test_client()
    cookie = Auth(secure).login("eva@example.com").headers["Set-Cookie"]
    assert "; Secure" in cookie


def test_behind_a_trusted_proxy_each_client_address_counts_separately(app, auth, make, st):
    make.user("editor", "eva@example.com")
    app.config["LOGIN_FAILURE_LIMIT_PER_ADDRESS"] = 2
    proxied = create_app({"TESTING": True, "INSTANCE_PATH": str(st.instance_path),
                          "DATABASE_URL": st.config["DATABASE_URL"], "CLOCK": st.clock,
                          "LOGIN_FAILURE_LIMIT_PER_ADDRESS": 2, "TRUSTED_PROXIES": 1})
    try:
        client = proxied.test_client()
        for address in ("203.0.113.7", "203.0.113.7", "198.51.100.4"):
            client.environ_base["HTTP_X_FORWARDED_FOR"] = address
            token = csrf_from(client.get("/login").get_data(as_text=True))
            client.post("/login", data={"email": "nobody@example.com", "password": "a wrong password",
                                        "csrf_token": token})
        with st.sessions() as session:
            keys = list(session.scalars(select(LoginFailure.key).where(LoginFailure.scope == "address")))
        assert sorted(keys) == ["198.51.100.4", "203.0.113.7", "203.0.113.7"]
        assert Auth(client).login("eva@example.com").status_code == 302  # from 198.51.100.4
        guesser = proxied.test_client()
        guesser.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
        assert Auth(guesser).login("eva@example.com").status_code == 429
    finally:
        state(proxied).engine.dispose()


def test_an_admin_sets_a_new_password_from_the_command_line(app, client, auth, make, st, database_url):
    make.user("editor", "eva@example.com")
    auth.login("eva@example.com")
    env = {"PLANNER_INSTANCE_PATH": str(st.instance_path), "PLANNER_DATABASE_URL": database_url}
    weak = CliRunner().invoke(main, ["user", "set-password", "eva@example.com", "--password-stdin"],
                              env=env, input="qwertyuiop\n")
    assert weak.exit_code == 1
    assert "the password was not changed (this password is too common" in weak.output
    assert signed_in(client) and user_row(st, "eva@example.com").session_version == 0
    done = CliRunner().invoke(main, ["user", "set-password", "eva@example.com", "--password-stdin"],
                              env=env, input=f"{NEW_PASSWORD}\n")
    assert done.exit_code == 0, done.output
    assert "new password set for eva@example.com; their sessions are signed out" in done.output
    assert not signed_in(client)
    assert Auth(app.test_client()).login("eva@example.com", NEW_PASSWORD).status_code == 302
    generated = CliRunner().invoke(main, ["user", "set-password", "eva@example.com"], env=env)
    password = generated.output.strip().splitlines()[-1].removeprefix("password: ")
    assert Auth(app.test_client()).login("eva@example.com", password).status_code == 302
