"""The event store: eventsourcing's own SQLite and PostgreSQL modules, configured from one URL.

Why the library's own modules and not the SQLAlchemy bridge: they append 1.7-3x faster
(README, "Design decisions"), PostgreSQL's recorder follows the log with LISTEN/NOTIFY, and
Alembic can own their tables all the same (`migrations/`), with table creation turned off here.

Both back ends name their tables `tracker_events` and `tracker_snapshots`, whatever the
Python class is called. A command can hand `save()` extra writes (`side_writes=[...]`) that
run in the events' own transaction, after the events are inserted, with their positions.
"""

# S608: every table name in this module's SQL is a constant, never input.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote
from uuid import UUID

import psycopg
import structlog
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresFactory,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteFactory
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow
from sqlalchemy.engine import make_url

from tracker.config.settings import Settings
from tracker.schema.audit import CHECKPOINTS_TABLE, EVENT_HASHES_TABLE
from tracker.schema.event_store import APPLICATION_NAME, EVENTS_TABLE
from tracker.store.chain import (
    GENESIS,
    ChainedEvent,
    ChainState,
    Checkpoint,
    HashRow,
    canonical_id,
)

INSERT_ATTEMPTS = 4
CONNECT_TIMEOUT_SECONDS = 3

log = structlog.get_logger("tracker.store.recorders")


class SideWrite(Protocol):
    """A write that must commit or roll back with the events of one `save()`."""

    def write_sqlite(self, cursor: SQLiteCursor, positions: Sequence[int]) -> None: ...

    def write_postgres(self, cursor: Cursor[DictRow], positions: Sequence[int]) -> None: ...


def _side_writes(kwargs: dict[str, Any]) -> Sequence[SideWrite]:
    writes: Sequence[SideWrite] = kwargs.get("side_writes") or ()
    return writes


class StoreNotEmptyError(Exception):
    """An import needs an empty event store."""


@dataclass(frozen=True)
class PositionedEvent:
    """A stored event with its position in the log and its recorded hash (None if missing)."""

    position: int
    stored_event: StoredEvent
    hash: str | None


@dataclass(frozen=True)
class ImportedEvent:
    """An exported event to import: its bytes and the hash row recomputed for it."""

    row: HashRow
    topic: str
    state: bytes


_SELECT_STREAM_HEAD = (
    f"SELECT hash FROM {EVENT_HASHES_TABLE} WHERE originator_id = %s AND originator_version = %s"
)
_SELECT_LOG_HEAD = (
    f"SELECT position, running_hash FROM {EVENT_HASHES_TABLE}"
    " WHERE position < %s ORDER BY position DESC LIMIT 1"
)
_INSERT_HASH_ROW = (
    f"INSERT INTO {EVENT_HASHES_TABLE} (position, originator_id, originator_version,"
    " hash, prev_hash, running_hash) VALUES (%s, %s, %s, %s, %s, %s)"
)
_INSERT_CHECKPOINT = f"INSERT INTO {CHECKPOINTS_TABLE} (position, running_hash) VALUES (%s, %s)"
_SELECT_HASH_ROWS = (
    "SELECT position, originator_id, originator_version, hash, prev_hash, running_hash"
    f" FROM {EVENT_HASHES_TABLE} WHERE position > %s ORDER BY position LIMIT %s"
)
_SELECT_CHECKPOINTS = f"SELECT position, running_hash FROM {CHECKPOINTS_TABLE} ORDER BY position"
_MAX_HASH_POSITION = f"SELECT MAX(position) AS position FROM {EVENT_HASHES_TABLE}"


class _Db(Protocol):
    """The few cursor operations the chain writer needs, with `%s` placeholders."""

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None: ...

    def executemany(self, statement: str, params: Sequence[Sequence[Any]]) -> None: ...

    def fetchone(self) -> Any: ...


class _SQLiteAdapter:
    def __init__(self, cursor: SQLiteCursor) -> None:
        self.cursor = cursor

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        self.cursor.execute(statement.replace("%s", "?"), params)

    def executemany(self, statement: str, params: Sequence[Sequence[Any]]) -> None:
        if params:
            self.cursor.executemany(statement.replace("%s", "?"), params)

    def fetchone(self) -> Any:
        return self.cursor.fetchone()


