"""tracker's commands as data: one declaration each, read by the application, the API, the seed.

A command names the aggregate it changes (`aggregate_id`, which is also the lock it takes)
and decides its events with the domain (`decide`); `TrackerApplication.execute` is the one
path that runs it: the per-aggregate lock, the bounded retries, group commit, the snapshot
policy and the log line. A command that creates an entity (a milestone, a partner…) names
the field holding the new id in `created`: the REST answer reports it under that name.

Adding a command is this declaration plus its route (and, for a new aggregate type, a
`load_…` helper below).
"""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, ClassVar, TypeAlias
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from domain.admin import ADMIN_LOG_ID, AdminLog
from domain.campaign import Campaign
from domain.errors import (
    CampaignAlreadyRegisteredError,
    CampaignNotFoundError,
    LabAlreadyRegisteredError,
    LabNotFoundError,
    ProjectNotFoundError,
    ProjectOfAnotherLabError,
    TrainingNotFoundError,
    WebhookSubscriptionNotFoundError,
)
from domain.lab import Lab
from domain.meta import Meta
from domain.project import Project
from domain.training import TrainingAction
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
from domain.webhook import WebhookSubscription
from tracker.application.rows import PositionedRowWrite, RowWrite
from tracker.schema.webhooks import WEBHOOK_SUBSCRIPTIONS_TABLE
from tracker.store.interface import SideWrite

Load: TypeAlias = Callable[[UUID], Aggregate]
"""Reads an aggregate's latest state by id (raises the library's AggregateNotFoundError)."""


def new_entity_id() -> str:
    """A fresh id for an entity inside an aggregate (a milestone, a partner…)."""
    return str(uuid.uuid4())


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True)
class Decision:
    """What a command decided: the aggregate holding its new events, and a created id."""

    aggregate: Aggregate
    created_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class Command(ABC):
    """A request to change one aggregate; every command may say why (`reason`)."""

    reason: str | None = None

    command_name: ClassVar[str]
    """The command's name in log lines (`PlanMilestone` → `plan_milestone`)."""
    created: ClassVar[str | None] = None
    """The field naming the entity this command creates, reported in the REST answer."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.command_name = _snake(cls.__name__)

    @property
    @abstractmethod
    def aggregate_id(self) -> UUID:
        """The aggregate this command changes or creates (commands on it are serialised)."""

    @abstractmethod
    def decide(self, load: Load, meta: Meta) -> Decision:
        """Load the aggregate (or create it) and let the domain trigger the events."""

    def retry_after_conflict(self, load: Load) -> bool:
        """After a lost race on the aggregate's version: True to decide again on fresh state.

        A creating command raises the domain's error when the aggregate exists already, or
        answers False (the conflict came from elsewhere, and is raised as it is).
        """
        return True

    def side_writes(self) -> Sequence[SideWrite]:
        """Writes that commit or roll back with this command's events (none by default)."""
        return ()

    def created_id(self) -> str | None:
        """The id of the entity this command creates, when it names one up front."""
        return getattr(self, self.created) if self.created else None


# -- loading, with the domain's own not-found errors -----------------------------------------


def load_project(load: Load, project_id: UUID) -> Project:
    """A project's latest state, or `ProjectNotFoundError`."""
    try:
        project = load(project_id)
    except AggregateNotFoundError:
        raise ProjectNotFoundError(f"no project {project_id}") from None
    if not isinstance(project, Project):
        raise ProjectNotFoundError(f"no project {project_id}")
    return project


def load_lab(load: Load, slug: str) -> Lab:
    """A lab by its slug, or `LabNotFoundError`."""
    try:
        lab = load(Lab.id_for(slug))
    except AggregateNotFoundError:
        raise LabNotFoundError(f"no lab {slug!r}") from None
    if not isinstance(lab, Lab):
        raise LabNotFoundError(f"no lab {slug!r}")
    return lab


