"""Read models and projection tracking.

Revision ID: 0003_read_models
Revises: 0002_tokens_idempotency
"""

from __future__ import annotations

revision = "0003_read_models"
down_revision = "0002_tokens_idempotency"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
