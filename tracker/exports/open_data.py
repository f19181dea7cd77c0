"""The open-data package: a Frictionless Data Package of the portfolio of the labs that
chose to publish (docs/open-data.md).

Each CSV resource is one `Resource` declaration: its Table Schema (fields with French
titles and descriptions, types, constraints, following schema.data.gouv.fr's conventions)
and the function reading its rows from the read models. Adding a table to the package is
one more declaration in `RESOURCES`.

The package describes a `Moment`: the latest state (the live read models), or the state on
a business date `on` as known at an instant `known_at`: the portfolio from the timeline's
bitemporal twins (`projections.queries.sliced`), the training programme from the training
timeline's twins (`projections.queries.training_sliced`), as GraphQL's `on`/`asKnownAt` read
them. Campaigns never change once registered: the live ones, less those registered after
`known_at` (each campaign's registration instant read from its first event).

What is published: only labs whose last `LabPublicationChanged` says so, and never an
actor, a token, a person's name, a reason, an evidence text or a partner: the resources
name projects, milestones and places, not people.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy import Connection

from domain.campaign import Campaign
from domain.values import (
    ActivityMode,
    Audience,
    Health,
    MilestoneStatus,
    Outcome,
    Phase,
    Status,
    TerritoryLevel,
    TrainingFormat,
    TrainingStatus,
)
from projections.cog import territory_name
from projections.queries import (
    LIVE,
    TRAINING_LIVE,
    Tables,
    TrainingTables,
    instant,
    sliced,
    training_sliced,
)
from tracker.application.services import Services
from tracker.schema.read_models import campaigns, labs

LICENSE = {
    "name": "etalab-2.0",
    "title": "Licence Ouverte / Open Licence version 2.0",
    "path": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
}
COG_CODE_PATTERN = r"^([0-9]{2}|2[AB]|97[1-6]|[0-9]{5}|2[AB][0-9]{3}|2[0-9]{8})$"
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


@dataclass(frozen=True)
class Field:
    """A Table Schema field: snake_case French name, French title and description."""

    name: str
    title: str
    description: str
    type: str = "string"
    example: str = ""
    required: bool = False
    enum: Sequence[str] | None = None
    pattern: str | None = None
    minimum: int | None = None

    def schema(self) -> dict[str, Any]:
        constraints: dict[str, Any] = {"required": self.required}
        if self.enum is not None:
            constraints["enum"] = list(self.enum)
        if self.pattern is not None:
            constraints["pattern"] = self.pattern
        if self.minimum is not None:
            constraints["minimum"] = self.minimum
        described: dict[str, Any] = {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "type": self.type,
        }
        if self.type == "date":
            described["format"] = "%Y-%m-%d"
        if self.example:
            described["example"] = self.example
        described["constraints"] = constraints
        return described


@dataclass(frozen=True)
class Moment:
    """What the package describes: the state on the business date `on` (None: the latest),
    as known at the instant `known_at` (None: now)."""

    on: date | None = None
    known_at: datetime | None = None

    @property
    def latest(self) -> bool:
        """The latest state as known now: the live read models."""
        return self.on is None and self.known_at is None

    def source(self, services: Services) -> Source:
        """Where this moment's rows are read from."""
        if self.latest:
            return Source(LIVE, TRAINING_LIVE)
        return Source(
            sliced(self.on, self.known_at),
            training_sliced(self.on, self.known_at),
            None if self.known_at is None else self._campaigns_known(services, self.known_at),
        )

    @staticmethod
    def _campaigns_known(services: Services, known_at: datetime) -> frozenset[str]:
        """The slugs of the campaigns registered by `known_at` (a handful, nationally)."""
        moment = instant(known_at)
        with services.engine.connect() as connection:
            slugs = connection.execute(sa.select(campaigns.c.slug)).scalars().all()
        known: set[str] = set()
        for slug in slugs:
            registered: Campaign = services.application.repository.get(
                Campaign.id_for(slug), version=1
            )
            if registered.created_on <= moment:
                known.add(slug)
        return frozenset(known)

    def query(self) -> str:
        """This moment as a URL query (`?on=…&as_known_at=…`), empty for the latest."""
        asked: dict[str, str] = {}
        if self.on is not None:
            asked["on"] = self.on.isoformat()
        if self.known_at is not None:
            asked["as_known_at"] = instant(self.known_at).isoformat()
        return f"?{urlencode(asked)}" if asked else ""

    def properties(self) -> dict[str, Any]:
        """The descriptor's `on` and `asKnownAt` (null: the latest, as known now)."""
        return {
            "on": self.on.isoformat() if self.on is not None else None,
            "asKnownAt": instant(self.known_at).isoformat() if self.known_at else None,
        }


