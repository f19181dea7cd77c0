"""The bitemporal twins' slice indexes (docs/time.md "Cost").

Each twin's index on (recorded_to, valid_to, valid_from) becomes `ix_<twin>_slice` on
(recorded_to, valid_to, valid_from, recorded_from, …): "as known at T" checks both
recorded bounds on the index entries, and reads from the table only the rows of the
slice; the columns after the time columns are those the portfolio's roll-ups read and
filter on, so that each reads the index alone. Rows are untouched.

Revision ID: 0013_timeline_indexes
Revises: 0012_training_timeline
"""

from __future__ import annotations

from alembic import op

revision = "0013_timeline_indexes"
down_revision = "0012_training_timeline"
branch_labels = None
depends_on = None

TWINS = (
    "rm_projects_bt",
    "rm_project_themes_bt",
    "rm_project_territories_bt",
    "rm_milestones_bt",
    "rm_phase_periods_bt",
    "rm_activities_bt",
    "rm_funding_bt",
    "rm_indicators_bt",
    "rm_trainings_bt",  # the training timeline's twins (0012)
    "rm_training_attendance_bt",
)
TIME = ["recorded_to", "valid_to", "valid_from"]
# The columns each slice index carries after the time columns, as of this revision.
COVERS = {
    "rm_projects_bt": ["phase", "health", "status", "lab", "id"],
    "rm_project_themes_bt": ["theme", "project_id"],
    "rm_project_territories_bt": ["code", "level", "department", "project_id"],
    "rm_milestones_bt": ["status", "due_on", "days_slipped", "project_id"],
    "rm_activities_bt": ["month", "participants", "project_id"],
    "rm_funding_bt": ["fiscal_year", "amount_cents", "project_id"],
}


def upgrade() -> None:
    for twin in TWINS:
        op.drop_index(op.f(f"ix_{twin}_recorded_to_valid_to_valid_from"), table_name=twin)
        op.create_index(
            op.f(f"ix_{twin}_slice"),
            twin,
            [*TIME, "recorded_from", *COVERS.get(twin, [])],
            unique=False,
        )


def downgrade() -> None:
    for twin in TWINS:
        op.drop_index(op.f(f"ix_{twin}_slice"), table_name=twin)
        op.create_index(
            op.f(f"ix_{twin}_recorded_to_valid_to_valid_from"), twin, TIME, unique=False
        )
