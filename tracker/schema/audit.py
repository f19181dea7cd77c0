"""Audit tables, outside the event log: hash chains, checkpoints, and people's names.

`tracker_event_hashes`, `tracker_audit_checkpoints` and `tracker_audit_signatures` are
written by the event store's recorders in each save's own transaction (tracker/store/);
`tracker_people` holds the only personal data tracker keeps, so that erasing it never
touches the log.
"""

from __future__ import annotations

import sqlalchemy as sa

from tracker.schema.metadata import metadata

EVENT_HASHES_TABLE = "tracker_event_hashes"
CHECKPOINTS_TABLE = "tracker_audit_checkpoints"
SIGNATURES_TABLE = "tracker_audit_signatures"
PEOPLE_TABLE = "tracker_people"

event_hashes = sa.Table(
    EVENT_HASHES_TABLE,
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("originator_id", sa.Text, nullable=False),
    sa.Column("originator_version", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("running_hash", sa.String(64), nullable=False),
    sa.Index(
        "ix_tracker_event_hashes_originator_id_originator_version",
        "originator_id",
        "originator_version",
        unique=True,
    ),
)

checkpoints = sa.Table(
    CHECKPOINTS_TABLE,
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("running_hash", sa.String(64), nullable=False),
)

# Signed heads (tracker/store/signing.py): one row per signed position, written in the save's
# transaction beside the checkpoint it signs (or the head). Older stores have none.
signatures = sa.Table(
    SIGNATURES_TABLE,
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("running_hash", sa.String(64), nullable=False),
    sa.Column("signed_at", sa.String(20), nullable=False),
    sa.Column("key_id", sa.String(16), nullable=False),
    sa.Column("signature", sa.String(128), nullable=False),
)

people = sa.Table(
    PEOPLE_TABLE,
    metadata,
    sa.Column("person_id", sa.String(64), primary_key=True),
    sa.Column("display_name", sa.Text, nullable=True),
    sa.Column("email", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("forgotten_at", sa.DateTime(timezone=True), nullable=True),
)
