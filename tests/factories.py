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
from domain.values import (
    ActivityKind,
    ActivityMode,
    GateDecision,
    Health,
    Outcome,
    Phase,
    Territory,
    TrainingFormat,
)
from tracker.application.commands import (
    AchieveMilestone,
    AddPartner,
    AssessHealth,
    CancelMilestone,
    CancelTraining,
    ChangeLabPublication,
    CloseProject,
    Command,
    CommitFunding,
    DefineIndicator,
    DeleteWebhook,
    EnterPhase,
    HoldTraining,
    LogActivity,
    MeasureIndicator,
    PauseWebhook,
    PlanMilestone,
    RecordAuditVerified,
    RecordDecision,
    RecordEventsImported,
    RecordPersonForgotten,
    RecordProjectionsRebuilt,
    RecordSigningKeyAdopted,
    RecordTokenCreated,
    RecordTokenRevoked,
    RegisterCampaign,
    RegisterLab,
    RegisterProject,
    RemovePartner,
    ReopenProject,
    RescheduleMilestone,
    RescheduleTraining,
    ResumeWebhook,
    ReviseProject,
    ReviseTraining,
    ScheduleTraining,
    SubscribeWebhook,
)
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
    application.execute(
        RegisterLab(slug=slug, name="Laboratoire d'innovation", region_code="27"),
        application.meta("t", "c"),
    )
    return slug


def registered_project(application: TrackerApplication, lab: str | None = None) -> UUID:
    """Register a project (and its lab when none is given) and return its id."""
    lab = lab or registered_lab(application)
    result = application.execute(
        RegisterProject(
            lab=lab,
            title="Villages du futur",
            summary="Construire avec les habitants.",
            themes=["ruralité"],
            territories=[Territory("department", "71", 2024)],
            started_on=date(2025, 1, 6),
        ),
        application.meta("tok_test", str(uuid.uuid4()), date(2025, 1, 6)),
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
            application.execute(
                PlanMilestone(
                    project_id=project_id, title="Atelier", due_on=DAY, phase=Phase.DISCOVERY
                ),
                at,
            ).created_id
        ),
        partner_id=str(
            application.execute(
                AddPartner(project_id=project_id, name="CAF", role="financeur"), at
            ).created_id
        ),
        indicator_id=str(
            application.execute(
                DefineIndicator(
                    project_id=project_id, name="Usagers", unit="personnes", baseline=0, target=9
                ),
                at,
            ).created_id
        ),
    )
    return project_id, entities


def registered_campaign(application: TrackerApplication) -> str:
    """Register a campaign with a unique slug and return the slug."""
    slug = unique_slug("campagne")
    application.execute(
        RegisterCampaign(
            slug=slug,
            name="Mois de l'innovation publique",
            starts_on=date(2025, 11, 2),
            ends_on=date(2025, 11, 30),
            theme="la transformation publique au cœur des territoires",
            organiser="DITP",
        ),
        application.meta("t", "c"),
    )
    return slug


def schedule_training(lab: str, project_ids: list[str] | None = None) -> ScheduleTraining:
    """A valid ScheduleTraining of a remote workshop of `lab`, held before TODAY."""
    return ScheduleTraining(
        lab=lab,
        title="Atelier Crash Test",
        format=TrainingFormat.WORKSHOP,
        session_dates=[date(2025, 11, 30)],
        mode=ActivityMode.REMOTE,
        audiences=["communes_epci"],
        capacity=30,
        project_ids=project_ids or [],
    )


def scheduled_training(application: TrackerApplication, lab: str | None = None) -> UUID:
    """Schedule a training action (and its lab when none is given) and return its id."""
    result = application.execute(
        schedule_training(lab or registered_lab(application)), application.meta("t", "c")
    )
    return result.id


def project_lab(application: TrackerApplication, project_id: UUID) -> str:
    return application.get_project(project_id).lab


# A public address (no DNS needed): nothing delivers to it in the tests that use it.
WEBHOOK_URL = "https://192.0.43.10/hooks/tracker"


def subscribed_webhook(
    application: TrackerApplication,
    paused: bool = False,
    lab: str | None = None,
    owner_lab: str | None = None,
) -> UUID:
    """Subscribe a webhook (to `lab`'s events, managed by its staff if `owner_lab`; paused if
    asked) and return its id."""
    at = application.meta("tok_fixture", "fixture")
    command = SubscribeWebhook(
        url=WEBHOOK_URL,
        event_types=["MilestoneAchieved"],
        labs=[lab] if lab else [],
        owner_lab=owner_lab,
    )
    application.execute(command, at)
    if paused:
        application.execute(PauseWebhook(subscription_id=command.subscription_id), at)
    return command.subscription_id