class _PostgresAdapter:
    def __init__(self, cursor: Cursor[DictRow]) -> None:
        self.cursor = cursor

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        self.cursor.execute(statement, params)

    def executemany(self, statement: str, params: Sequence[Sequence[Any]]) -> None:
        if params:
            self.cursor.executemany(statement, params)

    def fetchone(self) -> Any:
        return self.cursor.fetchone()


def _write_chain(db: _Db, stored_events: Sequence[StoredEvent], positions: Sequence[int]) -> None:
    """Write the hash rows (and due checkpoints) of events just inserted at `positions`."""
    if not positions:
        return
    events = sorted(zip(positions, stored_events, strict=True), key=lambda pair: pair[0])
    chain = ChainState(heads={})
    seen: set[str] = set()
    for _, stored in events:
        stream = canonical_id(stored.originator_id)
        first_in_batch = stream not in seen
        seen.add(stream)
        # Only a stream's first event in this save chains to a stored hash; later ones chain
        # to their predecessor in the same save (a new stream starts from genesis).
        if first_in_batch and stored.originator_version > 1:
            db.execute(_SELECT_STREAM_HEAD, (stream, stored.originator_version - 1))
            found = db.fetchone()
            if found is None:
                # Tampering or a bug: chain from genesis and let `tracker audit verify` say so.
                log.warning("chain_head_missing", stream=stream, version=stored.originator_version)
            chain.heads[stream] = (
                stored.originator_version - 1,
                found["hash"] if found else GENESIS,
            )
    db.execute(_SELECT_LOG_HEAD, (events[0][0],))
    head = db.fetchone()
    if head is not None:
        chain.last_position, chain.running = head["position"], head["running_hash"]
    rows: list[HashRow] = []
    checkpoints: list[Checkpoint] = []
    for position, stored in events:
        row, checkpoint = chain.append(
            ChainedEvent(
                position,
                canonical_id(stored.originator_id),
                stored.originator_version,
                stored.topic,
                stored.state,
            )
        )
        rows.append(row)
        if checkpoint is not None:
            checkpoints.append(checkpoint)
    db.executemany(_INSERT_HASH_ROW, [_hash_params(row) for row in rows])
    db.executemany(_INSERT_CHECKPOINT, [(k.position, k.running_hash) for k in checkpoints])


def _hash_params(row: HashRow) -> tuple[Any, ...]:
    return (
        row.position,
        row.originator_id,
        row.originator_version,
        row.hash,
        row.prev_hash,
        row.running_hash,
    )


def _hash_row(row: Any) -> HashRow:
    return HashRow(
        row["position"],
        row["originator_id"],
        row["originator_version"],
        row["hash"],
        row["prev_hash"],
        row["running_hash"],
    )


def _refuse_non_empty(db: _Db, events_table: str) -> None:
    for table in (events_table, EVENT_HASHES_TABLE, CHECKPOINTS_TABLE):
        db.execute(f"SELECT 1 AS found FROM {table} LIMIT 1")
        if db.fetchone() is not None:
            msg = f"the event store is not empty ({table} has rows): import needs an empty store"
            raise StoreNotEmptyError(msg)


class TrackerSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    """The library's SQLite recorder on `tracker_events`, chaining hashes and side writes.

    Every save also writes each event's hash row (and a checkpoint when one is due) in the
    events' own transaction. The previous hashes are read after the insert, when this
    transaction holds SQLite's write lock: a read before the first write could see a head
    that a concurrent writer is about to move, or fail with "database is locked".
    """

    def __init__(self, datastore: Any, events_table_name: str = EVENTS_TABLE) -> None:
        super().__init__(datastore, events_table_name)

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        _write_chain(_SQLiteAdapter(c), stored_events, list(positions or ()))
        for side_write in _side_writes(kwargs):
            side_write.write_sqlite(c, list(positions or ()))
        return positions

    # -- audit reads and the import (tracker/audit uses these) ------------------------------

    def select_stream(
        self, originator_id: UUID, gt: int | None = None, lte: int | None = None, limit: int = 100
    ) -> list[PositionedEvent]:
        """One stream's events in version order, with their positions and recorded hashes."""
        statement = (
            f"SELECT e.rowid AS position, e.originator_version, e.topic, e.state, h.hash"
            f" FROM {self.events_table_name} e LEFT JOIN {EVENT_HASHES_TABLE} h"
            " ON h.position = e.rowid WHERE e.originator_id = ?"
            " AND e.originator_version > ? AND e.originator_version <= ?"
            " ORDER BY e.originator_version LIMIT ?"
        )
        params = (originator_id.hex, gt or 0, lte if lte is not None else 2**62, limit)
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return [
                PositionedEvent(
                    row["position"],
                    StoredEvent(
                        originator_id, row["originator_version"], row["topic"], row["state"]
                    ),
                    row["hash"],
                )
                for row in c.fetchall()
            ]

    def select_hash_rows(self, after: int, limit: int) -> list[HashRow]:
        """Rows of `tracker_event_hashes` after a position, in position order."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(_SELECT_HASH_ROWS.replace("%s", "?"), (after, limit))
            return [_hash_row(row) for row in c.fetchall()]

    def select_checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint, in position order."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(_SELECT_CHECKPOINTS)
            return [Checkpoint(row["position"], row["running_hash"]) for row in c.fetchall()]

    def max_hash_position(self) -> int:
        """The last position with a recorded hash (0 when none)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(_MAX_HASH_POSITION)
            return int(c.fetchone()["position"] or 0)

    def import_log(
        self, batches: Iterable[Sequence[ImportedEvent]], checkpoints: Sequence[Checkpoint]
    ) -> int:
        """Insert exported events at their own positions into an empty store, in one transaction.

        Raises `StoreNotEmptyError` when the store holds any event or hash row.
        """
        with self.datastore.get_connection(commit=True) as connection:
            c = connection.cursor()
            # IMMEDIATE: take the write lock before reading whether the store is empty.
            c.execute("BEGIN IMMEDIATE")
            try:
                count = self._import(c, batches, checkpoints)
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
            return count

    def _import(
        self,
        c: SQLiteCursor,
        batches: Iterable[Sequence[ImportedEvent]],
        checkpoints: Sequence[Checkpoint],
    ) -> int:
        adapter = _SQLiteAdapter(c)
        _refuse_non_empty(adapter, self.events_table_name)
        count = 0
        insert = (
            f"INSERT INTO {self.events_table_name}"
            " (rowid, originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?, ?)"
        )
        for batch in batches:
            c.executemany(
                insert,
                [
                    (
                        e.row.position,
                        UUID(e.row.originator_id).hex,
                        e.row.originator_version,
                        e.topic,
                        e.state,
                    )
                    for e in batch
                ],
            )
            adapter.executemany(_INSERT_HASH_ROW, [_hash_params(e.row) for e in batch])
            count += len(batch)
        adapter.executemany(_INSERT_CHECKPOINT, [(k.position, k.running_hash) for k in checkpoints])
        return count


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
    """The library's PostgreSQL recorder, chaining hashes and running side writes.

    Every save also writes each event's hash row (and a checkpoint when one is due) in the
    events' own transaction, after the insert: the library has locked the events table in
    EXCLUSIVE mode by then, so reading the previous hashes is serialised with other writers.
    """

    def __init__(self, datastore: Any, *, events_table_name: str = EVENTS_TABLE) -> None:
        if datastore.enable_db_functions:
            # The database-function insert path bypasses the hook that writes the hashes.
            msg = "tracker's event store needs POSTGRES_ENABLE_DB_FUNCTIONS off"
            raise ValueError(msg)
        super().__init__(datastore, events_table_name=events_table_name)

    # Fewer attempts than the library's 10: each may wait the connect timeout, and a
    # writer should hear "503, retry" within seconds of an outage, not after a minute.
    @retry((InterfaceError, OperationalError), max_attempts=INSERT_ATTEMPTS, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's insert, except that a failure after the INSERT rolls everything back.

        The library keeps such an exception aside until the pipeline has exited, and so lets
        `conn.transaction()` COMMIT the events without their hashes and side writes. Here
        the transaction is rolled back (psycopg's `Rollback`) before the error is re-raised.
        """
        error: Exception | None = None
        notification_ids: Sequence[int] | None = None
        with self.datastore.get_connection() as conn:
            try:
                with conn.pipeline() as pipeline, conn.transaction():
                    with conn.cursor() as curs:
                        self._insert_events(curs, stored_events, **kwargs)
                    if stored_events:
                        with conn.cursor() as curs:
                            try:
                                self._insert_stored_events(curs, stored_events, **kwargs)
                                pipeline.sync()
                                notification_ids = self._fetch_ids_after_insert_events(
                                    curs, stored_events, **kwargs
                                )
                            except Exception as e:
                                error = e
                                raise psycopg.Rollback from None
            except psycopg.Rollback:
                # On a broken connection (terminated backend) the ROLLBACK itself fails and
                # psycopg lets `Rollback` out: the server rolled back already; raise the cause
                # (an OperationalError: retried above, or a 503 at the edge), never a 500.
                if error is None:
                    raise
            if error is not None:
                raise error
        return notification_ids

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        _write_chain(_PostgresAdapter(curs), stored_events, list(positions or ()))
        for side_write in _side_writes(kwargs):
            side_write.write_postgres(curs, list(positions or ()))
        return positions

    # -- audit reads and the import (tracker/audit uses these) ------------------------------

    def select_stream(
        self, originator_id: UUID, gt: int | None = None, lte: int | None = None, limit: int = 100
    ) -> list[PositionedEvent]:
        """One stream's events in version order, with their positions and recorded hashes."""
        statement = (
            "SELECT e.notification_id AS position, e.originator_version, e.topic, e.state,"
            f" h.hash FROM {self.events_table_name} e LEFT JOIN {EVENT_HASHES_TABLE} h"
            " ON h.position = e.notification_id WHERE e.originator_id = %s"
            " AND e.originator_version > %s AND e.originator_version <= %s"
            " ORDER BY e.originator_version LIMIT %s"
        )
        params = (originator_id, gt or 0, lte if lte is not None else 2**62, limit)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params)
            return [
                PositionedEvent(
                    row["position"],
                    StoredEvent(
                        originator_id, row["originator_version"], row["topic"], bytes(row["state"])
                    ),
                    row["hash"],
                )
                for row in curs.fetchall()
            ]

    def select_hash_rows(self, after: int, limit: int) -> list[HashRow]:
        """Rows of `tracker_event_hashes` after a position, in position order."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(_SELECT_HASH_ROWS, (after, limit))
            return [_hash_row(row) for row in curs.fetchall()]

    def select_checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint, in position order."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(_SELECT_CHECKPOINTS)
            return [Checkpoint(row["position"], row["running_hash"]) for row in curs.fetchall()]

    def max_hash_position(self) -> int:
        """The last position with a recorded hash (0 when none)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(_MAX_HASH_POSITION)
            found = curs.fetchone()
            return int(found["position"] or 0) if found else 0

    def import_log(
        self, batches: Iterable[Sequence[ImportedEvent]], checkpoints: Sequence[Checkpoint]
    ) -> int:
        """Insert exported events at their own positions into an empty store, in one transaction.

        Raises `StoreNotEmptyError` when the store holds any event or hash row.
        """
        insert = (
            f"INSERT INTO {self.events_table_name} (originator_id, originator_version, topic,"
            " state, notification_id) VALUES (%s, %s, %s, %s, %s)"
        )
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._lock_table(curs)
            adapter = _PostgresAdapter(curs)
            _refuse_non_empty(adapter, self.events_table_name)
            count, last = 0, 0
            for batch in batches:
                curs.executemany(
                    insert,
                    [
                        (
                            UUID(e.row.originator_id),
                            e.row.originator_version,
                            e.topic,
                            e.state,
                            e.row.position,
                        )
                        for e in batch
                    ],
                )
                adapter.executemany(_INSERT_HASH_ROW, [_hash_params(e.row) for e in batch])
                count += len(batch)
                last = max([last, *(e.row.position for e in batch)])
            adapter.executemany(
                _INSERT_CHECKPOINT, [(k.position, k.running_hash) for k in checkpoints]
            )
            if last:
                # New events continue after the imported positions.
                curs.execute(
                    f"SELECT setval(pg_get_serial_sequence('{self.events_table_name}',"
                    " 'notification_id'), %s)",
                    (last,),
                )
            return count


class TrackerPostgresFactory(PostgresFactory):
    """PostgreSQL infrastructure (tables are named after the application: tracker_*)."""

    application_recorder_class = TrackerPostgresApplicationRecorder


def event_store_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing environment for `settings.database_url`, with table creation off."""
    url = make_url(settings.database_url)
    env: dict[str, str] = {"CREATE_TABLE": "false"}
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            msg = "tracker needs a SQLite file: use sqlite:///path/to/tracker.store.engines"
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
            "POSTGRES_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT_SECONDS),
            "POSTGRES_PRE_PING": "true",
        }
    else:
        msg = f"unsupported database {url.get_backend_name()!r}: use sqlite or postgresql"
        raise ValueError(msg)
    return env
