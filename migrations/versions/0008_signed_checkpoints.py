"""Signed heads: `tracker_audit_signatures` (position, running hash, time, key id, signature).

Written by the event store in each save's transaction when a signing key is configured
(tracker/store/signing.py, docs/audit.md "Signed heads"). Existing checkpoints stay unsigned
and still verify.

Revision ID: 0008_signed_checkpoints
Revises: 0007_dashboard_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_signed_checkpoints"
down_revision = "0007_dashboard_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tracker_audit_signatures",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("running_hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.String(length=20), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_tracker_audit_signatures")),
    )


def downgrade() -> None:
    op.drop_table("tracker_audit_signatures")
