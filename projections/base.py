"""What every tracker projection shares: the library's `Projection` over a `ReadModelView`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import sqlalchemy as sa
from eventsourcing.projection import Projection
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from projections.view import ReadModelView


class ReadModelProjection(Projection[ReadModelView]):
    """A projection whose `process_event` writes rows through its view's transaction.

    Subclasses declare `name` (pinned: it keys the tracking row, the lock and the CLI) and
    the `tables` they own, and register one handler per event class on their own
    `singledispatchmethod`, whose fallback records tracking for the events they ignore.
    """

    name: str = ""
    tables: ClassVar[tuple[sa.Table, ...]] = ()
    #: One line for `tracker projections status`.
    description: ClassVar[str] = ""

    @property
    def conn(self) -> Connection:
        return self.view.connection

    def t(self, table: sa.Table) -> sa.Table:
        """The table to write for `table`: itself, or its shadow during a rebuild."""
        return self.view.t(table)


def upsert_adding(
    connection: Connection,
    table: sa.Table,
    values: Mapping[str, Any],
    keys: tuple[str, ...],
    add: tuple[str, ...],
) -> None:
    """Insert a row, or add the `add` columns' values to the existing row with these keys."""
    dialect = connection.dialect.name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    statement = insert.values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={c: table.c[c] + statement.excluded[c] for c in add},
    )
    connection.execute(statement)