# -- labs ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RegisterLab(Command):
    """Register a lab under a new slug."""

    slug: str
    name: str
    region_code: str

    @property
    def aggregate_id(self) -> UUID:
        return Lab.id_for(self.slug)

    def decide(self, load: Load, meta: Meta) -> Decision:
        return Decision(
            Lab.register(slug=self.slug, name=self.name, region_code=self.region_code, meta=meta)
        )

    def retry_after_conflict(self, load: Load) -> bool:
        # The lab's id derives from its slug: a conflict on version 1 means the slug is
        # taken, unless the conflict came from elsewhere (a side write).
        try:
            load_lab(load, self.slug)
        except LabNotFoundError:
            return False
        raise LabAlreadyRegisteredError(f"a lab {self.slug!r} is registered already")


@dataclass(frozen=True, kw_only=True)
class ChangeLabPublication(Command):
    """Publish a lab's portfolio as open data, or stop publishing it."""

    lab: str
    published: bool

    @property
    def aggregate_id(self) -> UUID:
        return Lab.id_for(self.lab)

    def decide(self, load: Load, meta: Meta) -> Decision:
        lab = load_lab(load, self.lab)
        lab.change_publication(self.published, meta, self.reason)
        return Decision(lab)


# -- projects --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RegisterProject(Command):
    """Register a project in an existing lab's portfolio."""

    lab: str
    title: str
    summary: str
    themes: list[str]
    territories: list[Territory]
    started_on: date
    project_id: UUID = field(default_factory=uuid.uuid4)

    @property
    def aggregate_id(self) -> UUID:
        return self.project_id

    def decide(self, load: Load, meta: Meta) -> Decision:
        load_lab(load, self.lab)
        project = Project.register(
            lab=self.lab,
            title=self.title,
            summary=self.summary,
            themes=self.themes,
            territories=self.territories,
            started_on=self.started_on,
            meta=meta,
            project_id=self.project_id,
        )
        return Decision(project)

    def retry_after_conflict(self, load: Load) -> bool:
        return False


@dataclass(frozen=True, kw_only=True)
class ProjectCommand(Command):
    """A command on an existing project: `apply` calls the domain method."""

    project_id: UUID

    @property
    def aggregate_id(self) -> UUID:
        return self.project_id

    def decide(self, load: Load, meta: Meta) -> Decision:
        project = load_project(load, self.project_id)
        return Decision(project, self.apply(project, meta))

    @abstractmethod
    def apply(self, project: Project, meta: Meta) -> str | None:
        """Trigger the events on `project`; return the id of an entity it created."""


@dataclass(frozen=True, kw_only=True)
class ReviseProject(ProjectCommand):
    """Revise a project's title, summary, themes or territories."""

    title: str | None = None
    summary: str | None = None
    themes: list[str] | None = None
    territories: list[Territory] | None = None

    def apply(self, project: Project, meta: Meta) -> str | None:
        project.revise_details(
            meta,
            title=self.title,
            summary=self.summary,
            themes=self.themes,
            territories=self.territories,
            reason=self.reason,
        )
        return None


@dataclass(frozen=True, kw_only=True)
class EnterPhase(ProjectCommand):
    """Pass a phase gate with a go or iterate decision."""

    phase: Phase
    decision: GateDecision

    def apply(self, project: Project, meta: Meta) -> str | None:
        project.enter_phase(self.phase, self.decision, meta, self.reason)
        return None


@dataclass(frozen=True, kw_only=True)
class AssessHealth(ProjectCommand):
    """Record a project's health."""

    health: Health

    def apply(self, project: Project, meta: Meta) -> str | None:
        project.assess_health(self.health, meta, self.reason)
        return None


@dataclass(frozen=True, kw_only=True)
class PlanMilestone(ProjectCommand):
    """Plan a milestone."""

    created = "milestone_id"
    title: str
    due_on: date
    phase: Phase
    milestone_id: str = field(default_factory=new_entity_id)

    def apply(self, project: Project, meta: Meta) -> str | None:
        return project.plan_milestone(
            self.title, self.due_on, self.phase, meta, self.milestone_id, self.reason
        )


