"""A batch's rows in memory: loaded once, changed by the handlers, written back in bulk.

Projection speed is per-event overhead, not the database (docs/design-notes.md §0): a
handler that runs two to four statements per event is held to about a thousand events a
second whatever the database. So the handlers of a batch work on Python dicts instead:

- a row the batch reads is loaded with the other rows of its *partition* (the first column
  of the table's primary key: the project for a project's milestones, the row itself for
  a project), once per batch, and usually for the whole batch at once (`prefetch`, one
  `SELECT … WHERE partition IN (…)` per table);
- a partition created in the batch (a project registered in it) is known to be empty in
  the database (`fresh`) and is never loaded: a rebuild into empty shadow tables reads
  back only what earlier batches wrote about projects still changing;
- at the end of the batch, `flush` writes every changed row with a few `executemany`
  statements per table — DELETE of replaced partitions, INSERT … ON CONFLICT DO UPDATE of
  changed rows that were loaded, INSERT (COPY on PostgreSQL) of new rows — before the
  runner moves the tracking position in the same transaction.

This is a cache of one transaction, not a unit of work over the application: it lives
between `ReadModelView.bind` and the batch's commit, and is dropped with it.
"""

from __future__ import annotations

import json
import operator
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

Row = dict[str, Any]
Key = tuple[Any, ...]

# Values per `IN (…)` and per DELETE: well under SQLite's and PostgreSQL's parameter limits.
CHUNK = 1000


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


# Per table: its primary key's column names, its column names, a row's key getter
# and the names of its datetime columns.
_Layout = tuple[
    tuple[str, ...], tuple[str, ...], Callable[[Mapping[str, Any]], Key], tuple[str, ...]
]
# Weak: a rebuild's shadow tables go with their metadata.
_layouts: weakref.WeakKeyDictionary[sa.Table, _Layout] = weakref.WeakKeyDictionary()


def _layout(target: sa.Table) -> _Layout:
    """A table's names and key getter, worked out once: the timeline's in-memory replays
    build a `BatchRows` of eight tables per project and batch, and walking SQLAlchemy's
    column collections each time was a tenth of the live timeline's CPU."""
    found = _layouts.get(target)
    if found is None:
        keys = tuple(c.name for c in target.primary_key.columns)
        getter = operator.itemgetter(*keys)
        key: Callable[[Mapping[str, Any]], Key] = (
            getter if len(keys) > 1 else lambda row: (getter(row),)
        )
        stamps = tuple(c.name for c in target.columns if _holds_datetimes(c.type))
        found = _layouts[target] = (keys, tuple(c.name for c in target.columns), key, stamps)
    return found


def _holds_datetimes(type_: Any) -> bool:
    try:
        return bool(type_.python_type is datetime)
    except NotImplementedError:
        return False


class TableRows:
    """The rows of one table (its live table or its shadow) that a batch has seen."""

    def __init__(self, target: sa.Table) -> None:
        self.target = target
        self.keys, self.columns, self.key, self.stamps = _layout(target)
        self.partition_column = self.keys[0]
        # partition value → {primary key → row}, for loaded, fresh and new partitions alike.
        self.partitions: dict[Any, dict[Key, Row]] = {}
        # Rows as the database holds them now (loaded, not since deleted).
        self.stored: set[Key] = set()
        # Insertion-ordered, so rows are written in the order the events made them.
        self.dirty: dict[Key, None] = {}
        # Partitions whose stored rows are deleted first at the flush.
        self.cleared: set[Any] = set()

    def load(self, connection: Connection, partitions: Iterable[Any]) -> None:
        """Read the partitions not yet known, in chunks of `CHUNK` values."""
        wanted = [p for p in dict.fromkeys(partitions) if p not in self.partitions]
        if not wanted:
            return
        for value in wanted:
            self.partitions[value] = {}
        column = self.target.c[self.partition_column]
        columns, stamps = self.columns, self.stamps
        for chunk in _chunks(wanted):
            for found in connection.execute(sa.select(self.target).where(column.in_(chunk))):
                row = dict(zip(columns, found, strict=True))
                # SQLite hands datetimes back naive; tracker writes them in UTC. Aware ones
                # compare with the batch's own (and key the timeline's rows) alike.
                for name in stamps:
                    value = row[name]
                    if value is not None and value.tzinfo is None:
                        row[name] = value.replace(tzinfo=UTC)
                key = self.key(row)
                self.partitions[row[self.partition_column]][key] = row
                self.stored.add(key)

    def partition(self, connection: Connection, value: Any) -> dict[Key, Row]:
        if value not in self.partitions:
            self.load(connection, (value,))
        return self.partitions[value]

    def flush(self, connection: Connection) -> None:
        target = self.target
        if self.cleared:
            column = target.c[self.partition_column]
            for chunk in _chunks(list(self.cleared)):
                connection.execute(sa.delete(target).where(column.in_(chunk)))
        changed: list[Row] = []
        new: list[Row] = []
        for key in self.dirty:
            row = self.partitions[key[0]][key]
            (changed if key in self.stored else new).append(row)
        postgres = connection.dialect.name == "postgresql"
        if changed:
            if postgres:
                connection.execute(_upsert(connection, target), changed)
            else:
                _write_many(connection, target, changed, "upsert")
        if new:
            if postgres:
                _copy(connection, target, new)
            else:
                _write_many(connection, target, new, "insert")
        self.partitions.clear()
        self.stored.clear()
        self.dirty.clear()
        self.cleared.clear()


