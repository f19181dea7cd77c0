"""Activities record their mode (in person, remote, hybrid): `rm_activities.mode`.

`ActivityLogged` v2 carries a `mode`; v1 events are upcast to the mode their kind implies
(a webinar is remote, any other kind None). Rows projected before this revision get that
same default here, which is what a rebuild computes for v1 events. Activities logged as
v2 with an explicit mode before this revision ran are only known to the log: the next
`tracker projections rebuild portfolio` fills them in (`--check` lists them).

Revision ID: 0005_activity_mode
Revises: 0004_audit
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_activity_mode"
down_revision = "0004_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rm_activities", sa.Column("mode", sa.String(length=16), nullable=True))
    op.execute("UPDATE rm_activities SET mode = 'remote' WHERE kind = 'webinar'")


def downgrade() -> None:
    # SQLite ≥ 3.35 drops an unindexed column in place, as PostgreSQL does.
    op.drop_column("rm_activities", "mode")
