"""Rows written beside an event, in the event's own transaction (a command's side writes).

A token's row is written with its `TokenCreated` event and a person's name erased with its
`PersonForgotten` event: both commit or roll back together, so nothing is undone by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.sqlite import SQLiteCursor
from psycopg import Cursor
from psycopg.rows import DictRow

# SQLAlchemy's SQLite DateTime format, so that a row written here reads back as a datetime.
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"


def _for_sqlite(value: Any) -> Any:
    return value.strftime(SQLITE_DATETIME) if isinstance(value, datetime) else value


@dataclass(frozen=True)
class RowWrite:
    """One SQL statement with `%s` placeholders, run after the command's events are inserted."""

    statement: str
    params: tuple[Any, ...]

    def write_sqlite(self, cursor: SQLiteCursor, positions: Sequence[int]) -> None:
        cursor.execute(
            self.statement.replace("%s", "?"), tuple(_for_sqlite(p) for p in self.params)
        )

    def write_postgres(self, cursor: Cursor[DictRow], positions: Sequence[int]) -> None:
        cursor.execute(self.statement, self.params)


@dataclass(frozen=True)
class PositionedRowWrite:
    """A `RowWrite` whose last parameter is the position of the save's last event.

    A new webhook subscription's row starts at its own `WebhookSubscribed` event: the
    deliverer sends the events recorded after the subscription, not the log's past.
    """

    statement: str
    params: tuple[Any, ...]

    def write_sqlite(self, cursor: SQLiteCursor, positions: Sequence[int]) -> None:
        RowWrite(self.statement, (*self.params, positions[-1])).write_sqlite(cursor, positions)

    def write_postgres(self, cursor: Cursor[DictRow], positions: Sequence[int]) -> None:
        RowWrite(self.statement, (*self.params, positions[-1])).write_postgres(cursor, positions)
