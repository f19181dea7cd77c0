"""The materialised view a projection writes to: SQLAlchemy tables plus a tracking row.

This is the library's `TrackingRecorder` (what its `Projection` expects as `view`), kept on
tracker's own SQLAlchemy engine and Alembic-owned tables rather than the library's
per-projection infrastructure factory, which would open one more engine (and on SQLite one
more write lock) per projection (docs/design-notes.md §2).

A view is bound to one open transaction at a time (`bind`): `process_event` changes rows
in `view.rows` (the batch's rows in memory, `projections.rows`) and calls
`insert_tracking`, which only remembers the position; the runner flushes the rows and
writes that position in the same transaction, once per batch, with a conditional update,
so rows and position commit (or roll back) together.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from eventsourcing.persistence import Tracking, TrackingRecorder
from sqlalchemy import Connection, Engine

from projections.rows import BatchRows
from tracker.schema.read_models import projection_tracking

TableMap = Mapping[sa.Table, sa.Table]


def utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; tracker writes them in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class ReadModelView(TrackingRecorder):
    """Read-model tables (live, or their shadows during a rebuild) and one tracking row."""

    def __init__(self, engine: Engine, tracking_name: str, tables: TableMap) -> None:
        self.engine = engine
        self.tracking_name = tracking_name
        self.tables = tables
        self._connection: Connection | None = None
        self._rows: BatchRows | None = None
        self.pending: Tracking | None = None
        self.pending_recorded_at: datetime | None = None
        # Whether the batch's rows remember what each event touched (`BatchRows.recording`).
        self.recording = False

    @property
    def connection(self) -> Connection:
        """The transaction the current batch writes in."""
        if self._connection is None:
            msg = "the view is not bound to a transaction: process events through a runner"
            raise RuntimeError(msg)
        return self._connection

    @property
    def rows(self) -> BatchRows:
        """The current batch's rows, written back by `flush` (or at the end of `bind`)."""
        if self._rows is None:
            msg = "the view is not bound to a transaction: process events through a runner"
            raise RuntimeError(msg)
        return self._rows

    @contextmanager
    def bind(self, connection: Connection) -> Iterator[None]:
        """Write through `connection` for the duration of one batch.

        Rows still in memory when the block ends normally are flushed then; on an
        exception they are dropped with the transaction the caller rolls back.
        """
        self._connection, self.pending, self.pending_recorded_at = connection, None, None
        self._rows = BatchRows(connection, self.tables, recording=self.recording)
        try:
            yield
            self._rows.flush()
        finally:
            self._connection, self._rows = None, None

    def flush(self) -> None:
        """Write the batch's changed rows now (before the position moves)."""
        self.rows.flush()

    def t(self, table: sa.Table) -> sa.Table:
        """The table this view writes for `table` (itself, or its shadow)."""
        return self.tables[table]

    def insert_tracking(self, tracking: Tracking) -> None:
        """Remember the batch's furthest position; the runner commits it with the rows."""
        if self.pending is None or tracking.notification_id > self.pending.notification_id:
            self.pending = tracking

    def note_recorded_at(self, recorded_at: datetime) -> None:
        """The recording time of the last event applied, for lag in seconds."""
        self.pending_recorded_at = recorded_at

    def max_tracking_id(self, application_name: str) -> int | None:
        """The position this view has committed (None before its first batch)."""
        with self.engine.connect() as connection:
            position: int | None = connection.scalar(
                sa.select(projection_tracking.c.position).where(
                    projection_tracking.c.name == self.tracking_name
                )
            )
        return position


def now_utc() -> datetime:
    """The wall clock, for `updated_at` of tracking rows only (never for read-model rows)."""
    return datetime.now(UTC)
