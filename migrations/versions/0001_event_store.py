"""Event store: tracker_events and tracker_snapshots, exactly as eventsourcing expects them.

Revision ID: 0001_event_store
Revises:
"""

from __future__ import annotations

from alembic import op

revision = "0001_event_store"
down_revision = None
branch_labels = None
depends_on = None

SQLITE_UP = [
    # The rowid is the notification id: a rowid table, not WITHOUT ROWID.
    "CREATE TABLE tracker_events ("
    " originator_id TEXT NOT NULL, originator_version INTEGER NOT NULL, topic TEXT, state BLOB,"
    " PRIMARY KEY (originator_id, originator_version))",
    "CREATE TABLE tracker_snapshots ("
    " originator_id TEXT NOT NULL, originator_version INTEGER NOT NULL, topic TEXT, state BLOB,"
    " PRIMARY KEY (originator_id, originator_version)) WITHOUT ROWID",
]

POSTGRES_UP = [
    "CREATE TABLE tracker_events ("
    " originator_id uuid NOT NULL, originator_version bigint NOT NULL,"
    " topic text, state bytea, notification_id bigserial,"
    " CONSTRAINT pk_tracker_events PRIMARY KEY (originator_id, originator_version))"
    " WITH (autovacuum_enabled = true, autovacuum_vacuum_threshold = 100000000,"
    " autovacuum_vacuum_scale_factor = 0.5, autovacuum_analyze_threshold = 1000,"
    " autovacuum_analyze_scale_factor = 0.01)",
    "ALTER TABLE tracker_events ALTER COLUMN notification_id SET NOT NULL",
    "CREATE UNIQUE INDEX tracker_events_notification_id_idx"
    " ON tracker_events (notification_id ASC)",
    "CREATE TABLE tracker_snapshots ("
    " originator_id uuid NOT NULL, originator_version bigint NOT NULL,"
    " topic text, state bytea,"
    " CONSTRAINT pk_tracker_snapshots PRIMARY KEY (originator_id, originator_version))",
    # The library's recorders bulk-insert through this composite type.
    "CREATE TYPE stored_event_uuid AS"
    " (originator_id uuid, originator_version bigint, topic text, state bytea)",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in POSTGRES_UP if dialect == "postgresql" else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE tracker_snapshots")
    op.execute("DROP TABLE tracker_events")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TYPE stored_event_uuid")
