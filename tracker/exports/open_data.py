"""The open-data package: a Frictionless Data Package of the portfolio of the labs that
chose to publish (docs/open-data.md).

Each CSV resource is one `Resource` declaration: its Table Schema (fields with French
titles and descriptions, types, constraints, following schema.data.gouv.fr's conventions)
and the function reading its rows from the read models. Adding a table to the package is
one more declaration in `RESOURCES`.

What is published: only labs whose last `LabPublicationChanged` says so, and never an
actor, a token, a person's name, a reason, an evidence text or a partner: the resources
name projects, milestones and places, not people.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from domain.values import Health, MilestoneStatus, Outcome, Phase, Status, TerritoryLevel
from projections.cog import territory_name
from tracker.application.services import Services
from tracker.schema.read_models import labs, milestones, project_territories, projects

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


Rows = Callable[[Connection, Sequence[str]], Iterable[dict[str, Any]]]


@dataclass(frozen=True)
class Resource:
    """One CSV of the package: its schema and its rows (for the labs given)."""

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

    def descriptor(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "fields": [f.schema() for f in self.fields],
            "primaryKey": list(self.primary_key),
            "missingValues": [""],
        }
        if self.foreign_keys:
            schema["foreignKeys"] = list(self.foreign_keys)
        return {
            "name": self.name,
            "path": self.path,
            "title": self.title,
            "description": self.description,
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "profile": "tabular-data-resource",
            "schema": schema,
        }

    def csv_text(self, connection: Connection, published: Sequence[str]) -> str:
        """The resource's CSV: a header of field names, then its rows."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([f.name for f in self.fields])
        for row in self.rows(connection, published):
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


def _project_rows(connection: Connection, published: Sequence[str]) -> Iterable[dict[str, Any]]:
    p, lab = projects, labs
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


def _milestone_rows(connection: Connection, published: Sequence[str]) -> Iterable[dict[str, Any]]:
    m = milestones
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


def _territory_rows(connection: Connection, published: Sequence[str]) -> Iterable[dict[str, Any]]:
    t, p = project_territories, projects
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

RESOURCES: tuple[Resource, ...] = (PROJECTS, MILESTONES, TERRITORIES)
"""Every resource of the package, in its order (add one here)."""


def resource_named(name: str) -> Resource | None:
    return next((r for r in RESOURCES if r.name == name), None)


def published_labs(services: Services) -> list[str]:
    """The slugs of the labs that chose to publish, in registration order."""
    return [lab.slug for lab in services.application.list_labs() if lab.published]


def descriptor(on: date) -> dict[str, Any]:
    """The package's `datapackage.json`."""
    return {
        "profile": "tabular-data-package",
        "name": "tracker-portefeuille-labs",
        "title": "Portefeuille des laboratoires d'innovation publique",
        "description": (
            "Projets, jalons et territoires des laboratoires d'innovation publique qui ont "
            "choisi de publier leur portefeuille. Aucune personne, aucun jeton ni motif."
        ),
        "licenses": [LICENSE],
        "created": f"{on.isoformat()}T00:00:00Z",
        "resources": [r.descriptor() for r in RESOURCES],
    }


def resource_csv(services: Services, resource: Resource) -> str:
    """One resource's CSV, for the labs that publish."""
    published = published_labs(services)
    with services.read_engine.connect() as connection:
        return resource.csv_text(connection, published)


def export(services: Services, directory: Path, on: date) -> list[Path]:
    """Write `datapackage.json` and every resource's CSV into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / "datapackage.json"]
    written[0].write_text(json.dumps(descriptor(on), ensure_ascii=False, indent=2) + "\n")
    published = published_labs(services)
    with services.read_engine.connect() as connection:
        for resource in RESOURCES:
            path = directory / resource.path
            path.write_text(resource.csv_text(connection, published), encoding="utf-8")
            written.append(path)
    return written
