"""The training programme on both time axes: `rm_trainings_bt`, `rm_training_attendance_bt`.

Bitemporal twins of the training projection's tables of an action, as 0010 made for the
portfolio's (docs/time.md): the same columns plus `valid_from`, `valid_to` (business dates)
and `recorded_from`, `recorded_to` (recorded instants), the primary key extended with
`valid_from` and `recorded_from`, and one index on (recorded_to, valid_to, valid_from).
The `training_timeline` projection fills them from the log on the projector's next run (its
position starts at 0): nothing is copied here.

Revision ID: 0012_training_timeline
Revises: 0011_webhooks
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_training_timeline"
down_revision = "0011_webhooks"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
ID = sa.String(100)
LAB = sa.String(64)
TITLE = sa.String(200)

# The columns of each training table as of this revision (name, type, nullable, in the key).
TWINS: dict[str, list[tuple[str, sa.types.TypeEngine[object], bool, bool]]] = {
    "rm_trainings": [
        ("id", ID, False, True),
        ("lab", LAB, False, False),
        ("title", TITLE, False, False),
        ("format", sa.String(32), False, False),
        ("mode", sa.String(16), False, False),
        ("status", sa.String(16), False, False),
        ("first_session_on", sa.Date(), False, False),
        ("last_session_on", sa.Date(), False, False),
        ("year", sa.Integer(), False, False),
        ("month", sa.String(7), False, False),
        ("sessions", sa.JSON(), False, False),
        ("place_code", sa.String(9), True, False),
        ("place_cog_year", sa.Integer(), True, False),
        ("partners", sa.JSON(), False, False),
        ("registration_ref", sa.String(100), True, False),
        ("audiences", sa.JSON(), False, False),
        ("capacity", sa.Integer(), True, False),
        ("project_ids", sa.JSON(), False, False),
        ("campaign", LAB, True, False),
        ("attendance", sa.Integer(), True, False),
        ("reschedules", sa.Integer(), False, False),
        ("scheduled_on", sa.Date(), False, False),
        ("version", sa.Integer(), False, False),
        ("scheduled_position", sa.BigInteger(), False, False),
        ("updated_at", TIMESTAMP, False, False),
    ],
    "rm_training_attendance": [
        ("training_id", ID, False, True),
        ("audience", sa.String(16), False, True),
        ("attendance", sa.Integer(), False, False),
    ],
}


def upgrade() -> None:
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
    for table in reversed(list(TWINS)):
        twin = f"{table}_bt"
        op.drop_index(op.f(f"ix_{twin}_recorded_to_valid_to_valid_from"), table_name=twin)
        op.drop_table(twin)
