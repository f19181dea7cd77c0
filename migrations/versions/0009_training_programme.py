"""The training programme's read models: `rm_trainings`, `rm_training_attendance`, `rm_campaigns`.

Filled by the `training` projection (projections/training.py) from the TrainingAction and
Campaign events; a store written before this revision has none of those events, so the
tables start empty and `tracker projections rebuild training` is never needed to fill them.

Revision ID: 0009_training_programme
Revises: 0007_dashboard_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_training_programme"
down_revision = "0008_signed_checkpoints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rm_campaigns",
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("theme", sa.String(length=500), nullable=False),
        sa.Column("organiser", sa.String(length=200), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("registered_position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_rm_campaigns")),
    )
    op.create_table(
        "rm_training_attendance",
        sa.Column("training_id", sa.String(length=100), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("attendance", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("training_id", "audience", name=op.f("pk_rm_training_attendance")),
    )
    op.create_table(
        "rm_trainings",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("lab", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("first_session_on", sa.Date(), nullable=False),
        sa.Column("last_session_on", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("sessions", sa.JSON(), nullable=False),
        sa.Column("place_code", sa.String(length=9), nullable=True),
        sa.Column("place_cog_year", sa.Integer(), nullable=True),
        sa.Column("partners", sa.JSON(), nullable=False),
        sa.Column("registration_ref", sa.String(length=100), nullable=True),
        sa.Column("audiences", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("project_ids", sa.JSON(), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=True),
        sa.Column("attendance", sa.Integer(), nullable=True),
        sa.Column("reschedules", sa.Integer(), nullable=False),
        sa.Column("scheduled_on", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("scheduled_position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rm_trainings")),
        sa.UniqueConstraint("scheduled_position", name=op.f("uq_rm_trainings_scheduled_position")),
    )
    with op.batch_alter_table("rm_trainings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rm_trainings_campaign"), ["campaign"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_rm_trainings_first_session_on"), ["first_session_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rm_trainings_format"), ["format"], unique=False)
        batch_op.create_index(batch_op.f("ix_rm_trainings_lab"), ["lab"], unique=False)
        batch_op.create_index(batch_op.f("ix_rm_trainings_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rm_trainings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rm_trainings_status"))
        batch_op.drop_index(batch_op.f("ix_rm_trainings_lab"))
        batch_op.drop_index(batch_op.f("ix_rm_trainings_format"))
        batch_op.drop_index(batch_op.f("ix_rm_trainings_first_session_on"))
        batch_op.drop_index(batch_op.f("ix_rm_trainings_campaign"))

    op.drop_table("rm_trainings")
    op.drop_table("rm_training_attendance")
    op.drop_table("rm_campaigns")
