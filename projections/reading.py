"""An engine for reading the read models without taking SQLite's write lock.

tracker's shared engine begins every SQLite transaction with `BEGIN IMMEDIATE`, which takes
the database's write lock even for a SELECT: right for writers (they queue instead of
failing), wrong for dashboards, which would then queue behind every projector batch and
command. With WAL, a plain deferred transaction reads a consistent snapshot beside the
writer, so reads use a second engine without that hook. On PostgreSQL reads never block
writes, and the shared engine is used as it is.
"""

from __future__ import annotations

import threading
from typing import Any
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from sqlalchemy import Engine

from tracker.db import sqlalchemy_url
from tracker.services import Services

_readers: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()
_lock = threading.Lock()


def read_engine(services: Services) -> Engine:
    """The engine to read projections with (one per shared engine, created on first use)."""
    if not services.settings.is_sqlite:
        return services.engine
    with _lock:
        reader = _readers.get(services.engine)
        if reader is None:
            reader = _sqlite_reader(services)
            _readers[services.engine] = reader
        return reader


def _sqlite_reader(services: Services) -> Engine:
    settings = services.settings
    engine = sa.create_engine(
        sqlalchemy_url(settings), connect_args={"timeout": settings.lock_timeout_seconds}
    )

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={settings.lock_timeout_seconds * 1000}")
        # A reader must never write: refuse it at the connection.
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    return engine
