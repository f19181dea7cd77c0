"""Tokens may expire: `api_tokens.expires_at` (NULL: until revoked, as every older token).

Revision ID: 0006_token_expiry
Revises: 0005_activity_mode
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_token_expiry"
down_revision = "0005_activity_mode"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # SQLite ≥ 3.35 drops an unindexed column in place, as PostgreSQL does.
    op.drop_column("api_tokens", "expires_at")
