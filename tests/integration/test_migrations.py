"""Alembic owns every table: no drift, and a full downgrade and upgrade work, on both stores."""

from __future__ import annotations

import pkgutil

from tracker import schema
from tracker.config.settings import Settings
from tracker.store import migrate


def test_upgrade_head_leaves_no_drift(empty_database_url: str) -> None:
    settings = Settings(database_url=empty_database_url)
    migrate.upgrade(settings)
    assert migrate.drift(settings) == []
    assert migrate.current_revision(settings) == migrate.head_revision(settings)


def test_downgrade_base_then_upgrade_head_works(empty_database_url: str) -> None:
    settings = Settings(database_url=empty_database_url)
    migrate.upgrade(settings)
    migrate.downgrade(settings, "base")
    assert migrate.current_revision(settings) is None
    migrate.upgrade(settings)
    assert migrate.drift(settings) == []


def test_every_table_module_of_the_schema_is_loaded_with_it() -> None:
    """A table module left out of `tracker.schema` would be invisible to Alembic's drift check."""
    modules = {info.name for info in pkgutil.iter_modules(schema.__path__)}
    assert modules - {"metadata"} <= set(schema.__all__)
    assert all(table.metadata is schema.metadata for table in schema.metadata.tables.values())
