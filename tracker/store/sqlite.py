"""tracker's event store on SQLite: the library's recorder and factory, on tracker's tables.

`TrackerSQLiteApplicationRecorder` is the library's SQLite application recorder on
`tracker_events` that also chains each saved event's hash and runs the save's side writes
in the events' transaction, and implements the audit reads (`AuditRecorder`).
`TrackerSQLiteFactory` builds it (named by `tracker.store.environment`), the snapshot
recorder on `tracker_snapshots`, and refuses the recorders that have no table here.
"""

# S608: every table name in this module's SQL is a constant, never input.
# ruff: noqa: S608

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn
from uuid import UUID

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    StoredEvent,
)
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteCursor,
    SQLiteFactory,
    SQLiteTrackingRecorder,
)

from tracker.schema.audit import EVENT_HASHES_TABLE, SIGNATURES_TABLE
from tracker.schema.event_store import EVENTS_TABLE, SNAPSHOTS_TABLE
from tracker.store.chain import Checkpoint, EventRow, HashRow
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

SNAPSHOTS = "snapshots"


class _CanonicalIds(dict[Any, str]):
    """Stored originator ids in the chain's form, each worked out once per stream.

    SQLite stores 32 hex digits, the chain hashes a lowercase hyphenated UUID. Anything
    else (a tampered id) is only lowercased as text, and then fails its hash check.
    """

    def __missing__(self, stored: Any) -> str:
        text = str(stored).lower()
        if len(text) == 32:
            text = f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
        self[stored] = text
        return text


def _state_bytes(state: Any) -> bytes:
    # SQLite lets a tampered BLOB come back as TEXT (e.g. `state || 'x'`), or NULL.
    return b"" if state is None else str(state).encode("utf-8")


def _event_rows(cursor: sqlite3.Cursor) -> Iterator[list[EventRow]]:
    ids = _CanonicalIds()
    for page in pages(cursor):
        yield [
            (position, ids[stored_id], version, topic, s if type(s) is bytes else _state_bytes(s))
            for position, stored_id, version, topic, s in page
        ]


class SQLiteChainCursor:
    """A SQLite cursor behind the `%s` placeholders of `tracker.store.chaining`."""

    def __init__(self, cursor: SQLiteCursor) -> None:
        self.cursor = cursor

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        self.cursor.execute(statement.replace("%s", "?"), params)

    def executemany(self, statement: str, params: Sequence[Sequence[Any]]) -> None:
        if params:
            self.cursor.executemany(statement.replace("%s", "?"), params)

    def fetchone(self) -> Any:
        return self.cursor.fetchone()


class TrackerSQLiteApplicationRecorder(AuditRecorder, SQLiteApplicationRecorder):
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
        write_chain(SQLiteChainCursor(c), stored_events, list(positions or ()), self.signing)
        for side_write in side_writes(kwargs):
            side_write.write_sqlite(c, list(positions or ()))
        return positions

    # -- AuditRecorder: the audit reads and the import --------------------------------------

    def select_stream(
        self, originator_id: UUID, gt: int | None = None, lte: int | None = None, limit: int = 100
    ) -> list[PositionedEvent]:
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

    @contextmanager
    def scan_chain(self, stop: int) -> Iterator[ChainScan]:
        events_query = (
            "SELECT rowid, originator_id, originator_version, topic, state"
            f" FROM {self.events_table_name} WHERE rowid <= ? ORDER BY rowid"
        )
        # One read transaction, two cursors: both read the same snapshot of the file.
        with self.datastore.transaction(commit=False) as c:
            events = c.sqlite_cursor
            events.row_factory = None
            recorded = events.connection.cursor()
            recorded.row_factory = None
            try:
                events.execute(events_query, (stop,))
                recorded.execute(SCAN_RECORDED.replace("%s", "?"), (stop,))
                yield ChainScan(_event_rows(events), pages(recorded))
            finally:
                recorded.close()

    def select_hash_rows(self, after: int, limit: int) -> list[HashRow]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(SELECT_HASH_ROWS.replace("%s", "?"), (after, limit))
            return [hash_row(row) for row in c.fetchall()]

    def select_checkpoints(self) -> list[Checkpoint]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(SELECT_CHECKPOINTS)
            return [Checkpoint(row["position"], row["running_hash"]) for row in c.fetchall()]

    def select_signatures(self) -> list[SignedHead]:
        with self.datastore.transaction(commit=False) as c:
            # A store not yet migrated to 0008 has no signatures to read, and still verifies.
            c.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                (SIGNATURES_TABLE,),
            )
            if c.fetchone() is None:
                return []
            c.execute(SELECT_SIGNATURES)
            return [signed_head(row) for row in c.fetchall()]

    def latest_signature(self) -> SignedHead | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(SELECT_LATEST_SIGNATURE)
            found = c.fetchone()
            return signed_head(found) if found else None

    def max_hash_position(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(MAX_HASH_POSITION)
            return int(c.fetchone()["position"] or 0)

    def import_log(
        self,
        batches: Iterable[Sequence[ImportedEvent]],
        checkpoints: Sequence[Checkpoint],
        signatures: Sequence[SignedHead] = (),
    ) -> int:
        with self.datastore.get_connection(commit=True) as connection:
            c = connection.cursor()
            # IMMEDIATE: take the write lock before reading whether the store is empty.
            c.execute("BEGIN IMMEDIATE")
            try:
                count = self._import(c, batches, checkpoints, signatures)
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
        signatures: Sequence[SignedHead],
    ) -> int:
        db = SQLiteChainCursor(c)
        refuse_non_empty(db, self.events_table_name)
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
            db.executemany(INSERT_HASH_ROW, [hash_params(e.row) for e in batch])
            count += len(batch)
        db.executemany(INSERT_CHECKPOINT, checkpoint_params(checkpoints))
        db.executemany(INSERT_SIGNATURE, [signature_params(head) for head in signatures])
        return count


class TrackerSQLiteFactory(SQLiteFactory):
    """SQLite infrastructure on tracker's tables (Alembic creates them: docs/design-notes.md §4).

    The library names SQLite tables `stored_<purpose>` whatever the application; tracker's
    are named after the application (§5), so the two recorders tracker uses are built here
    on `tracker_events` and `tracker_snapshots`, and the others are refused.
    """

    application_recorder_class = TrackerSQLiteApplicationRecorder

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        # The library's application asks for one aggregate recorder, its snapshot store.
        if purpose != SNAPSHOTS:
            raise UnsupportedRecorderError.aggregate(purpose)
        recorder = self.aggregate_recorder_class(
            datastore=self.datastore, events_table_name=SNAPSHOTS_TABLE
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def application_recorder(self) -> ApplicationRecorder:
        recorder = self.application_recorder_class(datastore=self.datastore)
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def tracking_recorder(
        self, tracking_recorder_class: type[SQLiteTrackingRecorder] | None = None
    ) -> NoReturn:
        raise UnsupportedRecorderError.tracking()

    def process_recorder(self) -> NoReturn:
        raise UnsupportedRecorderError.process()
