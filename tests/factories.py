"""Factories: valid commands with random ids, so tests can share one database safely."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from uuid import UUID

from domain.meta import Meta
from domain.project import Project
from domain.values import ActivityKind, GateDecision, Health, Outcome, Phase, Territory
from tracker.application.service import CommandResult, TrackerApplication
from tracker.audit.history import HistoryEntry, admin_history

TODAY = date(2026, 6, 15)
DAY = date(2026, 3, 2)  # a business date before TODAY


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


# -- every project command, for tests that must cover them all --------------------------------


@dataclass(frozen=True)
class Entities:
    """The ids of one planned milestone, one partner and one indicator of a project."""

    milestone_id: str
    partner_id: str
    indicator_id: str


def with_entities(project: Project) -> Entities:
    """Give an in-memory project a planned milestone, a partner and an indicator."""
    return Entities(
        milestone_id=project.plan_milestone("Atelier", date(2026, 9, 1), Phase.DISCOVERY, meta()),
        partner_id=project.add_partner("Conseil départemental", "financeur", meta()),
        indicator_id=project.define_indicator("Usagers", "personnes", 0, 100, meta()),
    )


# Each entry issues one valid command on an open project holding `Entities` (a domain
# method name → a call); `reopen` is left out because it is the only one a closed project takes.
DomainCommand = Callable[[Project, Entities, Meta], object]
DOMAIN_COMMANDS: dict[str, DomainCommand] = {
    "revise_details": lambda p, e, m: p.revise_details(m, title="Nouveau titre"),
    "enter_phase": lambda p, e, m: p.enter_phase(Phase.DISCOVERY, GateDecision.GO, m),
    "assess_health": lambda p, e, m: p.assess_health(Health.AT_RISK, m, "retard"),
    "plan_milestone": lambda p, e, m: p.plan_milestone("Jalon", DAY, Phase.FRAMING, m),
    "reschedule_milestone": lambda p, e, m: p.reschedule_milestone(
        e.milestone_id, date(2026, 10, 1), m, "météo"
    ),
    "achieve_milestone": lambda p, e, m: p.achieve_milestone(e.milestone_id, DAY, "photos", m),
    "cancel_milestone": lambda p, e, m: p.cancel_milestone(e.milestone_id, m, "inutile"),
    "add_partner": lambda p, e, m: p.add_partner("Université", "recherche", m),
    "remove_partner": lambda p, e, m: p.remove_partner(e.partner_id, m),
    "define_indicator": lambda p, e, m: p.define_indicator("Satisfaction", "%", 50, 80, m),
    "measure_indicator": lambda p, e, m: p.measure_indicator(e.indicator_id, 12, DAY, m),
    "log_activity": lambda p, e, m: p.log_activity(ActivityKind.WORKSHOP, "Atelier", DAY, 12, m),
    "record_decision": lambda p, e, m: p.record_decision("Choix", "Pilote", "Moins cher", m),
    "commit_funding": lambda p, e, m: p.commit_funding("Région", 1_500_000, 2026, m),
    "close": lambda p, e, m: p.close(Outcome.ABANDONED, m, "plus de budget"),
}


def registered_project_with_entities(application: TrackerApplication) -> tuple[UUID, Entities]:
    """Register a project (and its lab) holding a planned milestone, a partner and an indicator."""
    project_id = registered_project(application)
    at = application.meta("tok_test", str(uuid.uuid4()))
    entities = Entities(
        milestone_id=str(
            application.plan_milestone(project_id, "Atelier", DAY, Phase.DISCOVERY, at).created_id
        ),
        partner_id=str(application.add_partner(project_id, "CAF", "financeur", at).created_id),
        indicator_id=str(
            application.define_indicator(project_id, "Usagers", "personnes", 0, 9, at).created_id
        ),
    )
    return project_id, entities


# Every command of the application, keyed by the name it logs, as one valid call on a
# project from `registered_project_with_entities` (reopen closes the project first).
AppCommand = Callable[[TrackerApplication, UUID, Entities, Meta], CommandResult]
APPLICATION_COMMANDS: dict[str, AppCommand] = {
    "register_lab": lambda a, p, e, m: a.register_lab(unique_slug(), "Lab", "27", m),
    "register_project": lambda a, p, e, m: a.register_project(
        registered_lab(a), "Projet", "", [], [], DAY, m
    ),
    "revise_project": lambda a, p, e, m: a.revise_project(p, m, summary="Nouveau résumé"),
    "enter_phase": lambda a, p, e, m: a.enter_phase(p, Phase.DISCOVERY, GateDecision.GO, m),
    "assess_health": lambda a, p, e, m: a.assess_health(p, Health.OFF_TRACK, m, "bloqué"),
    "plan_milestone": lambda a, p, e, m: a.plan_milestone(p, "Bilan", DAY, Phase.SCALING, m),
    "reschedule_milestone": lambda a, p, e, m: a.reschedule_milestone(
        p, e.milestone_id, TODAY, m, "retard"
    ),
    "achieve_milestone": lambda a, p, e, m: a.achieve_milestone(p, e.milestone_id, DAY, "ok", m),
    "cancel_milestone": lambda a, p, e, m: a.cancel_milestone(p, e.milestone_id, m, "inutile"),
    "add_partner": lambda a, p, e, m: a.add_partner(p, "Université", "recherche", m),
    "remove_partner": lambda a, p, e, m: a.remove_partner(p, e.partner_id, m),
    "define_indicator": lambda a, p, e, m: a.define_indicator(p, "Taux", "%", 0, 1, m),
    "measure_indicator": lambda a, p, e, m: a.measure_indicator(p, e.indicator_id, 3, DAY, m),
    "log_activity": lambda a, p, e, m: a.log_activity(p, ActivityKind.EVENT, "Forum", DAY, 80, m),
    "record_decision": lambda a, p, e, m: a.record_decision(p, "Choix", "Pilote", "Coût", m),
    "commit_funding": lambda a, p, e, m: a.commit_funding(p, "État", 5_000_000, 2026, m),
    "close_project": lambda a, p, e, m: a.close_project(p, Outcome.SCALED, m, "essaimé"),
    "reopen_project": lambda a, p, e, m: (
        a.close_project(p, Outcome.ABANDONED, m, "arrêt"),
        a.reopen_project(p, m, "relance"),
    )[1],
}


def full_replay(application: TrackerApplication, project_id: UUID) -> Project:
    """A project rebuilt from every one of its stored events, ignoring snapshots."""
    replayed: Project | None = None
    for event in application.events.get(project_id):
        replayed = event.mutate(replayed)
    assert replayed is not None
    return replayed


TRACKER_CLI = str(Path(sys.executable).parent / "tracker")


def run_tracker(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real `tracker` console script on `database_url`, capturing its output."""
    env = {**os.environ, "TRACKER_DATABASE_URL": database_url, "TRACKER_LOG_FORMAT": "json"}
    return subprocess.run(
        [TRACKER_CLI, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def admin_entries(application: TrackerApplication) -> list[HistoryEntry]:
    """Every entry of the admin log, all pages."""
    entries: list[HistoryEntry] = []
    after = 0
    while True:
        page = admin_history(application, after=after, limit=500)
        entries.extend(page.entries)
        if page.next_after is None:
            return entries
        after = page.next_after
