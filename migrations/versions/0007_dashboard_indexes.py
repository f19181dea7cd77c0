"""The dashboards' milestone index: `rm_milestones (status, due_on, project_id, milestone_id)`.

The overdue and due-soon milestone pages filter on `status = 'planned'` and a range of
`due_on`, and order by `(due_on, project_id, milestone_id)`: with this index they read the
page's rows in order and stop (no sort of every match), and their counts read the index
alone. The other dashboard reads already have theirs (primary keys, `registered_position`).

Revision ID: 0007_dashboard_indexes
Revises: 0006_token_expiry
"""

from __future__ import annotations

from alembic import op

revision = "0007_dashboard_indexes"
down_revision = "0006_token_expiry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_rm_milestones_status_due_on_project_id_milestone_id"),
        "rm_milestones",
        ["status", "due_on", "project_id", "milestone_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_rm_milestones_status_due_on_project_id_milestone_id"), table_name="rm_milestones"
    )