@dataclass(frozen=True, kw_only=True)
class RescheduleMilestone(ProjectCommand):
    """Move a planned milestone to another date, with a reason."""

    milestone_id: str
    due_on: date

    def apply(self, project: Project, meta: Meta) -> str | None:
        project.reschedule_milestone(self.milestone_id, self.due_on, meta, self.reason)
        return None


@dataclass(frozen=True, kw_only=True)
class AchieveMilestone(ProjectCommand):
    """Mark a planned milestone achieved."""

    milestone_id: str
    achieved_on: date
    evidence: str = ""

    def apply(self, project: Project, meta: Meta) -> str | None:
        project.achieve_milestone(
            self.milestone_id, self.achieved_on, self.evidence, meta, self.reason
        )
        return None


@dataclass(frozen=True, kw_only=True)
class CancelMilestone(ProjectCommand):
    """Cancel a planned milestone, with a reason."""

    milestone_id: str

    def apply(self, project: Project, meta: Meta) -> str | None:
        project.cancel_milestone(self.milestone_id, meta, self.reason)
        return None


@dataclass(frozen=True, kw_only=True)
class AddPartner(ProjectCommand):
    """Record a partner joining."""

    created = "partner_id"
    name: str
    role: str
    partner_id: str = field(default_factory=new_entity_id)

    def apply(self, project: Project, meta: Meta) -> str | None:
        return project.add_partner(self.name, self.role, meta, self.partner_id, self.reason)


@dataclass(frozen=True, kw_only=True)
class RemovePartner(ProjectCommand):
    """Record a partner leaving."""

    partner_id: str

    def apply(self, project: Project, meta: Meta) -> str | None:
        project.remove_partner(self.partner_id, meta, self.reason)
        return None


@dataclass(frozen=True, kw_only=True)
class DefineIndicator(ProjectCommand):
    """Define an indicator with its baseline and target."""

    created = "indicator_id"
    name: str
    unit: str
    baseline: float
    target: float
    indicator_id: str = field(default_factory=new_entity_id)

    def apply(self, project: Project, meta: Meta) -> str | None:
        return project.define_indicator(
            self.name,
            self.unit,
            self.baseline,
            self.target,
            meta,
            self.indicator_id,
            self.reason,
        )


@dataclass(frozen=True, kw_only=True)
class MeasureIndicator(ProjectCommand):
    """Record a measurement of an indicator."""

    indicator_id: str
    value: float
    measured_on: date

    def apply(self, project: Project, meta: Meta) -> str | None:
        project.measure_indicator(
            self.indicator_id, self.value, self.measured_on, meta, self.reason
        )
        return None


@dataclass(frozen=True, kw_only=True)
class LogActivity(ProjectCommand):
    """Log a workshop, training, webinar, user test…"""

    created = "activity_id"
    kind: ActivityKind
    title: str
    held_on: date
    participants: int
    mode: ActivityMode | None = None
    activity_id: str = field(default_factory=new_entity_id)

    def apply(self, project: Project, meta: Meta) -> str | None:
        return project.log_activity(
            self.kind,
            self.title,
            self.held_on,
            self.participants,
            meta,
            self.activity_id,
            self.reason,
            self.mode,
        )


@dataclass(frozen=True, kw_only=True)
class RecordDecision(ProjectCommand):
    """Record a decision with its rationale."""

    created = "decision_id"
    title: str
    decision: str
    rationale: str
    decision_id: str = field(default_factory=new_entity_id)

    def apply(self, project: Project, meta: Meta) -> str | None:
        return project.record_decision(
            self.title, self.decision, self.rationale, meta, self.decision_id, self.reason
        )


