"""Audit: event hash chains, checkpoints, people, admin stream.

Revision ID: 0004_audit
Revises: 0003_read_models
"""

from __future__ import annotations

revision = "0004_audit"
down_revision = "0003_read_models"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
