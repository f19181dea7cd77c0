"""Alembic environment: the URL from tracker's settings, the metadata of every table."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tracker.db import create_db_engine, load_all_tables
from tracker.migrate import comparison_options
from tracker.settings import Settings

config = context.config
target_metadata = load_all_tables()


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