@dataclass(frozen=True, kw_only=True)
class CommitFunding(ProjectCommand):
    """Record funding committed to a project."""

    created = "funding_id"
    source: str
    amount_cents: int
    fiscal_year: int
    funding_id: str = field(default_factory=new_entity_id)

    def apply(self, project: Project, meta: Meta) -> str | None:
        return project.commit_funding(
            self.source, self.amount_cents, self.fiscal_year, meta, self.funding_id, self.reason
        )


@dataclass(frozen=True, kw_only=True)
class CloseProject(ProjectCommand):
    """Close a project with its outcome."""

    outcome: Outcome

    def apply(self, project: Project, meta: Meta) -> str | None:
        project.close(self.outcome, meta, self.reason)
        return None


@dataclass(frozen=True, kw_only=True)
class ReopenProject(ProjectCommand):
    """Reopen a closed project in the phase it was closed in."""

    def apply(self, project: Project, meta: Meta) -> str | None:
        project.reopen(meta, self.reason)
        return None


# -- the training programme ------------------------------------------------------------------


def load_training(load: Load, training_id: UUID) -> TrainingAction:
    """A training action's latest state, or `TrainingNotFoundError`."""
    try:
        training = load(training_id)
    except AggregateNotFoundError:
        raise TrainingNotFoundError(f"no training action {training_id}") from None
    if not isinstance(training, TrainingAction):
        raise TrainingNotFoundError(f"no training action {training_id}")
    return training


def load_campaign(load: Load, slug: str) -> Campaign:
    """A campaign by its slug, or `CampaignNotFoundError`."""
    try:
        campaign = load(Campaign.id_for(slug))
    except AggregateNotFoundError:
        raise CampaignNotFoundError(f"no campaign {slug!r}") from None
    if not isinstance(campaign, Campaign):
        raise CampaignNotFoundError(f"no campaign {slug!r}")
    return campaign


def check_training_links(
    load: Load, lab: str, project_ids: Sequence[str] | None, campaign: str | None
) -> None:
    """The campaign a training names exists, and so does each of its projects, in its lab.

    A training action supports its own lab's projects only (`ProjectOfAnotherLabError`):
    a lab's staff cannot see, let alone vouch for, another lab's portfolio.
    """
    if campaign is not None:
        load_campaign(load, campaign)
    for project_id in project_ids or ():
        try:
            project = load_project(load, UUID(project_id))
        except ValueError:
            raise ProjectNotFoundError(f"no project {project_id}") from None
        if project.lab != lab:
            raise ProjectOfAnotherLabError(
                f"project {project_id} belongs to lab {project.lab!r}, not {lab!r}"
            )


@dataclass(frozen=True, kw_only=True)
class RegisterCampaign(Command):
    """Register a campaign that federates training actions across labs (admin)."""

    slug: str
    name: str
    starts_on: date
    ends_on: date
    theme: str
    organiser: str

    @property
    def aggregate_id(self) -> UUID:
        return Campaign.id_for(self.slug)

    def decide(self, load: Load, meta: Meta) -> Decision:
        return Decision(
            Campaign.register(
                slug=self.slug,
                name=self.name,
                starts_on=self.starts_on,
                ends_on=self.ends_on,
                theme=self.theme,
                organiser=self.organiser,
                meta=meta,
                reason=self.reason,
            )
        )

    def retry_after_conflict(self, load: Load) -> bool:
        # As for a lab: the id derives from the slug, so a conflict means the slug is taken.
        try:
            load_campaign(load, self.slug)
        except CampaignNotFoundError:
            return False
        raise CampaignAlreadyRegisteredError(f"a campaign {self.slug!r} is registered already")


