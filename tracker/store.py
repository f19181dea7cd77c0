"""The event store: eventsourcing's own SQLite and PostgreSQL modules, configured from one URL.

Why the library's own modules and not the SQLAlchemy bridge: they append 1.7-3x faster
(README, "Design decisions"), PostgreSQL's recorder follows the log with LISTEN/NOTIFY, and
Alembic can own their tables all the same (`migrations/`), with table creation turned off here.

Both back ends name their tables `tracker_events` and `tracker_snapshots`, whatever the
Python class is called. A command can hand `save()` extra writes (`side_writes=[...]`) that
run in the events' own transaction, after the events are inserted, with their positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import unquote

from eventsourcing.persistence import AggregateRecorder, ApplicationRecorder, StoredEvent
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresFactory,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteFactory
from psycopg import Cursor
from psycopg.rows import DictRow
from sqlalchemy.engine import make_url

from tracker.settings import Settings

APPLICATION_NAME = "tracker"
EVENTS_TABLE = "tracker_events"
SNAPSHOTS_TABLE = "tracker_snapshots"


class SideWrite(Protocol):
    """A write that must commit or roll back with the events of one `save()`."""

    def write_sqlite(self, cursor: SQLiteCursor, positions: Sequence[int]) -> None: ...

    def write_postgres(self, cursor: Cursor[DictRow], positions: Sequence[int]) -> None: ...


def _side_writes(kwargs: dict[str, Any]) -> Sequence[SideWrite]:
    writes: Sequence[SideWrite] = kwargs.get("side_writes") or ()
    return writes


class TrackerSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    """The library's SQLite recorder on `tracker_events`, with side writes in its transaction."""

    def __init__(self, datastore: Any, events_table_name: str = EVENTS_TABLE) -> None:
        super().__init__(datastore, events_table_name)

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        for side_write in _side_writes(kwargs):
            side_write.write_sqlite(c, list(positions or ()))
        return positions


class TrackerSQLiteFactory(SQLiteFactory):
    """SQLite infrastructure with tracker's table names."""

    application_recorder_class = TrackerSQLiteApplicationRecorder

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        recorder = self.aggregate_recorder_class(
            datastore=self.datastore, events_table_name=f"{APPLICATION_NAME}_{purpose}"
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def application_recorder(self) -> ApplicationRecorder:
        recorder = self.application_recorder_class(datastore=self.datastore)
        if self.env_create_table():
            recorder.create_table()
        return recorder


class TrackerPostgresApplicationRecorder(PostgresApplicationRecorder):
    """The library's PostgreSQL recorder, running side writes in its transaction."""

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        for side_write in _side_writes(kwargs):
            side_write.write_postgres(curs, list(positions or ()))
        return positions


class TrackerPostgresFactory(PostgresFactory):
    """PostgreSQL infrastructure (tables are named after the application: tracker_*)."""

    application_recorder_class = TrackerPostgresApplicationRecorder


def event_store_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing environment for `settings.database_url`, with table creation off."""
    url = make_url(settings.database_url)
    env: dict[str, str] = {"CREATE_TABLE": "false"}
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            msg = "tracker needs a SQLite file: use sqlite:///path/to/tracker.db"
            raise ValueError(msg)
        env |= {
            "PERSISTENCE_MODULE": f"{__name__}:TrackerSQLiteFactory",
            "SQLITE_DBNAME": url.database,
            "SQLITE_LOCK_TIMEOUT": str(settings.lock_timeout_seconds),
        }
    elif url.get_backend_name() == "postgresql":
        env |= {
            "PERSISTENCE_MODULE": f"{__name__}:TrackerPostgresFactory",
            "POSTGRES_DBNAME": url.database or "",
            "POSTGRES_HOST": url.host or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": url.username or "",
            "POSTGRES_PASSWORD": unquote(url.password) if url.password else "",
            "POSTGRES_POOL_SIZE": str(settings.pool_size),
            "POSTGRES_MAX_OVERFLOW": str(settings.pool_size),
            "POSTGRES_LOCK_TIMEOUT": str(settings.lock_timeout_seconds),
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_PRE_PING": "true",
        }
    else:
        msg = f"unsupported database {url.get_backend_name()!r}: use sqlite or postgresql"
        raise ValueError(msg)
    return env
