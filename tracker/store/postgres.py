"""tracker's event store on PostgreSQL: the library's recorder and factory, on tracker's tables.

`TrackerPostgresApplicationRecorder` is the library's PostgreSQL application recorder on
`tracker_events` that also chains each saved event's hash and runs the save's side writes
in the events' transaction, rolls everything back when any of that fails, and implements
the audit reads (`AuditRecorder`). `TrackerPostgresFactory` builds it (named by
`tracker.store.environment`), the snapshot recorder, and refuses the recorders that have no
table here. `notification_channel` names the channel the recorder notifies after a save.
"""

# S608: every table name in this module's SQL is a constant, never input.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn
from uuid import UUID

import psycopg
import structlog
from eventsourcing.persistence import (
    AggregateRecorder,
    InterfaceError,
    OperationalError,
    Recorder,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresFactory,
    PostgresTrackingRecorder,
)
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow, tuple_row
from psycopg_pool import ConnectionPool

from tracker.schema.audit import EVENT_HASHES_TABLE, SIGNATURES_TABLE
from tracker.schema.event_store import EVENTS_TABLE
from tracker.store.chain import Checkpoint, HashRow
from tracker.store.chaining import (
    INSERT_CHECKPOINT,
    INSERT_HASH_ROW,
    INSERT_SIGNATURE,
    MAX_HASH_POSITION,
    SCAN_RECORDED,
    SELECT_CHECKPOINTS,
    SELECT_HASH_ROWS,
    SELECT_LATEST_SIGNATURE,
    SELECT_SIGNATURES,
    checkpoint_params,
    hash_params,
    hash_row,
    pages,
    refuse_non_empty,
    side_writes,
    signature_params,
    signed_head,
    write_chain,
)
from tracker.store.interface import (
    AuditRecorder,
    ChainScan,
    ImportedEvent,
    PositionedEvent,
    UnsupportedRecorderError,
)
from tracker.store.signing import SignedHead

INSERT_ATTEMPTS = 4
log = structlog.get_logger("tracker.store.postgres")
SNAPSHOTS = "snapshots"


class PostgresChainCursor:
    """A psycopg cursor as a `tracker.store.chaining.ChainCursor` (same placeholders)."""

    def __init__(self, cursor: Cursor[DictRow]) -> None:
        self.cursor = cursor

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        self.cursor.execute(statement, params)

    def executemany(self, statement: str, params: Sequence[Sequence[Any]]) -> None:
        if params:
            self.cursor.executemany(statement, params)

    def fetchone(self) -> Any:
        return self.cursor.fetchone()