@dataclass(frozen=True, kw_only=True)
class ScheduleTraining(Command):
    """Schedule a training action of a lab (its campaign and projects must exist)."""

    created = "training_id"
    lab: str
    title: str
    format: TrainingFormat
    session_dates: list[date]
    mode: ActivityMode
    place: Territory | None = None
    partners: list[str] = field(default_factory=list)
    registration_ref: str | None = None
    audiences: list[str] = field(default_factory=list)
    capacity: int | None = None
    project_ids: list[str] = field(default_factory=list)
    campaign: str | None = None
    training_id: str = field(default_factory=new_entity_id)

    @property
    def aggregate_id(self) -> UUID:
        return UUID(self.training_id)

    def decide(self, load: Load, meta: Meta) -> Decision:
        load_lab(load, self.lab)
        check_training_links(load, self.lab, self.project_ids, self.campaign)
        training = TrainingAction.schedule(
            lab=self.lab,
            title=self.title,
            format=self.format,
            session_dates=self.session_dates,
            mode=self.mode,
            meta=meta,
            place=self.place,
            partners=self.partners,
            registration_ref=self.registration_ref,
            audiences=self.audiences,
            capacity=self.capacity,
            project_ids=self.project_ids,
            campaign=self.campaign,
            training_id=self.aggregate_id,
            reason=self.reason,
        )
        return Decision(training, self.training_id)

    def retry_after_conflict(self, load: Load) -> bool:
        return False


@dataclass(frozen=True, kw_only=True)
class TrainingCommand(Command):
    """A command on an existing training action: `apply` calls the domain method."""

    training_id: UUID

    @property
    def aggregate_id(self) -> UUID:
        return self.training_id

    def decide(self, load: Load, meta: Meta) -> Decision:
        training = load_training(load, self.training_id)
        self.apply(training, load, meta)
        return Decision(training)

    @abstractmethod
    def apply(self, training: TrainingAction, load: Load, meta: Meta) -> None:
        """Trigger the events on `training` (`load` reads the aggregates it names)."""


@dataclass(frozen=True, kw_only=True)
class ReviseTraining(TrainingCommand):
    """Revise a training's title, partners, audiences, capacity, projects or campaign."""

    title: str | None = None
    partners: list[str] | None = None
    audiences: list[str] | None = None
    capacity: int | None = None
    project_ids: list[str] | None = None
    campaign: str | None = None

    def apply(self, training: TrainingAction, load: Load, meta: Meta) -> None:
        check_training_links(load, training.lab, self.project_ids, self.campaign)
        training.revise_details(
            meta,
            title=self.title,
            partners=self.partners,
            audiences=self.audiences,
            capacity=self.capacity,
            project_ids=self.project_ids,
            campaign=self.campaign,
            reason=self.reason,
        )


@dataclass(frozen=True, kw_only=True)
class RescheduleTraining(TrainingCommand):
    """Move a scheduled training's sessions to other dates, with a reason."""

    session_dates: list[date]

    def apply(self, training: TrainingAction, load: Load, meta: Meta) -> None:
        training.reschedule(self.session_dates, meta, self.reason)


@dataclass(frozen=True, kw_only=True)
class HoldTraining(TrainingCommand):
    """Record that a training was held, with its attendance (a count, never names)."""

    attendance: int
    attendance_by_audience: dict[str, int] = field(default_factory=dict)

    def apply(self, training: TrainingAction, load: Load, meta: Meta) -> None:
        training.hold(self.attendance, meta, self.attendance_by_audience, self.reason)


@dataclass(frozen=True, kw_only=True)
class CancelTraining(TrainingCommand):
    """Cancel a scheduled training, with a reason."""

    def apply(self, training: TrainingAction, load: Load, meta: Meta) -> None:
        training.cancel(meta, self.reason)


