"""The engine to read the read models with, without taking SQLite's write lock.

tracker's shared engine begins every SQLite transaction with `BEGIN IMMEDIATE`, which takes
the database's write lock even for a SELECT: right for writers (they queue instead of
failing), wrong for dashboards, which would then queue behind every projector batch and
command. `Services.read_engine` (tracker/db.py `create_read_engine`) begins deferred,
read-only transactions on SQLite, and is the shared engine on PostgreSQL. This function is
kept so that projection code reads through one name.
"""

from __future__ import annotations

from sqlalchemy import Engine

from tracker.application.services import Services


def read_engine(services: Services) -> Engine:
    """The engine to read projections with: `services.read_engine`."""
    return services.read_engine
