"""Running the Alembic migrations that ship inside the package."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.script import Script, ScriptDirectory


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "planner:migrations")
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def check(database_url: str) -> None:
    """Raise when the models and the database schema (at the latest revision) differ."""
    command.check(alembic_config(database_url))


def revisions(database_url: str) -> list[Script]:
    """Every revision, each after the revisions it builds on."""
    scripts = ScriptDirectory.from_config(alembic_config(database_url))
    return list(reversed(list(scripts.walk_revisions("base", "heads"))))