# -- the admin log ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AdminCommand(Command):
    """An administrative action, appended to the store's one AdminLog stream.

    `writes` are the rows that go with it in the same transaction (a token's row, an
    erased name).
    """

    writes: Sequence[SideWrite] = ()

    @property
    def aggregate_id(self) -> UUID:
        return ADMIN_LOG_ID

    def decide(self, load: Load, meta: Meta) -> Decision:
        try:
            log = load(ADMIN_LOG_ID)
        except AggregateNotFoundError:
            log = AdminLog.open(meta)
        assert isinstance(log, AdminLog)
        self.record(log, meta)
        return Decision(log)

    @abstractmethod
    def record(self, log: AdminLog, meta: Meta) -> None:
        """Trigger the admin event on `log`."""

    def side_writes(self) -> Sequence[SideWrite]:
        return self.writes


@dataclass(frozen=True, kw_only=True)
class RecordTokenCreated(AdminCommand):
    """Record that a bearer token was issued (its id and role, never the secret)."""

    token_id: str
    role: str
    lab: str | None = None

    def record(self, log: AdminLog, meta: Meta) -> None:
        log.token_created(meta, self.token_id, self.role, self.lab, self.reason)


@dataclass(frozen=True, kw_only=True)
class RecordTokenRevoked(AdminCommand):
    """Record that a bearer token was revoked."""

    token_id: str

    def record(self, log: AdminLog, meta: Meta) -> None:
        log.token_revoked(meta, self.token_id, self.reason)


@dataclass(frozen=True, kw_only=True)
class RecordProjectionsRebuilt(AdminCommand):
    """Record a rebuild (or a `--check`) of read models up to a log position."""

    projections: list[str]
    position: int
    checked: bool = False
    differences: int = 0

    def record(self, log: AdminLog, meta: Meta) -> None:
        log.projections_rebuilt(
            meta, self.projections, self.position, self.checked, self.differences, self.reason
        )


@dataclass(frozen=True, kw_only=True)
class RecordEventsImported(AdminCommand):
    """Record an import of an export file into this store."""

    count: int
    last_position: int
    running_hash: str
    file_sha256: str

    def record(self, log: AdminLog, meta: Meta) -> None:
        log.events_imported(
            meta, self.count, self.last_position, self.running_hash, self.file_sha256, self.reason
        )


@dataclass(frozen=True, kw_only=True)
class RecordAuditVerified(AdminCommand):
    """Record a verification of the log's hash chains and what it found."""

    events: int
    last_position: int
    findings: int

    def record(self, log: AdminLog, meta: Meta) -> None:
        log.audit_verified(meta, self.events, self.last_position, self.findings, self.reason)


@dataclass(frozen=True, kw_only=True)
class RecordPersonForgotten(AdminCommand):
    """Record that a person's name was erased (the event names the pseudonymous id only)."""

    person_id: str

    def record(self, log: AdminLog, meta: Meta) -> None:
        log.person_forgotten(meta, self.person_id, self.reason)


@dataclass(frozen=True, kw_only=True)
class RecordSigningKeyAdopted(AdminCommand):
    """Record the key that signs the store's history (nothing when it is recorded already)."""

    key_id: str
    public_key: str

    def record(self, log: AdminLog, meta: Meta) -> None:
        log.signing_key_adopted(meta, self.key_id, self.public_key, self.reason)


# -- webhook subscriptions (docs/webhooks.md) ---------------------------------------------


