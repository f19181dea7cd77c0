"""Factories: valid commands with random ids, so tests can share one database safely."""

from __future__ import annotations

import uuid
from datetime import date
from uuid import UUID

from domain.meta import Meta
from domain.project import Project
from domain.values import Territory
from tracker.application import TrackerApplication

TODAY = date(2026, 6, 15)


def meta(occurred_on: date = date(2026, 1, 10), today: date = TODAY) -> Meta:
    """Metadata for a domain command, with a fixed 'today'."""
    return Meta(
        actor=f"tok_{uuid.uuid4().hex[:8]}",
        correlation_id=str(uuid.uuid4()),
        occurred_on=occurred_on,
        today=today,
    )


def new_project(**overrides: object) -> Project:
    """A freshly registered project, in memory."""
    fields: dict[str, object] = {
        "lab": "lab-bfc",
        "title": "Une bibliothèque innovante",
        "summary": "Repenser la médiathèque avec les habitants.",
        "themes": ["culture"],
        "territories": [Territory("commune", "21231", 2024)],
        "started_on": date(2025, 9, 1),
        "meta": meta(),
    }
    fields.update(overrides)
    return Project.register(**fields)  # type: ignore[arg-type]


def unique_slug(prefix: str = "lab") -> str:
    """A lab slug no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def registered_lab(application: TrackerApplication) -> str:
    """Register a lab with a unique slug and return the slug."""
    slug = unique_slug()
    application.register_lab(slug, "Laboratoire d'innovation", "27", application.meta("t", "c"))
    return slug


def registered_project(application: TrackerApplication, lab: str | None = None) -> UUID:
    """Register a project (and its lab when none is given) and return its id."""
    lab = lab or registered_lab(application)
    result = application.register_project(
        lab=lab,
        title="Villages du futur",
        summary="Construire avec les habitants.",
        themes=["ruralité"],
        territories=[Territory("department", "71", 2024)],
        started_on=date(2025, 1, 6),
        meta=application.meta("tok_test", str(uuid.uuid4()), date(2025, 1, 6)),
    )
    return result.id
