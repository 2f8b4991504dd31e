"""Alembic environment: the URL comes from planner's own configuration, never from an ini file."""

from alembic import context
from sqlalchemy import create_engine, pool

from planner.db import normalise_url
from planner.models import Base

config = context.config
url = normalise_url(config.get_main_option("sqlalchemy.url"))


def run_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True,
                      render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