def load_webhook(load: Load, subscription_id: UUID) -> WebhookSubscription:
    """A webhook subscription's latest state, or `WebhookSubscriptionNotFoundError`."""
    try:
        subscription = load(subscription_id)
    except AggregateNotFoundError:
        raise WebhookSubscriptionNotFoundError(f"no webhook {subscription_id}") from None
    if not isinstance(subscription, WebhookSubscription):
        raise WebhookSubscriptionNotFoundError(f"no webhook {subscription_id}")
    return subscription


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True, kw_only=True)
class SubscribeWebhook(Command):
    """Subscribe a URL to event types of some labs; its secret is written beside the log."""

    url: str
    event_types: list[str]
    labs: list[str]
    owner_lab: str | None = None
    secret: str = field(default_factory=new_webhook_secret, repr=False)
    subscription_id: UUID = field(default_factory=uuid.uuid4)

    @property
    def aggregate_id(self) -> UUID:
        return self.subscription_id

    def decide(self, load: Load, meta: Meta) -> Decision:
        for lab in self.labs:
            load_lab(load, lab)
        return Decision(
            WebhookSubscription.subscribe(
                self.subscription_id,
                self.url,
                self.event_types,
                self.labs,
                self.owner_lab,
                meta,
                self.reason,
            )
        )

    def retry_after_conflict(self, load: Load) -> bool:
        return False

    def side_writes(self) -> Sequence[SideWrite]:
        # The secret and the delivery position, never in the event (docs/webhooks.md).
        return [
            PositionedRowWrite(
                f"INSERT INTO {WEBHOOK_SUBSCRIPTIONS_TABLE} (subscription_id, secret,"  # noqa: S608
                " attempts, delivered, created_at, position) VALUES (%s, %s, 0, 0, %s, %s)",
                (str(self.subscription_id), self.secret, datetime.now(UTC)),
            )
        ]


@dataclass(frozen=True, kw_only=True)
class WebhookCommand(Command):
    """A command on an existing webhook subscription: `apply` calls the domain method."""

    subscription_id: UUID

    @property
    def aggregate_id(self) -> UUID:
        return self.subscription_id

    def decide(self, load: Load, meta: Meta) -> Decision:
        subscription = load_webhook(load, self.subscription_id)
        if subscription.deleted:
            raise WebhookSubscriptionNotFoundError(f"no webhook {self.subscription_id}")
        self.apply(subscription, meta)
        return Decision(subscription)

    @abstractmethod
    def apply(self, subscription: WebhookSubscription, meta: Meta) -> None:
        """Trigger the event on `subscription`."""


@dataclass(frozen=True, kw_only=True)
class PauseWebhook(WebhookCommand):
    """Stop a subscription's deliveries (by hand, or by the deliverer after failures)."""

    def apply(self, subscription: WebhookSubscription, meta: Meta) -> None:
        subscription.pause(meta, self.reason)


@dataclass(frozen=True, kw_only=True)
class ResumeWebhook(WebhookCommand):
    """Deliver again from where deliveries stopped, with a fresh count of attempts."""

    def apply(self, subscription: WebhookSubscription, meta: Meta) -> None:
        subscription.resume(meta, self.reason)

    def side_writes(self) -> Sequence[SideWrite]:
        return [
            RowWrite(
                f"UPDATE {WEBHOOK_SUBSCRIPTIONS_TABLE} SET attempts = 0,"  # noqa: S608
                " next_attempt_at = NULL WHERE subscription_id = %s",
                (str(self.subscription_id),),
            )
        ]


@dataclass(frozen=True, kw_only=True)
class DeleteWebhook(WebhookCommand):
    """Delete a subscription for ever; its secret is erased in the same transaction."""

    def apply(self, subscription: WebhookSubscription, meta: Meta) -> None:
        subscription.delete(meta, self.reason)

    def side_writes(self) -> Sequence[SideWrite]:
        return [
            RowWrite(
                f"UPDATE {WEBHOOK_SUBSCRIPTIONS_TABLE} SET secret = NULL"  # noqa: S608
                " WHERE subscription_id = %s",
                (str(self.subscription_id),),
            )
        ]


def _leaves(base: type[Command]) -> list[type[Command]]:
    found: list[type[Command]] = []
    for sub in base.__subclasses__():
        found.extend(_leaves(sub) if sub.__subclasses__() else [sub])
    return found


COMMANDS: dict[str, type[Command]] = {
    cls.command_name: cls
    for cls in _leaves(Command)  # type: ignore[type-abstract]
}
"""Every command by name: the table the REST answer, the seed and the tests read."""

CREATED_FIELDS: tuple[str, ...] = tuple(
    sorted({cls.created for cls in COMMANDS.values() if cls.created})
)
"""The names under which REST answers report an entity a command created."""
