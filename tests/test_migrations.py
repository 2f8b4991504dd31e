"""Migrations build the schema the models describe, and go down and up again, on both databases."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, make_url, text

from planner.cli import main
from planner.db import normalise_url
from planner.migrate import downgrade, revisions, upgrade
from planner.models import Base
from tests.conftest import PG_URL


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    request.getfixturevalue("postgres_migrated")  # fails in CI, skips visibly elsewhere
    admin = create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
    name = f"{make_url(normalise_url(PG_URL)).database}_migrations"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(normalise_url(PG_URL)).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_matches_models_and_round_trips(empty_database):
    upgrade(empty_database)
    engine = create_engine(normalise_url(empty_database))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        downgrade(empty_database, "base")
        assert inspect(engine).get_table_names() == ["alembic_version"]
        upgrade(empty_database)
        assert set(inspect(engine).get_table_names()) >= {t.name for t in Base.metadata.sorted_tables}
    finally:
        engine.dispose()


def schema(engine):
    """Tables with their columns and indexes: what an upgrade adds and its downgrade must take away."""
    inspector = inspect(engine)
    return {table: (sorted(c["name"] for c in inspector.get_columns(table)),
                    sorted(str(i["name"]) for i in inspector.get_indexes(table)))
            for table in inspector.get_table_names() if table != "alembic_version"}


def applied(engine):
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def test_every_revision_upgrades_downgrades_and_upgrades_again(empty_database):
    steps = revisions(empty_database)
    assert steps[0].down_revision is None and len(steps) >= 2
    engine = create_engine(normalise_url(empty_database))
    try:
        for step in steps:
            before = schema(engine)
            upgrade(empty_database, step.revision)
            assert step.revision in applied(engine)
            downgrade(empty_database, f"{step.revision}@-1" if step.down_revision else "base")
            assert step.revision not in applied(engine)
            assert schema(engine) == before, f"downgrading {step.revision} left changes behind"
            upgrade(empty_database, step.revision)
        upgrade(empty_database, "heads")
        assert applied(engine) == {s.revision for s in steps if s.is_head}
        downgrade(empty_database, "base")
        assert inspect(engine).get_table_names() == ["alembic_version"]
        upgrade(empty_database, "heads")
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_db_check_passes_on_a_migrated_database_and_fails_on_drift(empty_database, tmp_path):
    env = {"PLANNER_INSTANCE_PATH": str(tmp_path / "instance"), "PLANNER_DATABASE_URL": empty_database}
    behind = CliRunner().invoke(main, ["db", "check"], env=env)
    assert behind.exit_code == 1 and "Target database is not up to date" in behind.output
    assert CliRunner().invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    clean = CliRunner().invoke(main, ["db", "check"], env=env)
    assert clean.exit_code == 0, clean.output
    assert "the database schema matches the models" in clean.output
    engine = create_engine(normalise_url(empty_database))
    try:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE users ADD COLUMN nickname VARCHAR(40)"))
    finally:
        engine.dispose()
    drift = CliRunner().invoke(main, ["db", "check"], env=env)
    assert drift.exit_code == 1
    assert "the database schema and the models differ" in drift.output and "nickname" in drift.output


def test_revisions_form_one_numbered_line():
    """One head, each revision numbered one after the revision it builds on, file named after it,
    so whoever writes the next migration can see where it goes."""
    from pathlib import Path

    scripts = revisions("sqlite://")
    assert [script.revision for script in scripts] == [f"{n:04d}" for n in range(1, len(scripts) + 1)]
    assert [script.down_revision for script in scripts] == [None] + [s.revision for s in scripts[:-1]]
    for script in scripts:
        assert Path(script.path).name.startswith(script.revision + "_"), script.path