def _copy(connection: Connection, table: sa.Table, rows: list[Row]) -> None:
    """New rows with PostgreSQL's COPY, in the connection's transaction.

    `executemany` sends one INSERT per row (pipelined, but parsed and planned per row); COPY
    streams them, several times faster for the thousands of rows of a rebuild's batch.
    JSON columns go as JSON text, which is what SQLAlchemy would have bound.
    """
    columns = [c.name for c in table.columns]
    json_columns = [i for i, c in enumerate(table.columns) if isinstance(c.type, sa.JSON)]
    statement = psycopg.sql.SQL("COPY {} ({}) FROM STDIN").format(
        psycopg.sql.Identifier(table.name),
        psycopg.sql.SQL(", ").join(psycopg.sql.Identifier(c) for c in columns),
    )
    values = operator.itemgetter(*columns)
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            record = values(row)
            if json_columns:
                record = list(record)
                for i in json_columns:
                    record[i] = None if record[i] is None else json.dumps(record[i])
            copy.write_row(record)


# Per (table, statement kind, dialect): the compiled statement, a getter of a row's values
# in its parameters' order, and the positions of those that need a bind processor (with it,
# and whether the column holds JSON).
_compiled: dict[
    tuple[sa.Table, str, str],
    tuple[str, Callable[[Row], Any], list[tuple[int, Callable[[Any], Any], bool]]],
] = {}


def _write_many(connection: Connection, table: sa.Table, rows: list[Row], kind: str) -> None:
    """Rows with one DBAPI `executemany` of the compiled statement (SQLite): `insert` (new
    rows) or `upsert` (INSERT … ON CONFLICT (primary key) DO UPDATE SET every other column).

    `connection.execute(statement, rows)` spends most of its time per row in SQLAlchemy's
    parameter handling; here the statement is compiled once per table, and each value that
    needs it goes through its type's own bind processor (or one that writes the same text
    faster, `_processor`) in one tight loop. A JSON value is serialised once per object: a
    twin's rows share their lists with the live row they copy, and nothing changes them
    meanwhile.
    """
    dialect = connection.dialect
    cached = _compiled.get((table, kind, dialect.name))
    if cached is None:
        statement = sa.insert(table) if kind == "insert" else _upsert(connection, table)
        compiled = statement.compile(dialect=dialect, column_keys=[c.key for c in table.columns])
        names = list(compiled.positiontup or ())
        columns = {c.key: c for c in table.columns}
        processed = []
        for index, name in enumerate(names):
            process = _processor(columns[name].type, dialect)
            if process is not None:
                processed.append((index, process, isinstance(columns[name].type, sa.JSON)))
        getter = operator.itemgetter(*names)
        values_of = getter if len(names) > 1 else (lambda row: (getter(row),))
        cached = _compiled[(table, kind, dialect.name)] = (str(compiled), values_of, processed)
    statement, values_of, processed = cached
    texts: dict[int, Any] = {}
    values: list[tuple[Any, ...]] = []
    for row in rows:
        record = list(values_of(row))
        for index, process, is_json in processed:
            value = record[index]
            if is_json and value is not None:
                text = texts.get(id(value))
                if text is None:
                    text = texts[id(value)] = process(value)
                record[index] = text
            else:
                record[index] = process(value)
        values.append(tuple(record))
    connection.exec_driver_sql(statement, values)


_SQLITE = sqlite.dialect()
_sqlite_date = sa.Date()._cached_bind_processor(_SQLITE)
_sqlite_datetime = sa.DateTime()._cached_bind_processor(_SQLITE)


def _iso_date(value: Any) -> Any:
    # What SQLite's DATE processor writes ("%(year)04d-%(month)02d-%(day)02d"), quicker.
    return value.isoformat() if type(value) is date else _sqlite_date(value)  # type: ignore[misc]


def _iso_datetime(value: Any) -> Any:
    # What SQLite's DATETIME processor writes (its default storage format: the fields with
    # microseconds, no offset), quicker.
    if type(value) is datetime:
        return value.isoformat(" ", "microseconds")[:26]
    return _sqlite_datetime(value)  # type: ignore[misc]


def _processor(type_: Any, dialect: Any) -> Any:
    """A column type's bind processor: SQLAlchemy's own, or for SQLite's dates and
    datetimes one writing the same text (tests/unit/test_rows.py checks it)."""
    if dialect.name == "sqlite" and type(type_) in (sa.Date, sa.DateTime):
        return _iso_datetime if isinstance(type_, sa.DateTime) else _iso_date
    return type_._cached_bind_processor(dialect)


