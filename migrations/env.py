"""Alembic environment: the URL from tracker's settings, the metadata of every table."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tracker.config.settings import Settings
from tracker.schema import metadata
from tracker.store.engines import create_db_engine
from tracker.store.migrate import comparison_options

config = context.config
target_metadata = metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        **comparison_options(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    settings = config.attributes.get("settings") or Settings()
    engine = create_db_engine(settings)
    try:
        with engine.connect() as connection:
            run_with(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("tracker's migrations run online only: use `tracker migrate`")
run_migrations_online()