# One valid example of every command of the application's table (`COMMANDS`), on the project
# from `registered_project_with_entities`; `reopen_project` runs on a project closed first.
CommandExample = Callable[[TrackerApplication, UUID, Entities], Command]
COMMAND_EXAMPLES: dict[str, CommandExample] = {
    "register_lab": lambda a, p, e: RegisterLab(slug=unique_slug(), name="Lab", region_code="27"),
    "change_lab_publication": lambda a, p, e: ChangeLabPublication(
        lab=registered_lab(a), published=True
    ),
    "register_project": lambda a, p, e: RegisterProject(
        lab=registered_lab(a), title="Projet", summary="", themes=[], territories=[], started_on=DAY
    ),
    "revise_project": lambda a, p, e: ReviseProject(project_id=p, summary="Nouveau résumé"),
    "enter_phase": lambda a, p, e: EnterPhase(
        project_id=p, phase=Phase.DISCOVERY, decision=GateDecision.GO
    ),
    "assess_health": lambda a, p, e: AssessHealth(
        project_id=p, health=Health.OFF_TRACK, reason="bloqué"
    ),
    "plan_milestone": lambda a, p, e: PlanMilestone(
        project_id=p, title="Bilan", due_on=DAY, phase=Phase.SCALING
    ),
    "reschedule_milestone": lambda a, p, e: RescheduleMilestone(
        project_id=p, milestone_id=e.milestone_id, due_on=TODAY, reason="retard"
    ),
    "achieve_milestone": lambda a, p, e: AchieveMilestone(
        project_id=p, milestone_id=e.milestone_id, achieved_on=DAY, evidence="ok"
    ),
    "cancel_milestone": lambda a, p, e: CancelMilestone(
        project_id=p, milestone_id=e.milestone_id, reason="inutile"
    ),
    "add_partner": lambda a, p, e: AddPartner(project_id=p, name="Université", role="recherche"),
    "remove_partner": lambda a, p, e: RemovePartner(project_id=p, partner_id=e.partner_id),
    "define_indicator": lambda a, p, e: DefineIndicator(
        project_id=p, name="Taux", unit="%", baseline=0, target=1
    ),
    "measure_indicator": lambda a, p, e: MeasureIndicator(
        project_id=p, indicator_id=e.indicator_id, value=3, measured_on=DAY
    ),
    "log_activity": lambda a, p, e: LogActivity(
        project_id=p, kind=ActivityKind.EVENT, title="Forum", held_on=DAY, participants=80
    ),
    "record_decision": lambda a, p, e: RecordDecision(
        project_id=p, title="Choix", decision="Pilote", rationale="Coût"
    ),
    "commit_funding": lambda a, p, e: CommitFunding(
        project_id=p, source="État", amount_cents=5_000_000, fiscal_year=2026
    ),
    "close_project": lambda a, p, e: CloseProject(
        project_id=p, outcome=Outcome.SCALED, reason="essaimé"
    ),
    "reopen_project": lambda a, p, e: ReopenProject(project_id=p, reason="relance"),
    "register_campaign": lambda a, p, e: RegisterCampaign(
        slug=unique_slug("campagne"),
        name="Mois de l'innovation publique",
        starts_on=date(2025, 11, 2),
        ends_on=date(2025, 11, 30),
        theme="",
        organiser="DITP",
    ),
    "schedule_training": lambda a, p, e: schedule_training(project_lab(a, p), [str(p)]),
    "revise_training": lambda a, p, e: ReviseTraining(
        training_id=scheduled_training(a, project_lab(a, p)), campaign=registered_campaign(a)
    ),
    "reschedule_training": lambda a, p, e: RescheduleTraining(
        training_id=scheduled_training(a, project_lab(a, p)),
        session_dates=[date(2025, 12, 7)],
        reason="salle indisponible",
    ),
    "hold_training": lambda a, p, e: HoldTraining(
        training_id=scheduled_training(a, project_lab(a, p)),
        attendance=24,
        attendance_by_audience={"communes_epci": 20},
    ),
    "cancel_training": lambda a, p, e: CancelTraining(
        training_id=scheduled_training(a, project_lab(a, p)), reason="formateur absent"
    ),
    "record_token_created": lambda a, p, e: RecordTokenCreated(
        token_id=f"tok_{uuid.uuid4().hex[:16]}", role="viewer"
    ),
    "record_token_revoked": lambda a, p, e: RecordTokenRevoked(token_id="tok_0123456789abcdef"),
    "record_projections_rebuilt": lambda a, p, e: RecordProjectionsRebuilt(
        projections=["portfolio"], position=1
    ),
    "record_events_imported": lambda a, p, e: RecordEventsImported(
        count=1, last_position=1, running_hash="0" * 64, file_sha256="0" * 64
    ),
    "record_audit_verified": lambda a, p, e: RecordAuditVerified(
        events=1, last_position=1, findings=0
    ),
    "record_person_forgotten": lambda a, p, e: RecordPersonForgotten(person_id="per_example"),
    "record_signing_key_adopted": lambda a, p, e: RecordSigningKeyAdopted(
        key_id=uuid.uuid4().hex[:16], public_key=uuid.uuid4().hex * 2
    ),
    "subscribe_webhook": lambda a, p, e: SubscribeWebhook(
        url=WEBHOOK_URL, event_types=["MilestoneAchieved"], labs=[]
    ),
    "pause_webhook": lambda a, p, e: PauseWebhook(subscription_id=subscribed_webhook(a)),
    "resume_webhook": lambda a, p, e: ResumeWebhook(
        subscription_id=subscribed_webhook(a, paused=True)
    ),
    "delete_webhook": lambda a, p, e: DeleteWebhook(subscription_id=subscribed_webhook(a)),
}


def run_example(
    name: str, application: TrackerApplication, project_id: UUID, entities: Entities, at: Meta
) -> CommandResult:
    """Execute the example of command `name` (closing the project first for a reopen)."""
    if name == "reopen_project":
        application.execute(
            CloseProject(project_id=project_id, outcome=Outcome.ABANDONED, reason="arrêt"), at
        )
    return application.execute(COMMAND_EXAMPLES[name](application, project_id, entities), at)


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
