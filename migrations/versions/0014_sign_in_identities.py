"""People signed in through an OpenID Connect provider: `tracker_sign_in_identities`.

Revision ID: 0014_sign_in_identities
Revises: 0013_timeline_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_sign_in_identities"
down_revision = "0013_timeline_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tracker_sign_in_identities",
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("grant_token_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_signed_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("issuer", "subject", name=op.f("pk_tracker_sign_in_identities")),
    )
    op.create_index(
        "ix_tracker_sign_in_identities_person_id",
        "tracker_sign_in_identities",
        ["person_id"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_tracker_sign_in_identities_person_id", table_name="tracker_sign_in_identities"
    )
    op.drop_table("tracker_sign_in_identities")
