"""The event store's tables, as the eventsourcing library expects them, for Alembic to own.

The library's SQLite recorder uses the table's rowid as the notification id (the position);
its PostgreSQL recorder has a `notification_id` bigserial column with a unique index, and a
composite type `stored_event_uuid` for bulk inserts (created by the migration).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from tracker.schema.metadata import metadata

# The application's name, pinned: the eventsourcing library derives table names from it.
APPLICATION_NAME = "tracker"
EVENTS_TABLE = f"{APPLICATION_NAME}_events"
SNAPSHOTS_TABLE = f"{APPLICATION_NAME}_snapshots"

ORIGINATOR_ID = sa.Text().with_variant(postgresql.UUID(as_uuid=True), "postgresql")
VERSION = sa.Integer().with_variant(sa.BigInteger(), "postgresql")
STATE = sa.LargeBinary()

events = sa.Table(
    EVENTS_TABLE,
    metadata,
    sa.Column("originator_id", ORIGINATOR_ID, primary_key=True),
    sa.Column("originator_version", VERSION, primary_key=True),
    sa.Column("topic", sa.Text),
    sa.Column("state", STATE),
    # PostgreSQL only; on SQLite the position is the rowid (see migrations/env.py).
    sa.Column("notification_id", sa.BigInteger, nullable=False),
    sa.Index(f"{EVENTS_TABLE}_notification_id_idx", "notification_id", unique=True),
)

snapshots = sa.Table(
    SNAPSHOTS_TABLE,
    metadata,
    sa.Column("originator_id", ORIGINATOR_ID, primary_key=True),
    sa.Column("originator_version", VERSION, primary_key=True),
    sa.Column("topic", sa.Text),
    sa.Column("state", STATE),
)

POSTGRES_ONLY = {
    ("column", f"{EVENTS_TABLE}.notification_id"),
    ("index", f"{EVENTS_TABLE}_notification_id_idx"),
}