class TrackerPostgresApplicationRecorder(AuditRecorder, PostgresApplicationRecorder):
    """The library's PostgreSQL recorder, chaining hashes and running side writes.

    Every save also writes each event's hash row (and a checkpoint when one is due) in the
    events' own transaction, after the insert: the library has locked the events table in
    EXCLUSIVE mode by then (docs/design-notes.md §6), so reading the previous hashes is
    serialised with other writers.
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
        try:
            return self._insert_events_once(stored_events, **kwargs)
        except (InterfaceError, OperationalError):
            self._discard_broken_connections()
            raise

    def _discard_broken_connections(self) -> None:
        """Check every idle pooled connection now, replacing the dead ones.

        After a restart or a failover every pooled connection is dead; left alone, the pool
        would find them one checkout at a time (each attempt waiting up to the connect
        timeout), and writes would fail for seconds although the database answers. One
        failed attempt makes the pool test them all (a dead one fails at once), so the
        retry gets a fresh connection (tests/integration/test_store_failover.py).
        """
        try:
            self.datastore.pool.check()
        except Exception as error:  # the database is really down: the retry will say so
            log.warning("pool_check_failed", error=type(error).__name__)

    def _insert_events_once(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
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
        write_chain(PostgresChainCursor(curs), stored_events, list(positions or ()), self.signing)
        for side_write in side_writes(kwargs):
            side_write.write_postgres(curs, list(positions or ()))
        return positions

    # -- AuditRecorder: the audit reads and the import --------------------------------------

    def select_stream(
        self, originator_id: UUID, gt: int | None = None, lte: int | None = None, limit: int = 100
    ) -> list[PositionedEvent]:
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

    @contextmanager
    def scan_chain(self, stop: int) -> Iterator[ChainScan]:
        events_query = (
            "SELECT notification_id, originator_id::text, originator_version,"
            " topic, coalesce(state, ''::bytea)"
            f" FROM {self.events_table_name} WHERE notification_id <= %s"
            " ORDER BY notification_id"
        )
        # Two server-side cursors in one read-only snapshot, fetched page by page in binary
        # (bytea as bytes, no hex decoding). JIT off: on a long log the planner's cost
        # crosses its threshold, and compiling costs more than these index scans.
        with self.datastore.get_connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            conn.execute("SET LOCAL jit = off")
            with (
                conn.cursor("tracker_scan_events", binary=True, row_factory=tuple_row) as events,
                conn.cursor(
                    "tracker_scan_recorded", binary=True, row_factory=tuple_row
                ) as recorded,
            ):
                events.execute(events_query, (stop,))
                recorded.execute(SCAN_RECORDED, (stop,))
                yield ChainScan(pages(events), pages(recorded))

    def select_hash_rows(self, after: int, limit: int) -> list[HashRow]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(SELECT_HASH_ROWS, (after, limit))
            return [hash_row(row) for row in curs.fetchall()]

    def select_checkpoints(self) -> list[Checkpoint]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(SELECT_CHECKPOINTS)
            return [Checkpoint(row["position"], row["running_hash"]) for row in curs.fetchall()]

    def select_signatures(self) -> list[SignedHead]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            # A store not yet migrated to 0008 has no signatures to read, and still verifies.
            curs.execute("SELECT to_regclass(%s) AS found", (SIGNATURES_TABLE,))
            found = curs.fetchone()
            if found is None or found["found"] is None:
                return []
            curs.execute(SELECT_SIGNATURES)
            return [signed_head(row) for row in curs.fetchall()]

    def latest_signature(self) -> SignedHead | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(SELECT_LATEST_SIGNATURE)
            found = curs.fetchone()
            return signed_head(found) if found else None

    def max_hash_position(self) -> int:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(MAX_HASH_POSITION)
            found = curs.fetchone()
            return int(found["position"] or 0) if found else 0

    def import_log(
        self,
        batches: Iterable[Sequence[ImportedEvent]],
        checkpoints: Sequence[Checkpoint],
        signatures: Sequence[SignedHead] = (),
    ) -> int:
        insert = (
            f"INSERT INTO {self.events_table_name} (originator_id, originator_version, topic,"
            " state, notification_id) VALUES (%s, %s, %s, %s, %s)"
        )
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._lock_table(curs)
            db = PostgresChainCursor(curs)
            refuse_non_empty(db, self.events_table_name)
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
                db.executemany(INSERT_HASH_ROW, [hash_params(e.row) for e in batch])
                count += len(batch)
                last = max([last, *(e.row.position for e in batch)])
            db.executemany(INSERT_CHECKPOINT, checkpoint_params(checkpoints))
            db.executemany(INSERT_SIGNATURE, [signature_params(head) for head in signatures])
            if last:
                # New events continue after the imported positions.
                curs.execute(
                    f"SELECT setval(pg_get_serial_sequence('{self.events_table_name}',"
                    " 'notification_id'), %s)",
                    (last,),
                )
            return count


class TrackerPostgresFactory(PostgresFactory):
    """PostgreSQL infrastructure on tracker's tables (Alembic creates them: design-notes §4).

    The library names the tables after the application (`tracker_*`, docs/design-notes.md
    §5); of its recorders, tracker's event store has the application recorder (on
    `tracker_events`) and the snapshot recorder (on `tracker_snapshots`), and refuses the
    others rather than let them fail on tables that do not exist.
    """

    application_recorder_class = TrackerPostgresApplicationRecorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        pool = self.datastore.pool
        if pool._check is not None:
            # psycopg_pool takes its checkout check only at construction (no setter), and
            # the library builds the pool itself: swap it in before the pool opens.
            pool._check = recovering_check(pool)

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        # The library's application asks for one aggregate recorder, its snapshot store.
        if purpose != SNAPSHOTS:
            raise UnsupportedRecorderError.aggregate(purpose)
        return super().aggregate_recorder(purpose)

    def tracking_recorder(
        self, tracking_recorder_class: type[PostgresTrackingRecorder] | None = None
    ) -> NoReturn:
        raise UnsupportedRecorderError.tracking()

    def process_recorder(self) -> NoReturn:
        raise UnsupportedRecorderError.process()


def recovering_check(pool: ConnectionPool[Any]) -> Callable[[Any], None]:
    """The pool's checkout check (a ping), which on a dead connection checks all the others.

    After a restart or a failover every pooled connection is dead. psycopg_pool would find
    them one checkout attempt at a time, sleeping a growing back-off (1 s, 2 s, …) between
    attempts, so a write waited many seconds although the database answered. Here the first
    dead connection makes the pool test every idle one (`ConnectionPool.check`: a dead one
    fails at once and is replaced in the background), so the next attempt, after one
    back-off of about a second, gets a fresh connection
    (tests/integration/test_store_failover.py).
    """

    def check(connection: Any) -> None:
        try:
            ConnectionPool.check_connection(connection)
        except Exception:
            try:
                pool.check()
            except Exception as error:  # the database is down: the next attempt says so
                log.warning("pool_check_failed", error=type(error).__name__)
            raise

    return check


def notification_channel(recorder: Recorder) -> str:
    """The channel that PostgreSQL's application recorder NOTIFYs after each save.

    A TypeError if `recorder` is not a PostgreSQL application recorder (SQLite's has no
    notifications: docs/design-notes.md §1).
    """
    if not isinstance(recorder, PostgresApplicationRecorder):
        msg = (
            f"{type(recorder).__module__}.{type(recorder).__qualname__} is not a PostgreSQL"
            " application recorder: only PostgreSQL notifies its listeners of new events"
        )
        raise TypeError(msg)
    return recorder.channel_name
