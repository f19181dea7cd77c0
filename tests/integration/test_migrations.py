"""Alembic owns every table: no drift, and a full downgrade and upgrade work, on both stores."""

from __future__ import annotations

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
