"""Signed heads: `tracker_audit_signatures`; tokens issued to a person: `api_tokens.person_id`.

Written by the event store in each save's transaction when a signing key is configured
(tracker/store/signing.py, docs/audit.md "Signed heads"). Existing checkpoints stay unsigned
and still verify. `api_tokens.person_id` names the person (tracker_people) a token was
issued to, so histories can show an actor's name while it is not erased; older tokens have
none.

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
    op.add_column("api_tokens", sa.Column("person_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # SQLite ≥ 3.35 drops an unindexed column in place, as PostgreSQL does.
    op.drop_column("api_tokens", "person_id")
    op.drop_table("tracker_audit_signatures")