LATEST = Moment()


@dataclass(frozen=True)
class Source:
    """A moment's tables: the project tables and the training tables to query (the live
    ones, or a time slice of their twins)."""

    tables: Tables
    training: TrainingTables
    campaigns: frozenset[str] | None = None
    """The campaigns known at the moment's instant (None: every registered one)."""


Rows = Callable[[Connection, Sequence[str], Source], Iterable[dict[str, Any]]]


@dataclass(frozen=True)
class Resource:
    """One CSV of the package: its schema and its rows (for the labs given, from a
    moment's source)."""

    name: str
    title: str
    description: str
    fields: Sequence[Field]
    primary_key: Sequence[str]
    rows: Rows
    foreign_keys: Sequence[dict[str, Any]] = field(default_factory=tuple)

    @property
    def path(self) -> str:
        return f"{self.name}.csv"

    def descriptor(self, query: str = "") -> dict[str, Any]:
        schema: dict[str, Any] = {
            "fields": [f.schema() for f in self.fields],
            "primaryKey": list(self.primary_key),
            "missingValues": [""],
        }
        if self.foreign_keys:
            schema["foreignKeys"] = list(self.foreign_keys)
        return {
            "name": self.name,
            "path": self.path + query,
            "title": self.title,
            "description": self.description,
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "profile": "tabular-data-resource",
            "schema": schema,
        }

    def csv_text(self, connection: Connection, published: Sequence[str], source: Source) -> str:
        """The resource's CSV: a header of field names, then its rows."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([f.name for f in self.fields])
        for row in self.rows(connection, published, source):
            writer.writerow([_cell(row.get(f.name)) for f in self.fields])
        return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# -- the resources -----------------------------------------------------------------------------


def _project_rows(
    connection: Connection, published: Sequence[str], source: Source
) -> Iterable[dict[str, Any]]:
    tables = source.tables
    p, lab = tables.projects, labs
    query = (
        sa.select(p, lab.c.name.label("lab_name"), lab.c.region_code)
        .join(lab, lab.c.slug == p.c.lab)
        .where(p.c.lab.in_(published))
        .order_by(p.c.registered_position)
    )
    for r in connection.execute(query).mappings():
        yield {
            "id": r.id,
            "laboratoire": r.lab,
            "nom_laboratoire": r.lab_name,
            "region_laboratoire": r.region_code,
            "titre": r.title,
            "resume": r.summary,
            "phase": r.phase,
            "sante": r.health,
            "statut": r.status,
            "issue": r.outcome,
            "thematiques": ";".join(r.themes),
            "date_debut": r.started_on,
            "date_cloture": r.closed_on,
            "jalons_prevus": r.milestones_planned,
            "jalons_atteints": r.milestones_achieved,
            "jalons_annules": r.milestones_cancelled,
            "activites": r.activities,
            "participants": r.participants,
            "financement_euros": f"{r.funding_cents / 100:.2f}",
        }


def _milestone_rows(
    connection: Connection, published: Sequence[str], source: Source
) -> Iterable[dict[str, Any]]:
    tables = source.tables
    m = tables.milestones
    query = (
        sa.select(m)
        .where(m.c.lab.in_(published))
        .order_by(m.c.due_on, m.c.project_id, m.c.milestone_id)
    )
    for r in connection.execute(query).mappings():
        yield {
            "id_projet": r.project_id,
            "id_jalon": r.milestone_id,
            "laboratoire": r.lab,
            "titre": r.title,
            "phase": r.phase,
            "statut": r.status,
            "echeance": r.due_on,
            "echeance_initiale": r.original_due_on,
            "date_atteinte": r.achieved_on,
            "jours_glissement": r.days_slipped,
            "reports": r.reschedules,
        }


def _territory_rows(
    connection: Connection, published: Sequence[str], source: Source
) -> Iterable[dict[str, Any]]:
    tables = source.tables
    t, p = tables.project_territories, tables.projects
    query = (
        sa.select(t)
        .join(p, p.c.id == t.c.project_id)
        .where(p.c.lab.in_(published))
        .order_by(t.c.project_id, t.c.level, t.c.code)
    )
    for r in connection.execute(query).mappings():
        yield {
            "id_projet": r.project_id,
            "niveau": r.level,
            "code_cog": r.code,
            "annee_cog": r.cog_year,
            "nom": territory_name(r.level, r.code, r.cog_year),
        }


def _programme_rows(
    connection: Connection,
    table: sa.FromClause,
    order: Sequence[str],
    where: Sequence[Any] = (),
) -> list[Mapping[str, Any]]:
    """Rows of a training table (live, or a moment's slice), in `order`."""
    query = sa.select(table).where(*where).order_by(*(table.c[c] for c in order))
    return [dict(r) for r in connection.execute(query).mappings()]


def _training_rows(
    connection: Connection, published: Sequence[str], source: Source
) -> Iterable[dict[str, Any]]:
    t = source.training.trainings
    for r in _programme_rows(
        connection, t, ("first_session_on", "scheduled_position"), (t.c.lab.in_(published),)
    ):
        yield {
            "id": r["id"],
            "laboratoire": r["lab"],
            "titre": r["title"],
            "format": r["format"],
            "modalite": r["mode"],
            "statut": r["status"],
            "date_premiere_session": r["first_session_on"],
            "date_derniere_session": r["last_session_on"],
            "sessions": len(r["sessions"]),
            "code_cog_lieu": r["place_code"],
            "annee_cog_lieu": r["place_cog_year"],
            "publics": ";".join(r["audiences"]),
            "capacite": r["capacity"],
            "participants": r["attendance"],
            "campagne": r["campaign"],
            "reports": r["reschedules"],
        }


def _attendance_rows(
    connection: Connection, published: Sequence[str], source: Source
) -> Iterable[dict[str, Any]]:
    # In the actions' order, so that the file reads beside formations.csv.
    actions = [r["id"] for r in _training_rows(connection, published, source)]
    rank = {training_id: index for index, training_id in enumerate(actions)}
    a = source.training.training_attendance
    found = [
        r
        for r in _programme_rows(connection, a, ("training_id", "audience"))
        if r["training_id"] in rank
    ]
    for r in sorted(found, key=lambda r: (rank[r["training_id"]], r["audience"])):
        yield {
            "id_formation": r["training_id"],
            "public": r["audience"],
            "participants": r["attendance"],
        }


def _campaign_rows(
    connection: Connection, _published: Sequence[str], source: Source
) -> Iterable[dict[str, Any]]:
    for r in _programme_rows(connection, campaigns, ("starts_on", "slug")):
        if source.campaigns is not None and r["slug"] not in source.campaigns:
            continue
        yield {
            "identifiant": r["slug"],
            "nom": r["name"],
            "date_debut": r["starts_on"],
            "date_fin": r["ends_on"],
            "theme": r["theme"],
            "organisateur": r["organiser"],
        }


PROJECT_ID = Field(
    "id_projet", "Identifiant du projet", "Identifiant unique du projet (UUID).",
    required=True, pattern=UUID_PATTERN, example="0b4f2a8e-5c1d-4e8b-9a47-3f1c2d5e6a7b",
)  # fmt: skip

PROJECTS = Resource(
    name="projets",
    title="Projets des laboratoires d'innovation publique",
    description="Un projet par ligne, tel que le portefeuille le connaît à la date de l'export.",
    primary_key=("id",),
    rows=_project_rows,
    fields=(
        Field("id", "Identifiant du projet", "Identifiant unique du projet (UUID).",
              required=True, pattern=UUID_PATTERN),
        Field("laboratoire", "Laboratoire", "Identifiant court (slug) du laboratoire.",
              required=True, example="lab-bfc"),
        Field("nom_laboratoire", "Nom du laboratoire", "Nom du laboratoire.", required=True),
        Field("region_laboratoire", "Région du laboratoire",
              "Code INSEE de la région du laboratoire (Code officiel géographique en vigueur).",
              required=True, pattern=r"^[0-9]{2}$", example="27"),
        Field("titre", "Titre", "Titre du projet.", required=True),
        Field("resume", "Résumé", "Résumé public du projet."),
        Field("phase", "Phase", "Phase en cours du projet.", required=True,
              enum=[p.value for p in Phase]),
        Field("sante", "Santé", "Dernière appréciation de la santé du projet.", required=True,
              enum=[h.value for h in Health]),
        Field("statut", "Statut", "Projet en cours ou clos.", required=True,
              enum=[s.value for s in Status]),
        Field("issue", "Issue", "Issue d'un projet clos (vide s'il est en cours).",
              enum=[o.value for o in Outcome]),
        Field("thematiques", "Thématiques", "Thématiques du projet, séparées par « ; »."),
        Field("date_debut", "Date de début", "Date de début du projet.", "date", required=True),
        Field("date_cloture", "Date de clôture", "Date de clôture (vide si en cours).", "date"),
        Field("jalons_prevus", "Jalons prévus", "Jalons encore prévus.", "integer",
              required=True, minimum=0),
        Field("jalons_atteints", "Jalons atteints", "Jalons atteints.", "integer",
              required=True, minimum=0),
        Field("jalons_annules", "Jalons annulés", "Jalons annulés.", "integer",
              required=True, minimum=0),
        Field("activites", "Activités", "Ateliers, formations, tests… organisés.", "integer",
              required=True, minimum=0),
        Field("participants", "Participants", "Participants cumulés des activités.", "integer",
              required=True, minimum=0),
        Field("financement_euros", "Financement (euros)",
              "Financements engagés pour le projet, en euros.", "number", required=True,
              minimum=0),
    ),
)  # fmt: skip

MILESTONES = Resource(
    name="jalons",
    title="Jalons des projets",
    description="Un jalon par ligne : son échéance, son éventuel glissement et son statut.",
    primary_key=("id_projet", "id_jalon"),
    rows=_milestone_rows,
    foreign_keys=(
        {"fields": "id_projet", "reference": {"resource": "projets", "fields": "id"}},
    ),
    fields=(
        PROJECT_ID,
        Field("id_jalon", "Identifiant du jalon", "Identifiant du jalon dans son projet.",
              required=True),
        Field("laboratoire", "Laboratoire", "Identifiant court (slug) du laboratoire.",
              required=True),
        Field("titre", "Titre", "Titre du jalon.", required=True),
        Field("phase", "Phase", "Phase du projet à laquelle le jalon appartient.",
              required=True, enum=[p.value for p in Phase]),
        Field("statut", "Statut", "Jalon prévu, atteint ou annulé.", required=True,
              enum=[s.value for s in MilestoneStatus]),
        Field("echeance", "Échéance", "Date d'échéance en vigueur.", "date", required=True),
        Field("echeance_initiale", "Échéance initiale", "Première échéance fixée.", "date",
              required=True),
        Field("date_atteinte", "Date d'atteinte", "Date à laquelle le jalon a été atteint.",
              "date"),
        Field("jours_glissement", "Glissement (jours)",
              "Jours entre l'échéance initiale et l'échéance en vigueur.", "integer",
              required=True),
        Field("reports", "Reports", "Nombre de reports de l'échéance.", "integer",
              required=True, minimum=0),
    ),
)  # fmt: skip

TERRITORIES = Resource(
    name="territoires",
    title="Territoires des projets",
    description=(
        "Les territoires où chaque projet se déroule, par leur code du Code officiel "
        "géographique (COG) de l'INSEE et le millésime du COG auquel ce code se réfère."
    ),
    primary_key=("id_projet", "niveau", "code_cog"),
    rows=_territory_rows,
    foreign_keys=(
        {"fields": "id_projet", "reference": {"resource": "projets", "fields": "id"}},
    ),
    fields=(
        PROJECT_ID,
        Field("niveau", "Niveau", "Niveau du territoire dans le COG.", required=True,
              enum=[level.value for level in TerritoryLevel]),
        Field("code_cog", "Code COG",
              "Code INSEE du territoire (région, département, commune) ou SIREN de l'EPCI.",
              required=True, pattern=COG_CODE_PATTERN, example="21231"),
        Field("annee_cog", "Millésime du COG",
              "Année du Code officiel géographique auquel le code se réfère.", "integer",
              required=True, minimum=1943, example="2024"),
        Field("nom", "Nom", "Nom du territoire dans le COG de son millésime ; vide quand "
              "l'extrait du COG livré avec tracker ne le connaît pas.", example="Dijon"),
    ),
)  # fmt: skip

CAMPAIGNS = Resource(
    name="campagnes",
    title="Campagnes de formation",
    description=(
        "Les campagnes nationales qui fédèrent des actions de formation de plusieurs "
        "laboratoires (par exemple le Mois de l'innovation publique)."
    ),
    primary_key=("identifiant",),
    rows=_campaign_rows,
    fields=(
        Field("identifiant", "Identifiant de la campagne", "Identifiant court (slug).",
              required=True, example="mois-innovation-publique-2020"),
        Field("nom", "Nom", "Nom de la campagne.", required=True),
        Field("date_debut", "Date de début", "Premier jour de la campagne.", "date",
              required=True),
        Field("date_fin", "Date de fin", "Dernier jour de la campagne.", "date", required=True),
        Field("theme", "Thème", "Thème de la campagne."),
        Field("organisateur", "Organisateur", "Organisme qui porte la campagne.",
              required=True, example="DITP"),
    ),
)  # fmt: skip

TRAINING_ID = Field(
    "id_formation", "Identifiant de l'action", "Identifiant unique de l'action de formation.",
    required=True, pattern=UUID_PATTERN,
)  # fmt: skip

TRAININGS = Resource(
    name="formations",
    title="Programme de formation des laboratoires",
    description=(
        "Une action de formation par ligne (formation, atelier, webinaire…) : ses sessions, "
        "son lieu, ses publics et, une fois tenue, le nombre d'agents formés. Ni nom de "
        "personne ni partenaire."
    ),
    primary_key=("id",),
    rows=_training_rows,
    foreign_keys=(
        {"fields": "campagne", "reference": {"resource": "campagnes", "fields": "identifiant"}},
    ),
    fields=(
        Field("id", "Identifiant de l'action", "Identifiant unique de l'action (UUID).",
              required=True, pattern=UUID_PATTERN),
        Field("laboratoire", "Laboratoire", "Identifiant court (slug) du laboratoire.",
              required=True),
        Field("titre", "Titre", "Titre de l'action.", required=True),
        Field("format", "Format", "Format de l'action.", required=True,
              enum=[f.value for f in TrainingFormat]),
        Field("modalite", "Modalité", "En présentiel, à distance ou hybride.", required=True,
              enum=[m.value for m in ActivityMode]),
        Field("statut", "Statut", "Action prévue, tenue ou annulée.", required=True,
              enum=[s.value for s in TrainingStatus]),
        Field("date_premiere_session", "Première session", "Date de la première session.",
              "date", required=True),
        Field("date_derniere_session", "Dernière session", "Date de la dernière session.",
              "date", required=True),
        Field("sessions", "Sessions", "Nombre de sessions.", "integer", required=True,
              minimum=1),
        Field("code_cog_lieu", "Commune du lieu",
              "Code INSEE (COG) de la commune où se tient l'action (vide à distance).",
              pattern=r"^([0-9]{5}|2[AB][0-9]{3})$", example="21231"),
        Field("annee_cog_lieu", "Millésime du COG du lieu",
              "Année du Code officiel géographique auquel le code du lieu se réfère.",
              "integer", minimum=1943, example="2024"),
        Field("publics", "Publics", "Publics visés, séparés par « ; » ("
              + ", ".join(a.value for a in Audience) + ")."),
        Field("capacite", "Capacité", "Places offertes.", "integer", minimum=0),
        Field("participants", "Agents formés", "Agents présents, une fois l'action tenue.",
              "integer", minimum=0),
        Field("campagne", "Campagne", "Identifiant de la campagne de l'action, le cas échéant."),
        Field("reports", "Reports", "Nombre de reports des sessions.", "integer",
              required=True, minimum=0),
    ),
)  # fmt: skip

ATTENDANCE = Resource(
    name="formations_publics",
    title="Agents formés par public",
    description="Pour chaque action tenue, le nombre d'agents présents par public (employeur).",
    primary_key=("id_formation", "public"),
    rows=_attendance_rows,
    foreign_keys=(
        {"fields": "id_formation", "reference": {"resource": "formations", "fields": "id"}},
    ),
    fields=(
        TRAINING_ID,
        Field("public", "Public", "Le public (employeur des agents).", required=True,
              enum=[a.value for a in Audience]),
        Field("participants", "Agents formés", "Agents de ce public présents.", "integer",
              required=True, minimum=0),
    ),
)  # fmt: skip

RESOURCES: tuple[Resource, ...] = (
    PROJECTS,
    MILESTONES,
    TERRITORIES,
    CAMPAIGNS,
    TRAININGS,
    ATTENDANCE,
)
"""Every resource of the package, in its order (add one here)."""


def resource_named(name: str) -> Resource | None:
    return next((r for r in RESOURCES if r.name == name), None)


def published_labs(services: Services) -> list[str]:
    """The slugs of the labs that chose to publish, in registration order.

    The current choice decides at every moment too: a lab that stops publishing withdraws
    its past states as well, and a lab that starts publishes its history (docs/open-data.md).
    """
    return [lab.slug for lab in services.application.list_labs() if lab.published]


def _moment_text(moment: Moment) -> str:
    if moment.latest:
        return "État le plus récent, tel que connu à la date de l'export."
    on = f"au {moment.on.isoformat()}" if moment.on else "le plus récent"
    known = (
        f"tel que connu le {instant(moment.known_at).isoformat()}"
        if moment.known_at
        else "tel que connu aujourd'hui"
    )
    return f"État {on} (date métier), {known}."


def descriptor(today: date, moment: Moment = LATEST, query: str = "") -> dict[str, Any]:
    """The package's `datapackage.json` at `moment`; `query` is added to each resource's
    path (the HTTP route gives `?on=…` so that a client reads the same moment)."""
    return {
        "profile": "tabular-data-package",
        "name": "tracker-portefeuille-labs",
        "title": "Portefeuille des laboratoires d'innovation publique",
        "description": (
            "Projets, jalons, territoires et programme de formation des laboratoires "
            "d'innovation publique qui ont choisi de les publier, et les campagnes de "
            "formation. Aucune personne, aucun jeton ni motif. " + _moment_text(moment)
        ),
        "licenses": [LICENSE],
        "created": f"{today.isoformat()}T00:00:00Z",
        **moment.properties(),
        "resources": [r.descriptor(query) for r in RESOURCES],
    }


def resource_csv(services: Services, resource: Resource, moment: Moment = LATEST) -> str:
    """One resource's CSV at `moment`, for the labs that publish."""
    published = published_labs(services)
    source = moment.source(services)
    with services.read_engine.connect() as connection:
        return resource.csv_text(connection, published, source)


def export(services: Services, directory: Path, today: date, moment: Moment = LATEST) -> list[Path]:
    """Write `datapackage.json` and every resource's CSV at `moment` into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / "datapackage.json"]
    package = descriptor(today, moment)
    written[0].write_text(json.dumps(package, ensure_ascii=False, indent=2) + "\n")
    published = published_labs(services)
    source = moment.source(services)
    with services.read_engine.connect() as connection:
        for resource in RESOURCES:
            path = directory / resource.path
            path.write_text(resource.csv_text(connection, published, source), encoding="utf-8")
            written.append(path)
    return written
