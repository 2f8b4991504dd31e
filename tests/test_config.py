"""Configuration layering, the secret key, and a factory that touches nothing."""

from planner import config, create_app


def test_defaults_then_instance_file_then_environment(tmp_path):
    (tmp_path / "config.toml").write_text('timezone = "Europe/Berlin"\ncommunity_name = "Alumni"\n'
                                          "lease_seconds = 30\n")
    loaded = config.load(tmp_path, {"PLANNER_COMMUNITY_NAME": "Python learners",
                                    "PLANNER_ALLOW_SELF_APPROVAL": "true",
                                    "PLANNER_MAX_ATTEMPTS": "3"})
    assert loaded["TIMEZONE"] == "Europe/Berlin"  # from the file
    assert loaded["COMMUNITY_NAME"] == "Python learners"  # the environment wins
    assert loaded["ALLOW_SELF_APPROVAL"] is True and loaded["MAX_ATTEMPTS"] == 3
    assert loaded["LEASE_SECONDS"] == 30
    assert loaded["DISPATCH_BATCH_SIZE"] == config.DEFAULTS["DISPATCH_BATCH_SIZE"]
    assert loaded["DATABASE_URL"] == f"sqlite:///{tmp_path / 'planner.sqlite3'}"


def test_secret_key_is_generated_once_owner_only(tmp_path):
    first = config.secret_key(tmp_path)
    assert len(first) > 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert config.secret_key(tmp_path) == first


def test_factory_never_touches_the_database(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANNER_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PLANNER_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nothing")
    app = create_app()
    assert app.config["DATABASE_URL"].endswith("/nothing")
    assert app.instance_path == str(tmp_path)
    assert (tmp_path / "secret_key").exists()


def test_lists_from_the_environment(tmp_path):
    loaded = config.load(tmp_path, {"PLANNER_CHANNEL_KINDS": "outbox, webhook,,telegram"})
    assert loaded["CHANNEL_KINDS"] == ["outbox", "webhook", "telegram"]
