"""The tables managers download as spreadsheets, each declared once (docs/spreadsheets.md).

A table is its columns (French titles, kinds) and a function reading its rows; a new
spreadsheet is a `Table` built here and a route asking for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import Engine

from domain.values import MilestoneStatus, Phase
from projections.queries import (
    LIVE,
    MilestoneQuery,
    ProjectQuery,
    Tables,
    encode_cursor,
    milestone_page,
    project_page,
    projects_by_id,
)
from projections.queries import MAX_PAGE as QUERY_PAGE
from tracker.application.service import TrackerApplication
from tracker.audit.history import MAX_PAGE, HistoryEntry, project_history
from tracker.exports.sheets import Column, Kind, Table
from tracker.schema.read_models import funding

MILESTONE_STATUS_LABELS = {
    MilestoneStatus.PLANNED: "prévu",
    MilestoneStatus.ACHIEVED: "atteint",
    MilestoneStatus.CANCELLED: "annulé",
}

MILESTONE_COLUMNS = (
    Column("lab", "Laboratoire", width=16),
    Column("project_title", "Projet", width=36),
    Column("title", "Jalon", width=36),
    Column("phase", "Phase", width=16),
    Column("status", "Statut", width=10),
    Column("due_on", "Échéance", Kind.DATE, 12),
    Column("original_due_on", "Échéance initiale", Kind.DATE, 12),
    Column("days_slipped", "Glissement (jours)", Kind.INTEGER, 10),
    Column("reschedules", "Reports", Kind.INTEGER, 8),
    Column("achieved_on", "Atteint le", Kind.DATE, 12),
    Column("overdue", "En retard", width=10),
    Column("project_id", "Identifiant du projet", width=38),
    Column("milestone_id", "Identifiant du jalon", width=38),
)

HISTORY_COLUMNS = (
    Column("position", "Position dans le journal", Kind.INTEGER, 10),
    Column("version", "Version", Kind.INTEGER, 8),
    Column("type", "Événement", width=22),
    Column("occurred_on", "Date métier", Kind.DATE, 12),
    Column("recorded_at", "Enregistré le (UTC)", Kind.DATETIME, 20),
    Column("actor", "Auteur (jeton)", width=22),
    Column("reason", "Motif", width=30),
    Column("data", "Données", width=60),
)

FUNDING_COLUMNS = (
    Column("source", "Source", width=30),
    Column("fiscal_year", "Exercice", Kind.INTEGER, 10),
    Column("amount_cents", "Montant", Kind.EUROS, 16),
    Column("commitments", "Engagements", Kind.INTEGER, 12),
)


def _pages(engine: Engine, query: MilestoneQuery, today: date) -> Iterator[Any]:
    after: str | None = None
    while True:
        page = milestone_page(engine, query, today, QUERY_PAGE, after)
        yield from page.rows
        if not page.has_next or not page.rows:
            return
        last = page.rows[-1]
        after = encode_cursor(last.due_on.isoformat(), last.project_id, last.milestone_id)


def milestones_table(engine: Engine, query: MilestoneQuery, today: date) -> Table:
    """The milestones `query` keeps, by due date, with their project's title."""
    rows = list(_pages(engine, query, today))
    ids = sorted({r.project_id for r in rows})
    titles = {p.id: p.title for p in projects_by_id(engine, ids) if p is not None}
    return Table(
        "Jalons",
        MILESTONE_COLUMNS,
        [
            {
                **dict(r),
                "project_title": titles.get(r.project_id, ""),
                "phase": Phase(r.phase).label,
                "status": MILESTONE_STATUS_LABELS[MilestoneStatus(r.status)],
                "overdue": "oui" if r.status == "planned" and r.due_on < today else "non",
            }
            for r in rows
        ],
    )


def _history_row(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "position": entry.position,
        "version": entry.version,
        "type": entry.type,
        "occurred_on": entry.occurred_on,
        "recorded_at": entry.recorded_at,
        "actor": entry.actor,
        "reason": entry.reason,
        "data": json.dumps(entry.data, ensure_ascii=False, sort_keys=True),
    }


def project_history_tables(
    application: TrackerApplication, engine: Engine, project_id: UUID
) -> list[Table]:
    """A project's whole history (one row per event) and its funding, as two sheets."""
    entries: list[HistoryEntry] = []
    after = 0
    while True:
        page = project_history(application, project_id, after, MAX_PAGE)
        entries.extend(page.entries)
        if page.next_after is None:
            break
        after = page.next_after
    with engine.connect() as connection:
        funded = connection.execute(
            sa.select(funding)
            .where(funding.c.project_id == str(project_id))
            .order_by(funding.c.fiscal_year, funding.c.source)
        ).mappings()
        funding_rows = [dict(r) for r in funded]
    return [
        Table("Historique", HISTORY_COLUMNS, [_history_row(e) for e in entries]),
        Table("Financements", FUNDING_COLUMNS, funding_rows),
    ]


HEALTH_LABELS = {"on_track": "en bonne voie", "at_risk": "à risque", "off_track": "en difficulté"}
STATUS_LABELS = {"active": "en cours", "closed": "clos"}

PROJECT_COLUMNS = (
    Column("lab", "Laboratoire", width=16),
    Column("title", "Projet", width=40),
    Column("phase", "Phase", width=16),
    Column("phase_since", "Dans la phase depuis", Kind.DATE, 12),
    Column("health", "Santé", width=14),
    Column("status", "Statut", width=10),
    Column("themes", "Thèmes", width=30),
    Column("territories", "Territoires (codes COG)", width=24),
    Column("started_on", "Commencé le", Kind.DATE, 12),
    Column("milestones_open", "Jalons ouverts", Kind.INTEGER, 10),
    Column("milestones_achieved", "Jalons atteints", Kind.INTEGER, 10),
    Column("partners", "Partenaires", Kind.INTEGER, 10),
    Column("funding_cents", "Financement", Kind.EUROS, 16),
    Column("id", "Identifiant du projet", width=38),
)


def projects_table(engine: Engine, query: ProjectQuery | None, tables: Tables = LIVE) -> Table:
    """The projects `query` keeps, in registration order, from the read models or from
    the time slice `tables` (projections/queries.py `sliced`)."""
    rows: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = project_page(engine, query, QUERY_PAGE, after, tables)
        rows.extend(
            {
                **dict(r),
                "phase": Phase(r.phase).label,
                "health": HEALTH_LABELS.get(r.health, r.health),
                "status": STATUS_LABELS.get(r.status, r.status),
                "themes": ", ".join(r.themes),
                "territories": ", ".join(t.get("code", "") for t in r.territories),
            }
            for r in page.rows
        )
        if not page.has_next or not page.rows:
            return Table("Projets", PROJECT_COLUMNS, rows)
        after = encode_cursor(page.rows[-1].registered_position)
