"""Audit: event hash chains, checkpoints, people, admin stream.

Creates `tracker_event_hashes` (one row per stored event: its chain hash, the previous hash
of its stream and the log's running hash), `tracker_audit_checkpoints` (the running hash
every `CHECKPOINT_INTERVAL` positions) and `tracker_people` (names kept outside the log).
Events stored before this revision get their hash rows here, with the same rule the
recorders apply on every save (tracker/audit/chain.py). The admin stream is an ordinary
aggregate in the event store: it needs no table.

Revision ID: 0004_audit
Revises: 0003_read_models
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tracker.store.chain import ChainedEvent, ChainState, canonical_id

revision = "0004_audit"
down_revision = "0003_read_models"
branch_labels = None
depends_on = None

BACKFILL_BATCH = 1000


def upgrade() -> None:
    op.create_table(
        "tracker_event_hashes",
        sa.Column("position", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("originator_id", sa.Text, nullable=False),
        sa.Column("originator_version", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("running_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_tracker_event_hashes"),
    )
    op.create_index(
        "ix_tracker_event_hashes_originator_id_originator_version",
        "tracker_event_hashes",
        ["originator_id", "originator_version"],
        unique=True,
    )
    op.create_table(
        "tracker_audit_checkpoints",
        sa.Column("position", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("running_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_tracker_audit_checkpoints"),
    )
    op.create_table(
        "tracker_people",
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("display_name", sa.Text, nullable=True),
        sa.Column("email", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("forgotten_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("person_id", name="pk_tracker_people"),
    )
    _backfill_hashes()


def _backfill_hashes() -> None:
    """Chain the events stored before this revision, in position order."""
    bind = op.get_bind()
    position = "notification_id" if bind.dialect.name == "postgresql" else "rowid"
    # The column name is one of two constants, never input.
    select = sa.text(
        f"SELECT {position} AS position, originator_id, originator_version, topic, state"  # noqa: S608
        f" FROM tracker_events WHERE {position} > :after ORDER BY {position} LIMIT :limit"
    )
    insert_row = sa.text(
        "INSERT INTO tracker_event_hashes (position, originator_id, originator_version,"
        " hash, prev_hash, running_hash)"
        " VALUES (:position, :originator_id, :originator_version, :hash, :prev_hash,"
        " :running_hash)"
    )
    insert_checkpoint = sa.text(
        "INSERT INTO tracker_audit_checkpoints (position, running_hash)"
        " VALUES (:position, :running_hash)"
    )
    chain = ChainState(heads={})
    after = 0
    while True:
        events = bind.execute(select, {"after": after, "limit": BACKFILL_BATCH}).all()
        if not events:
            return
        rows, checkpoints = [], []
        for event in events:
            row, checkpoint = chain.append(
                ChainedEvent(
                    event.position,
                    canonical_id(event.originator_id),
                    event.originator_version,
                    event.topic,
                    bytes(event.state),
                )
            )
            rows.append(vars(row))
            if checkpoint is not None:
                checkpoints.append(vars(checkpoint))
        bind.execute(insert_row, rows)
        if checkpoints:
            bind.execute(insert_checkpoint, checkpoints)
        after = events[-1].position


def downgrade() -> None:
    op.drop_table("tracker_people")
    op.drop_index(
        "ix_tracker_event_hashes_originator_id_originator_version", "tracker_event_hashes"
    )
    op.drop_table("tracker_event_hashes")
    op.drop_table("tracker_audit_checkpoints")
