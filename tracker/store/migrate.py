"""Run Alembic from tracker: upgrade, downgrade, and the drift check the tests use."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from tracker.config.settings import Settings
from tracker.schema import metadata
from tracker.schema.event_store import POSTGRES_ONLY
from tracker.store.engines import create_db_engine

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


IncludeObject = Callable[[Any, str | None, str, bool, Any], bool]


def include_object_for(dialect: str) -> IncludeObject:
    """Alembic's filter: leave out the event store's PostgreSQL-only parts on SQLite."""

    def include_object(
        obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
    ) -> bool:
        if dialect != "sqlite":
            return True
        table = getattr(getattr(obj, "table", None), "name", None)
        qualified = f"{table}.{name}" if type_ == "column" else name
        return (type_, qualified) not in POSTGRES_ONLY

    return include_object


def comparison_options(dialect: str) -> dict[str, Any]:
    """The options both `alembic` runs and the drift check use."""
    return {
        "include_object": include_object_for(dialect),
        "compare_type": True,
        "render_as_batch": dialect == "sqlite",
    }


def alembic_config(settings: Settings) -> Config:
    """An Alembic config bound to `settings` (not to any alembic.ini URL)."""
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["settings"] = settings
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """`alembic upgrade` on the configured database."""
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str = "base") -> None:
    """`alembic downgrade` on the configured database."""
    command.downgrade(alembic_config(settings), revision)


def head_revision(settings: Settings) -> str | None:
    """The newest revision in migrations/."""
    return ScriptDirectory.from_config(alembic_config(settings)).get_current_head()


class _ContextLines(logging.Filter):
    """Drops the two INFO lines Alembic logs each time it opens a migration context
    ("Context impl SQLiteImpl.", "Will assume non-transactional DDL."): /readyz opens one
    on every call, and they said nothing an operator needs."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not message.startswith(("Context impl", "Will assume"))


_CONTEXT_LINES = _ContextLines()


def database_revision(connection: Connection) -> str | None:
    """The revision the connected database is at, without Alembic's per-context log lines."""
    # Added once (addFilter ignores a filter it has), kept: the lines say nothing anywhere.
    logging.getLogger("alembic.runtime.migration").addFilter(_CONTEXT_LINES)
    return MigrationContext.configure(connection).get_current_revision()


def current_revision(settings: Settings) -> str | None:
    """The revision the database is at (None when it was never migrated)."""
    engine = create_db_engine(settings)
    try:
        with engine.connect() as connection:
            return database_revision(connection)
    finally:
        engine.dispose()


def drift(settings: Settings) -> list[Any]:
    """Differences between the migrated database and the tables the code declares."""
    engine = create_db_engine(settings)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts=comparison_options(connection.dialect.name)
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()