def _upsert(connection: Connection, table: sa.Table) -> Any:
    """INSERT … ON CONFLICT (primary key) DO UPDATE SET every other column."""
    keys = [c.name for c in table.primary_key.columns]
    insert = (
        postgresql.insert(table)
        if connection.dialect.name == "postgresql"
        else sqlite.insert(table)
    )
    return insert.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={c.name: insert.excluded[c.name] for c in table.columns if c.name not in keys},
    )


@dataclass(slots=True)
class Touched:
    """What the handlers of one event did to a batch's rows, per live table: the keys they
    inserted, changed or removed, the rows now of those keys (a removed key is absent), and
    the tables of which they replaced a partition (whose earlier keys a partition never
    loaded cannot name: a reader treats every key it knows of that partition as touched)."""

    keys: dict[sa.Table, set[Key]]
    rows: dict[sa.Table, dict[Key, Row]]
    replaced: set[sa.Table]


# Per event (its notification id), what a projection's handlers did to its rows: written by
# one projection's worker during a rebuild, read by a projection derived from its rows (the
# timeline reads the portfolio's) instead of running the same handlers a second time.
RowFeed = dict[int, Touched]


class BatchRows:
    """Every table a projection writes, as rows in memory for the current batch.

    Handlers name the live tables; the rows go to the view's targets (the shadows during a
    rebuild). Rows returned are the cached dicts themselves: change them through `update`
    (or call `changed`), so that the flush writes them. With `recording`, the rows also
    remember the keys each event touches, until `take_touched`.
    """

    def __init__(
        self,
        connection: Connection,
        tables: Mapping[sa.Table, sa.Table],
        *,
        recording: bool = False,
    ) -> None:
        self.connection = connection
        self.tables = {table: TableRows(target) for table, target in tables.items()}
        self.recording = recording
        self._touched: dict[sa.Table, set[Key]] = {}
        self._replaced: set[sa.Table] = set()

    def take_touched(self, *, copy: bool) -> Touched:
        """What changed since the last call (needs `recording`); the rows are copies with
        `copy`, else the batch's own dicts (read them only, before the next event)."""
        keys, self._touched = self._touched, {}
        replaced, self._replaced = self._replaced, set()
        rows: dict[sa.Table, dict[Key, Row]] = {}
        for table, touched in keys.items():
            partitions = self.tables[table].partitions
            found: dict[Key, Row] = {}
            for key in touched:
                row = partitions.get(key[0], {}).get(key)
                if row is not None:
                    found[key] = dict(row) if copy else row
            rows[table] = found
        return Touched(keys, rows, replaced)

    def prefetch(self, table: sa.Table, partitions: Iterable[Any]) -> None:
        """Load these partitions of `table` now, in one statement per `CHUNK` values."""
        self.tables[table].load(self.connection, partitions)

    def fresh(self, table: sa.Table, partition: Any) -> None:
        """Declare a partition created in this batch: the database holds none of its rows."""
        self.tables[table].partitions.setdefault(partition, {})

    def partition(self, table: sa.Table, value: Any) -> list[Row]:
        """The rows of one partition (e.g. a project's milestones)."""
        return list(self.tables[table].partition(self.connection, value).values())

    def get(self, table: sa.Table, *key: Any) -> Row | None:
        """The row with this primary key, or None."""
        return self.tables[table].partition(self.connection, key[0]).get(key)

    def insert(self, table: sa.Table, **values: Any) -> Row:
        """A new row (written with INSERT: a row already stored under its key fails)."""
        rows = self.tables[table]
        key = rows.key(values)
        rows.partitions.setdefault(key[0], {})[key] = values
        rows.dirty[key] = None
        if self.recording:
            self._touched.setdefault(table, set()).add(key)
        return values

    def update(self, table: sa.Table, row: Row, **values: Any) -> Row:
        """Change a row `get` or `partition` returned."""
        row.update(values)
        self.changed(table, row)
        return row

    def changed(self, table: sa.Table, row: Row) -> None:
        rows = self.tables[table]
        key = rows.key(row)
        rows.dirty[key] = None
        if self.recording:
            self._touched.setdefault(table, set()).add(key)

    def replace_partition(self, table: sa.Table, value: Any, rows: Iterable[Row]) -> None:
        """Delete every row of a partition and write these instead."""
        table_rows = self.tables[table]
        if self.recording:
            self._touched.setdefault(table, set()).update(table_rows.partitions.get(value, {}))
            self._replaced.add(table)
        if value in table_rows.partitions and not any(
            key in table_rows.stored for key in table_rows.partitions[value]
        ):
            # Nothing of it is stored: nothing to delete, only the old new rows to forget.
            for key in table_rows.partitions[value]:
                table_rows.dirty.pop(key, None)
        else:
            table_rows.cleared.add(value)
            for key in table_rows.partitions.get(value, {}):
                table_rows.stored.discard(key)
                table_rows.dirty.pop(key, None)
        table_rows.partitions[value] = {}
        for row in rows:
            self.insert(table, **row)

    def flush(self) -> None:
        """Write every changed row, table by table, in the batch's transaction."""
        for rows in self.tables.values():
            rows.flush(self.connection)
