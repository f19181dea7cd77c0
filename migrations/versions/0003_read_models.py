"""Read models and projection tracking: the tables the projections fill from the log.

Revision ID: 0003_read_models
Revises: 0002_tokens_idempotency
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_read_models"
down_revision = "0002_tokens_idempotency"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projection_tracking",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("event_recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_projection_tracking")),
    )
    op.create_table(
        "rm_activities",
        sa.Column("project_id", sa.String(length=100), nullable=False),
        sa.Column("activity_id", sa.String(length=100), nullable=False),
        sa.Column("lab", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "activity_id", name=op.f("pk_rm_activities")),
    )
    op.create_index(op.f("ix_rm_activities_kind"), "rm_activities", ["kind"], unique=False)
    op.create_index(op.f("ix_rm_activities_lab"), "rm_activities", ["lab"], unique=False)
    op.create_index(op.f("ix_rm_activities_month"), "rm_activities", ["month"], unique=False)
    op.create_table(
        "rm_activity_feed",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("project_id", sa.String(length=100), nullable=True),
        sa.Column("lab", sa.String(length=64), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_rm_activity_feed")),
    )
    op.create_index(op.f("ix_rm_activity_feed_lab"), "rm_activity_feed", ["lab"], unique=False)
    op.create_index(
        op.f("ix_rm_activity_feed_project_id"), "rm_activity_feed", ["project_id"], unique=False
    )
    op.create_index(
        op.f("ix_rm_activity_feed_recorded_at"), "rm_activity_feed", ["recorded_at"], unique=False
    )
    op.create_table(
        "rm_feed_names",
        sa.Column("key", sa.String(length=210), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("lab", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rm_feed_names")),
    )
    op.create_table(
        "rm_funding",
        sa.Column("project_id", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("lab", sa.String(length=64), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("commitments", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "source", "fiscal_year", name=op.f("pk_rm_funding")),
    )
    op.create_index(op.f("ix_rm_funding_fiscal_year"), "rm_funding", ["fiscal_year"], unique=False)
    op.create_table(
        "rm_indicators",
        sa.Column("project_id", sa.String(length=100), nullable=False),
        sa.Column("indicator_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=50), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("measured_on", sa.Date(), nullable=True),
        sa.Column("measurements", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "indicator_id", name=op.f("pk_rm_indicators")),
    )
    op.create_table(
        "rm_labs",
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("region_code", sa.String(length=3), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("registered_position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_rm_labs")),
    )
    op.create_table(
        "rm_milestones",
        sa.Column("project_id", sa.String(length=100), nullable=False),
        sa.Column("milestone_id", sa.String(length=100), nullable=False),
        sa.Column("lab", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("original_due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("achieved_on", sa.Date(), nullable=True),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("reschedules", sa.Integer(), nullable=False),
        sa.Column("days_slipped", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "milestone_id", name=op.f("pk_rm_milestones")),
    )
    op.create_index(op.f("ix_rm_milestones_due_on"), "rm_milestones", ["due_on"], unique=False)
    op.create_index(op.f("ix_rm_milestones_lab"), "rm_milestones", ["lab"], unique=False)
    op.create_index(op.f("ix_rm_milestones_status"), "rm_milestones", ["status"], unique=False)
    op.create_table(
        "rm_phase_periods",
        sa.Column("project_id", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("entered_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "seq", name=op.f("pk_rm_phase_periods")),
    )
    op.create_index(op.f("ix_rm_phase_periods_phase"), "rm_phase_periods", ["phase"], unique=False)
    op.create_table(
        "rm_project_territories",
        sa.Column("project_id", sa.String(length=100), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=9), nullable=False),
        sa.Column("cog_year", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(length=3), nullable=True),
        sa.PrimaryKeyConstraint(
            "project_id", "level", "code", name=op.f("pk_rm_project_territories")
        ),
    )
    op.create_index(
        op.f("ix_rm_project_territories_code"), "rm_project_territories", ["code"], unique=False
    )
    op.create_index(
        op.f("ix_rm_project_territories_department"),
        "rm_project_territories",
        ["department"],
        unique=False,
    )
    op.create_table(
        "rm_project_themes",
        sa.Column("project_id", sa.String(length=100), nullable=False),
        sa.Column("theme", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "theme", name=op.f("pk_rm_project_themes")),
    )
    op.create_index(
        op.f("ix_rm_project_themes_theme"), "rm_project_themes", ["theme"], unique=False
    )
    op.create_table(
        "rm_projects",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("lab", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("phase_since", sa.Date(), nullable=False),
        sa.Column("health", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("territories", sa.JSON(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("milestones_planned", sa.Integer(), nullable=False),
        sa.Column("milestones_open", sa.Integer(), nullable=False),
        sa.Column("milestones_achieved", sa.Integer(), nullable=False),
        sa.Column("milestones_cancelled", sa.Integer(), nullable=False),
        sa.Column("activities", sa.Integer(), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("partners", sa.Integer(), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.Column("funding_cents", sa.BigInteger(), nullable=False),
        sa.Column("next_milestone_id", sa.String(length=100), nullable=True),
        sa.Column("next_milestone_due_on", sa.Date(), nullable=True),
        sa.Column("last_activity_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("registered_position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rm_projects")),
        sa.UniqueConstraint("registered_position", name=op.f("uq_rm_projects_registered_position")),
    )
    op.create_index(op.f("ix_rm_projects_health"), "rm_projects", ["health"], unique=False)
    op.create_index(op.f("ix_rm_projects_lab"), "rm_projects", ["lab"], unique=False)
    op.create_index(op.f("ix_rm_projects_phase"), "rm_projects", ["phase"], unique=False)
    op.create_index(op.f("ix_rm_projects_status"), "rm_projects", ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("rm_projects")
    op.drop_table("rm_project_themes")
    op.drop_table("rm_project_territories")
    op.drop_table("rm_phase_periods")
    op.drop_table("rm_milestones")
    op.drop_table("rm_labs")
    op.drop_table("rm_indicators")
    op.drop_table("rm_funding")
    op.drop_table("rm_feed_names")
    op.drop_table("rm_activity_feed")
    op.drop_table("rm_activities")
    op.drop_table("projection_tracking")
