"""The projects' counted columns on both time axes: `rm_projects_counted_bt` (docs/time.md).

A narrow twin of `rm_projects_bt` with the columns a time slice's portfolio counts and
filters on (lab, phase, health, status): a row holds a maximal run of equal values over
business dates in one knowledge, and stays open as long as later knowledge keeps that run,
so a project has a few rows instead of one or two per event. A store upgraded here already
holds `rm_projects_bt`: the table is filled from it once, with the rows the timeline
projection writes (`projections.timeline.TimelineProjection._count`;
`tracker projections rebuild timeline --check` compares them): for each instant a
project's knowledge changed, its runs as known from then on; a run is one row from the
instant it appears to the instant it no longer holds.

Revision ID: 0016_counted_projects_timeline
Revises: 0015_portfolio_counts
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0016_counted_projects_timeline"
down_revision = "0015_portfolio_counts"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
COUNTED = ("lab", "phase", "health", "status")
# The slice index's time columns, in the order of the twins' (migration 0013).
TIME_SEEK = ("recorded_to", "valid_to", "valid_from", "recorded_from")
CHUNK = 5_000

versions = sa.table(
    "rm_projects_bt",
    sa.column("id", sa.String(100)),
    *(sa.column(name, sa.String(64)) for name in COUNTED),
    sa.column("valid_from", sa.Date),
    sa.column("valid_to", sa.Date),
    sa.column("recorded_from", TIMESTAMP),
    sa.column("recorded_to", TIMESTAMP),
)


def runs(known: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The maximal runs (valid_from, valid_to, lab, phase, health, status) of a project's
    versions of one knowledge (disjoint validities)."""
    found: list[list[Any]] = []
    for row in sorted(known, key=lambda r: r.valid_from):
        values = [row.lab, row.phase, row.health, row.status]
        if found and found[-1][1] == row.valid_from and found[-1][2:] == values:
            found[-1][1] = row.valid_to
        else:
            found.append([row.valid_from, row.valid_to, *values])
    return [tuple(run) for run in found]


def counted_rows(project_id: str, rows: Sequence[Any]) -> Iterator[dict[str, Any]]:
    """A project's counted rows, from its versions: at each instant its knowledge changed
    (the open end of time last, where every run still open ends as it does), the runs
    known from then on; each run is a row from the instant it appears to the one it ends."""
    instants = sorted({r.recorded_from for r in rows} | {r.recorded_to for r in rows})
    opening = sorted(rows, key=lambda r: r.recorded_from)
    known: list[Any] = []
    since: dict[tuple[Any, ...], Any] = {}
    index = 0
    for instant in instants:
        known = [r for r in known if r.recorded_to > instant]
        while index < len(opening) and opening[index].recorded_from <= instant:
            known.append(opening[index])
            index += 1
        now = set(runs(known))
        for run in [run for run in since if run not in now]:
            yield {
                "id": project_id,
                "valid_from": run[0],
                "valid_to": run[1],
                **dict(zip(COUNTED, run[2:], strict=True)),
                "recorded_from": since.pop(run),
                "recorded_to": instant,
            }
        for run in now:
            since.setdefault(run, instant)


def projects_rows(connection: sa.Connection) -> Iterator[dict[str, Any]]:
    """Every project's counted rows, reading the versions in project order."""
    project_id: str | None = None
    rows: list[Any] = []
    for row in connection.execute(sa.select(versions).order_by(versions.c.id)):
        if row.id != project_id:
            if project_id is not None:
                yield from counted_rows(project_id, rows)
            project_id, rows = row.id, []
        rows.append(row)
    if project_id is not None:
        yield from counted_rows(project_id, rows)


def upgrade() -> None:
    table = op.create_table(
        "rm_projects_counted_bt",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("lab", sa.String(64), nullable=False),
        sa.Column("phase", sa.String(32), nullable=False),
        sa.Column("health", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("recorded_from", TIMESTAMP, nullable=False),
        sa.Column("recorded_to", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint(
            "id", "valid_from", "recorded_from", name=op.f("pk_rm_projects_counted_bt")
        ),
    )
    connection = op.get_bind()
    # The versions are read whole before writing (one statement, no cursor left open
    # while inserting on the same connection).
    chunk: list[dict[str, Any]] = []
    for row in list(projects_rows(connection)):
        chunk.append(row)
        if len(chunk) == CHUNK:
            op.bulk_insert(table, chunk)
            chunk = []
    if chunk:
        op.bulk_insert(table, chunk)
    op.create_index(
        op.f("ix_rm_projects_counted_bt_slice"),
        "rm_projects_counted_bt",
        [*TIME_SEEK, "phase", "health", "status", "lab", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_rm_projects_counted_bt_slice"), table_name="rm_projects_counted_bt")
    op.drop_table("rm_projects_counted_bt")
