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

from domain.values import (
    ACTIVITY_MODE_LABELS,
    ActivityMode,
    Audience,
    Health,
    MilestoneStatus,
    Outcome,
    Phase,
    Status,
    TrainingFormat,
    TrainingStatus,
)
from projections.queries import (
    LIVE,
    TRAINING_LIVE,
    MilestoneQuery,
    ProgrammeGroup,
    ProjectQuery,
    Tables,
    TrainingQuery,
    TrainingTables,
    encode_cursor,
    milestone_page,
    project_page,
    projects_by_id,
    training_cursor,
    training_page,
    training_programme,
)
from projections.queries import MAX_PAGE as QUERY_PAGE
from tracker.application.service import TrackerApplication
from tracker.audit.history import MAX_PAGE, HistoryEntry, project_history
from tracker.exports.sheets import Column, Kind, Table
from tracker.schema.read_models import campaigns, funding

MILESTONE_STATUS_LABELS = {
    MilestoneStatus.PLANNED: "prévu",
    MilestoneStatus.ACHIEVED: "atteint",
    MilestoneStatus.CANCELLED: "annulé",
}

HEALTH_LABELS = {
    Health.ON_TRACK: "en bonne voie",
    Health.AT_RISK: "à risque",
    Health.OFF_TRACK: "en difficulté",
}
STATUS_LABELS = {Status.ACTIVE: "en cours", Status.CLOSED: "clos"}
OUTCOME_LABELS = {
    Outcome.DEPLOYED: "déployé",
    Outcome.SCALED: "essaimé",
    Outcome.HANDED_OVER: "transmis",
    Outcome.ABANDONED: "abandonné",
}
TRAINING_STATUS_LABELS = {
    TrainingStatus.SCHEDULED: "prévue",
    TrainingStatus.HELD: "tenue",
    TrainingStatus.CANCELLED: "annulée",
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


PROJECT_COLUMNS = (
    Column("lab", "Laboratoire", width=16),
    Column("title", "Projet", width=36),
    Column("phase", "Phase", width=16),
    Column("phase_since", "Dans la phase depuis", Kind.DATE, 12),
    Column("health", "Santé", width=14),
    Column("status", "Statut", width=10),
    Column("outcome", "Issue", width=12),
    Column("themes", "Thématiques", width=24),
    Column("territories", "Territoires (code COG, millésime)", width=24),
    Column("started_on", "Début", Kind.DATE, 12),
    Column("closed_on", "Clôture", Kind.DATE, 12),
    Column("next_milestone_due_on", "Prochaine échéance", Kind.DATE, 12),
    Column("milestones_planned", "Jalons prévus", Kind.INTEGER, 8),
    Column("milestones_achieved", "Jalons atteints", Kind.INTEGER, 8),
    Column("activities", "Activités", Kind.INTEGER, 8),
    Column("participants", "Participants", Kind.INTEGER, 10),
    Column("last_activity_on", "Dernière activité", Kind.DATE, 12),
    Column("funding_cents", "Financement", Kind.EUROS, 16),
    Column("id", "Identifiant du projet", width=38),
)

TRAINING_COLUMNS = (
    Column("lab", "Laboratoire", width=16),
    Column("title", "Action", width=36),
    Column("format", "Format", width=18),
    Column("mode", "Modalité", width=14),
    Column("status", "Statut", width=10),
    Column("first_session_on", "Première session", Kind.DATE, 12),
    Column("last_session_on", "Dernière session", Kind.DATE, 12),
    Column("sessions", "Sessions", Kind.INTEGER, 8),
    Column("place", "Lieu (code COG, millésime)", width=16),
    Column("audiences", "Publics", width=30),
    Column("capacity", "Capacité", Kind.INTEGER, 8),
    Column("attendance", "Agents formés", Kind.INTEGER, 10),
    Column("campaign", "Campagne", width=24),
    Column("reschedules", "Reports", Kind.INTEGER, 8),
    Column("id", "Identifiant de l'action", width=38),
)

GROUP_COLUMNS = (
    Column("key", "", width=30),
    Column("scheduled", "Prévues", Kind.INTEGER, 10),
    Column("held", "Tenues", Kind.INTEGER, 10),
    Column("cancelled", "Annulées", Kind.INTEGER, 10),
    Column("agents_trained", "Agents formés", Kind.INTEGER, 12),
)

AUDIENCE_COLUMNS = (
    Column("audience", "Public", width=30),
    Column("attendance", "Agents formés", Kind.INTEGER, 12),
)

CAMPAIGN_COLUMNS = (
    Column("name", "Campagne", width=36),
    Column("slug", "Identifiant", width=30),
    Column("starts_on", "Début", Kind.DATE, 12),
    Column("ends_on", "Fin", Kind.DATE, 12),
    Column("theme", "Thème", width=40),
    Column("organiser", "Organisateur", width=20),
)


def projects_table(engine: Engine, query: ProjectQuery | None, tables: Tables = LIVE) -> Table:
    """Every project `query` keeps (not one page), in registration order, from the read
    models or from the time slice `tables` (projections/queries.py `sliced`)."""
    rows: list[Any] = []
    after: str | None = None
    while True:
        page = project_page(engine, query, QUERY_PAGE, after, tables)
        rows.extend(page.rows)
        if not page.has_next or not page.rows:
            break
        after = encode_cursor(page.rows[-1].registered_position)
    return Table(
        "Projets",
        PROJECT_COLUMNS,
        [
            {
                **dict(r),
                "phase": Phase(r.phase).label,
                "health": HEALTH_LABELS[Health(r.health)],
                "status": STATUS_LABELS[Status(r.status)],
                "outcome": OUTCOME_LABELS[Outcome(r.outcome)] if r.outcome else None,
                "themes": " ; ".join(r.themes),
                "territories": " ; ".join(f"{t['code']} ({t['cog_year']})" for t in r.territories),
            }
            for r in rows
        ],
    )


def _trainings(engine: Engine, query: TrainingQuery, tables: TrainingTables) -> list[Any]:
    rows: list[Any] = []
    after: str | None = None
    while True:
        page = training_page(engine, query, QUERY_PAGE, after, tables)
        rows.extend(page.rows)
        if not page.has_next or not page.rows:
            return rows
        after = training_cursor(page.rows[-1])


def _training_row(r: Any) -> dict[str, Any]:
    return {
        **dict(r),
        "format": TrainingFormat(r.format).label,
        "mode": ACTIVITY_MODE_LABELS[ActivityMode(r.mode)],
        "status": TRAINING_STATUS_LABELS[TrainingStatus(r.status)],
        "sessions": len(r.sessions),
        "place": f"{r.place_code} ({r.place_cog_year})" if r.place_code else None,
        "audiences": " ; ".join(Audience(a).label for a in r.audiences),
    }


def _groups(name: str, first: str, groups: list[ProgrammeGroup], label: Any = str) -> Table:
    columns = (Column("key", first, width=30), *GROUP_COLUMNS[1:])
    return Table(name, columns, [{**vars(g), "key": label(g.key)} for g in groups])


def training_tables(
    engine: Engine, query: TrainingQuery, tables: TrainingTables = TRAINING_LIVE
) -> list[Table]:
    """The training actions `query` keeps (every one, by first session) and the
    programme's roll-ups by format, lab and audience: one sheet each; from the read models
    or from the time slice `tables` (projections/queries.py `training_sliced`)."""
    programme = training_programme(engine, query, tables)
    audiences = [{"audience": Audience(a).label, "attendance": n} for a, n in programme.by_audience]
    return [
        Table(
            "Formations",
            TRAINING_COLUMNS,
            [_training_row(r) for r in _trainings(engine, query, tables)],
        ),
        _groups("Par format", "Format", programme.by_format, lambda k: TrainingFormat(k).label),
        _groups("Par laboratoire", "Laboratoire", programme.by_lab),
        Table("Par public", AUDIENCE_COLUMNS, audiences),
    ]


def campaign_tables(engine: Engine, slug: str) -> list[Table] | None:
    """A campaign (its row), its actions across labs and their roll-ups; None if unknown."""
    with engine.connect() as connection:
        row = (
            connection.execute(sa.select(campaigns).where(campaigns.c.slug == slug))
            .mappings()
            .first()
        )
    if row is None:
        return None
    return [
        Table("Campagne", CAMPAIGN_COLUMNS, [dict(row)]),
        *training_tables(engine, TrainingQuery(campaign=slug)),
    ]


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
