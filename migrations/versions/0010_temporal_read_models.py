"""The timeline projection's bitemporal tables (docs/time.md).

One twin per project table of the portfolio (`rm_projects_bt`, `rm_milestones_bt`, …): the
same columns plus `valid_from`, `valid_to` (business dates) and `recorded_from`,
`recorded_to` (recorded instants), the primary key extended with `valid_from` and
`recorded_from`, and one index on (recorded_to, valid_to, valid_from). The projector fills
them from the log on its next run (its position starts at 0): nothing is copied here.
Also `rm_projects.health_on`, the business date of the current health assessment.

Revision ID: 0010_temporal_read_models
Revises: 0007_dashboard_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_temporal_read_models"
down_revision = "0009_training_programme"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
ID = sa.String(100)
LAB = sa.String(64)
TITLE = sa.String(200)

# The columns of each portfolio table as of this revision (name, type, nullable, in the key).
TWINS: dict[str, list[tuple[str, sa.types.TypeEngine[object], bool, bool]]] = {
    "rm_projects": [
        ("id", ID, False, True),
        ("lab", LAB, False, False),
        ("title", TITLE, False, False),
        ("summary", sa.Text(), False, False),
        ("phase", sa.String(32), False, False),
        ("phase_since", sa.Date(), False, False),
        ("health", sa.String(16), False, False),
        ("status", sa.String(16), False, False),
        ("outcome", sa.String(16), True, False),
        ("themes", sa.JSON(), False, False),
        ("territories", sa.JSON(), False, False),
        ("started_on", sa.Date(), False, False),
        ("registered_on", sa.Date(), False, False),
        ("closed_on", sa.Date(), True, False),
        ("milestones_planned", sa.Integer(), False, False),
        ("milestones_open", sa.Integer(), False, False),
        ("milestones_achieved", sa.Integer(), False, False),
        ("milestones_cancelled", sa.Integer(), False, False),
        ("activities", sa.Integer(), False, False),
        ("participants", sa.Integer(), False, False),
        ("partners", sa.Integer(), False, False),
        ("decisions", sa.Integer(), False, False),
        ("funding_cents", sa.BigInteger(), False, False),
        ("next_milestone_id", ID, True, False),
        ("next_milestone_due_on", sa.Date(), True, False),
        ("last_activity_on", sa.Date(), True, False),
        ("version", sa.Integer(), False, False),
        ("health_on", sa.Date(), True, False),
        ("registered_position", sa.BigInteger(), False, False),
        ("updated_at", TIMESTAMP, False, False),
    ],
    "rm_project_themes": [
        ("project_id", ID, False, True),
        ("theme", sa.String(100), False, True),
    ],
    "rm_project_territories": [
        ("project_id", ID, False, True),
        ("level", sa.String(16), False, True),
        ("code", sa.String(9), False, True),
        ("cog_year", sa.Integer(), False, False),
        ("department", sa.String(3), True, False),
    ],
    "rm_milestones": [
        ("project_id", ID, False, True),
        ("milestone_id", ID, False, True),
        ("lab", LAB, False, False),
        ("title", TITLE, False, False),
        ("phase", sa.String(32), False, False),
        ("due_on", sa.Date(), False, False),
        ("original_due_on", sa.Date(), False, False),
        ("status", sa.String(16), False, False),
        ("achieved_on", sa.Date(), True, False),
        ("planned_on", sa.Date(), False, False),
        ("reschedules", sa.Integer(), False, False),
        ("days_slipped", sa.Integer(), False, False),
    ],
    "rm_phase_periods": [
        ("project_id", ID, False, True),
        ("seq", sa.Integer(), False, True),
        ("phase", sa.String(32), False, False),
        ("entered_on", sa.Date(), False, False),
        ("left_on", sa.Date(), True, False),
        ("decision", sa.String(16), False, False),
    ],
    "rm_activities": [
        ("project_id", ID, False, True),
        ("activity_id", ID, False, True),
        ("lab", LAB, False, False),
        ("kind", sa.String(16), False, False),
        ("title", TITLE, False, False),
        ("held_on", sa.Date(), False, False),
        ("month", sa.String(7), False, False),
        ("participants", sa.Integer(), False, False),
        ("mode", sa.String(16), True, False),
    ],
    "rm_funding": [
        ("project_id", ID, False, True),
        ("source", TITLE, False, True),
        ("fiscal_year", sa.Integer(), False, True),
        ("lab", LAB, False, False),
        ("amount_cents", sa.BigInteger(), False, False),
        ("commitments", sa.Integer(), False, False),
    ],
    "rm_indicators": [
        ("project_id", ID, False, True),
        ("indicator_id", ID, False, True),
        ("name", TITLE, False, False),
        ("unit", sa.String(50), False, False),
        ("baseline", sa.Float(), False, False),
        ("target", sa.Float(), False, False),
        ("value", sa.Float(), True, False),
        ("measured_on", sa.Date(), True, False),
        ("measurements", sa.Integer(), False, False),
    ],
}


# The portfolio projection's tables as of this revision.
PORTFOLIO_TABLES = (
    "rm_labs",
    "rm_projects",
    "rm_project_themes",
    "rm_project_territories",
    "rm_milestones",
    "rm_phase_periods",
    "rm_activities",
    "rm_funding",
    "rm_indicators",
)


def upgrade() -> None:
    # The date of a project's current health: a late-logged older assessment no longer
    # replaces it. Unknown (NULL) for rows projected before: the next assessment wins.
    op.add_column("rm_projects", sa.Column("health_on", sa.Date(), nullable=True))
    # `health_on` (and the health a late-logged assessment no longer replaces) is derived
    # from the log: the portfolio projection starts over from position 0 on the projector's
    # next run, so that its rows equal a rebuild's (what `tracker audit verify` checks).
    for table in PORTFOLIO_TABLES:
        op.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608 - names are constants
    op.execute(sa.text("DELETE FROM projection_tracking WHERE name = 'portfolio'"))
    for table, columns in TWINS.items():
        twin = f"{table}_bt"
        op.create_table(
            twin,
            *(sa.Column(name, type_, nullable=nullable) for name, type_, nullable, key in columns),
            sa.Column("valid_from", sa.Date(), nullable=False),
            sa.Column("valid_to", sa.Date(), nullable=False),
            sa.Column("recorded_from", TIMESTAMP, nullable=False),
            sa.Column("recorded_to", TIMESTAMP, nullable=False),
            sa.PrimaryKeyConstraint(
                *(name for name, _, _, key in columns if key),
                "valid_from",
                "recorded_from",
                name=op.f(f"pk_{twin}"),
            ),
        )
        op.create_index(
            op.f(f"ix_{twin}_recorded_to_valid_to_valid_from"),
            twin,
            ["recorded_to", "valid_to", "valid_from"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_column("rm_projects", "health_on")
    for table in reversed(list(TWINS)):
        twin = f"{table}_bt"
        op.drop_index(op.f(f"ix_{twin}_recorded_to_valid_to_valid_from"), table_name=twin)
        op.drop_table(twin)
