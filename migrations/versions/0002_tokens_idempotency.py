"""Bearer tokens and idempotency records.

Revision ID: 0002_tokens_idempotency
Revises: 0001_event_store
"""

from __future__ import annotations

revision = "0002_tokens_idempotency"
down_revision = "0001_event_store"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
