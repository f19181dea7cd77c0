"""SQLAlchemy engines for everything but the event log: read models, tokens, idempotency."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from tracker.config.settings import Settings


def sqlalchemy_url(settings: Settings) -> str:
    """The database URL as SQLAlchemy wants it (psycopg 3 for PostgreSQL)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def ensure_sqlite_directory(settings: Settings) -> None:
    """Create the SQLite file's directory, so that a fresh clone just runs."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def create_db_engine(settings: Settings, **kwargs: Any) -> Engine:
    """An engine for read models, tokens and idempotency records (never at import time)."""
    ensure_sqlite_directory(settings)
    if settings.is_sqlite:
        engine = create_engine(
            sqlalchemy_url(settings),
            connect_args={"timeout": settings.lock_timeout_seconds},
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _: Any) -> None:
            # WAL lets readers run beside the writer; the busy timeout makes writers queue.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={settings.lock_timeout_seconds * 1000}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # Take the write lock at BEGIN: a deferred transaction that upgrades to a
            # writer later can fail at once with "database is locked" instead of waiting.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        @event.listens_for(engine, "connect")
        def _no_pysqlite_begin(dbapi_connection: Any, _: Any) -> None:
            dbapi_connection.isolation_level = None

        return engine
    return create_engine(
        sqlalchemy_url(settings),
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size,
        pool_pre_ping=True,
        **kwargs,
    )


def create_read_engine(settings: Settings, engine: Engine) -> Engine:
    """An engine for pure reads that never takes SQLite's write lock (`engine` itself on
    PostgreSQL, where reads never block writes).

    The shared engine begins every SQLite transaction with `BEGIN IMMEDIATE`: right for
    writers (they queue instead of failing), wrong for reads (token lookups, idempotency
    replays, lab checks, dashboards), which would then queue behind every group commit and
    projector batch. With WAL, a plain deferred transaction reads a consistent snapshot
    beside the writer; `query_only` makes sure nothing ever writes through this engine.
    """
    if not settings.is_sqlite:
        return engine
    reader = create_engine(
        sqlalchemy_url(settings), connect_args={"timeout": settings.lock_timeout_seconds}
    )

    @event.listens_for(reader, "connect")
    def _pragmas(dbapi_connection: Any, _: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={settings.lock_timeout_seconds * 1000}")
        # A reader must never write: refuse it at the connection.
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    return reader
