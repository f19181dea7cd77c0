"""The unfiltered portfolio's roll-ups: `rm_portfolio_counts` (docs/benchmarks.md).

One row per counted key (phase, health, status, lab, theme, territory, planned milestones
by due date, slipped and achieved milestones, activities by month, funding by year), kept
by the portfolio projection as it changes its rows (a key no row counts any more has no
row). A store upgraded here already holds those rows: the table is filled from them once,
with the rows a rebuild would write (`tracker projections rebuild portfolio --check`
compares them).

Revision ID: 0015_portfolio_counts
Revises: 0014_sign_in_identities
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_portfolio_counts"
down_revision = "0014_sign_in_identities"
branch_labels = None
depends_on = None

# The roll-ups of the live read models as of this revision (projections/portfolio.py
# `counted`): dimension, key, detail, rows counted, amount added up.
FILL = """
INSERT INTO rm_portfolio_counts (dimension, key, detail, counted, amount)
SELECT 'phase', phase, '', count(*), 0 FROM rm_projects GROUP BY phase
UNION ALL SELECT 'health', health, '', count(*), 0 FROM rm_projects GROUP BY health
UNION ALL SELECT 'status', status, '', count(*), 0 FROM rm_projects GROUP BY status
UNION ALL SELECT 'lab', lab, '', count(*), 0 FROM rm_projects GROUP BY lab
UNION ALL SELECT 'theme', theme, '', count(*), 0 FROM rm_project_themes GROUP BY theme
UNION ALL SELECT 'territory', code, level, count(*), 0
    FROM rm_project_territories GROUP BY code, level
UNION ALL SELECT 'due', CAST(due_on AS VARCHAR(10)), '', count(*), 0
    FROM rm_milestones WHERE status = 'planned' GROUP BY due_on
UNION ALL SELECT 'achieved', '', '', count(*), 0
    FROM rm_milestones WHERE status = 'achieved' HAVING count(*) > 0
UNION ALL SELECT 'slipped', '', '', count(*), 0
    FROM rm_milestones WHERE days_slipped > 0 HAVING count(*) > 0
UNION ALL SELECT 'month', month, '', count(*), sum(participants)
    FROM rm_activities GROUP BY month
UNION ALL SELECT 'year', CAST(fiscal_year AS VARCHAR(10)), '', count(*), sum(amount_cents)
    FROM rm_funding GROUP BY fiscal_year
"""


def upgrade() -> None:
    op.create_table(
        "rm_portfolio_counts",
        sa.Column("dimension", sa.String(16), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("detail", sa.String(16), nullable=False),
        sa.Column("counted", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dimension", "key", "detail", name=op.f("pk_rm_portfolio_counts")),
    )
    op.execute(FILL)


def downgrade() -> None:
    op.drop_table("rm_portfolio_counts")
