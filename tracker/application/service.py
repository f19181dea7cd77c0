"""The service layer: an eventsourcing Application whose methods are tracker's commands.

Each command loads its aggregate, lets the domain decide, and saves the new events in one
transaction. Without an expected version, a command that loses a race on the aggregate's
version is retried on the latest state (`Settings.command_retries` attempts); with one
(`If-Match`), a mismatch is refused with `StaleVersionError` and nothing is written.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from domain.errors import (
    LabAlreadyRegisteredError,
    LabNotFoundError,
    ProjectNotFoundError,
)
from domain.lab import Lab
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
)
from tracker.application.group_commit import GroupCommitter
from tracker.config.settings import Settings
from tracker.schema.event_store import APPLICATION_NAME
from tracker.store.recorders import SideWrite, event_store_env
from tracker.store.transcodings import register_tracker_transcodings

log = structlog.get_logger("tracker.commands")

AGGREGATE_LOCK_STRIPES = 1024


class ApplicationError(Exception):
    """A command could not be applied for a reason outside the domain's rules."""


class StaleVersionError(ApplicationError):
    """The client's expected version is not the aggregate's current version."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"expected version {expected}, the current version is {actual}")
        self.expected = expected
        self.actual = actual


class ConflictRetriesExhaustedError(ApplicationError):
    """Concurrent writers kept winning the race for this aggregate."""


@dataclass(frozen=True)
class CommandResult:
    """What a command answers: the aggregate, its new version, and its last event's position."""

    id: UUID
    version: int
    position: int
    created_id: str | None = None


@dataclass(frozen=True)
class WriteOptions:
    """How the edge wants a command written: the expected version, and writes to join."""

    expected_version: int | None = None
    side_writes: Sequence[SideWrite] = ()


DEFAULT_OPTIONS = WriteOptions()


class TrackerApplication(Application[UUID]):
    """tracker's commands and strongly consistent reads, over the event store."""

    name = APPLICATION_NAME  # pinned: table names derive from it
    is_snapshotting_enabled = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # The library declares the intervals as a class variable; tracker's come from settings.
        self.__dict__["snapshotting_intervals"] = {Project: settings.snapshot_interval}
        env = event_store_env(settings)
        if settings.aggregate_cache_size:
            # The library's aggregate cache, fast-forwarded on every get: a read costs one
            # query for the events after the cached version (instead of the snapshot's and
            # the events' queries), and sees other processes' writes. Gets return deep
            # copies, so a command that fails never leaves its changes in the cache.
            env |= {
                "AGGREGATE_CACHE_MAXSIZE": str(settings.aggregate_cache_size),
                "AGGREGATE_CACHE_FASTFORWARD": "y",
                "DEEPCOPY_FROM_AGGREGATE_CACHE": "y",
            }
        super().__init__(env=env)
        self._locks = [threading.Lock() for _ in range(AGGREGATE_LOCK_STRIPES)]
        self.committer = (
            GroupCommitter(self.save, settings.group_commit_max_batch)
            if settings.group_commit
            else None
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_tracker_transcodings(transcoder)

    # -- context ---------------------------------------------------------------------------

    def today(self) -> date:
        """Today's date in the labs' time zone."""
        return datetime.now(self.settings.zone).date()

    def meta(self, actor: str, correlation_id: str, occurred_on: date | None = None) -> Meta:
        """Build a command's metadata; `occurred_on` defaults to today and may not be later."""
        today = self.today()
        return Meta(
            actor=actor,
            correlation_id=correlation_id,
            occurred_on=occurred_on or today,
            today=today,
        )

    # -- reads -------------------------------------------------------------------------------

    def get_project(self, project_id: UUID, version: int | None = None) -> Project:
        """A project's current state (or as of `version`), replayed from the store."""
        try:
            project: Project = self.repository.get(project_id, version=version)
        except AggregateNotFoundError:
            raise ProjectNotFoundError(f"no project {project_id}") from None
        if not isinstance(project, Project):
            raise ProjectNotFoundError(f"no project {project_id}")
        return project

    def get_lab(self, slug: str) -> Lab:
        """A lab by its slug."""
        try:
            lab: Lab = self.repository.get(Lab.id_for(slug))
        except AggregateNotFoundError:
            raise LabNotFoundError(f"no lab {slug!r}") from None
        return lab

    def list_labs(self) -> list[Lab]:
        """Every registered lab, in registration order."""
        topic = f"{Lab.LabRegistered.__module__}:{Lab.LabRegistered.__qualname__}"
        labs: list[Lab] = []
        start = 1
        while True:
            notifications = self.recorder.select_notifications(
                start=start, limit=500, topics=[topic]
            )
            labs.extend(self.repository.get(UUID(str(n.originator_id))) for n in notifications)
            if len(notifications) < 500:
                return labs
            start = notifications[-1].id + 1

    # -- writes ------------------------------------------------------------------------------

    def _save(
        self,
        aggregate: Lab | Project,
        started: float,
        command: str,
        meta: Meta,
        side_writes: Sequence[SideWrite],
        created_id: str | None = None,
    ) -> CommandResult:
        if self.committer is not None:
            recordings = self.committer.submit(aggregate, side_writes)
        else:
            recordings = self.save(aggregate, side_writes=list(side_writes))
        position = recordings[-1].notification.id if recordings else 0
        log.info(
            "command",
            command=command,
            aggregate_id=str(aggregate.id),
            version=aggregate.version,
            position=position,
            actor=meta.actor,
            correlation_id=meta.correlation_id,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return CommandResult(aggregate.id, aggregate.version, position, created_id)

    def register_lab(
        self,
        slug: str,
        name: str,
        region_code: str,
        meta: Meta,
        options: WriteOptions = DEFAULT_OPTIONS,
    ) -> CommandResult:
        """Register a lab under a new slug."""
        started = time.perf_counter()
        lab = Lab.register(slug=slug, name=name, region_code=region_code, meta=meta)
        try:
            return self._save(lab, started, "register_lab", meta, options.side_writes)
        except IntegrityError:
            # The lab's id derives from its slug: a conflict on version 1 means the slug is
            # taken, unless the conflict came from elsewhere (a side write): then re-raise.
            if self._lab_exists(slug):
                raise LabAlreadyRegisteredError(f"a lab {slug!r} is registered already") from None
            raise

    def _lab_exists(self, slug: str) -> bool:
        try:
            self.get_lab(slug)
        except LabNotFoundError:
            return False
        return True

    def register_project(
        self,
        lab: str,
        title: str,
        summary: str,
        themes: list[str],
        territories: list[Territory],
        started_on: date,
        meta: Meta,
        project_id: UUID | None = None,
        options: WriteOptions = DEFAULT_OPTIONS,
    ) -> CommandResult:
        """Register a project in an existing lab's portfolio."""
        started = time.perf_counter()
        self.get_lab(lab)
        project = Project.register(
            lab=lab,
            title=title,
            summary=summary,
            themes=themes,
            territories=territories,
            started_on=started_on,
            meta=meta,
            project_id=project_id,
        )
        return self._save(project, started, "register_project", meta, options.side_writes)

    def change_project(
        self,
        project_id: UUID,
        command: str,
        change: Callable[[Project], str | None],
        meta: Meta,
        options: WriteOptions = DEFAULT_OPTIONS,
    ) -> CommandResult:
        """Apply `change` to the latest state of a project and save its events.

        Retries on a lost version race unless the caller pinned `expected_version`.
        `change` returns the id of an entity it created, if any.
        """
        started = time.perf_counter()
        with self._aggregate_lock(project_id):
            return self._change_project(project_id, command, change, meta, options, started)

    def _aggregate_lock(self, aggregate_id: UUID) -> threading.Lock:
        # Commands on one aggregate queue up in this process instead of racing on its version;
        # the retries below are for writers in other processes.
        return self._locks[aggregate_id.int % len(self._locks)]

    def _change_project(
        self,
        project_id: UUID,
        command: str,
        change: Callable[[Project], str | None],
        meta: Meta,
        options: WriteOptions,
        started: float,
    ) -> CommandResult:
        expected_version, side_writes = options.expected_version, options.side_writes
        for _attempt in range(self.settings.command_retries):
            project = self.get_project(project_id)
            if expected_version is not None and project.version != expected_version:
                raise StaleVersionError(expected_version, project.version)
            created_id = change(project)
            try:
                return self._save(project, started, command, meta, side_writes, created_id)
            except IntegrityError:
                if expected_version is not None:
                    raise StaleVersionError(
                        expected_version, self.get_project(project_id).version
                    ) from None
                log.info("command_conflict_retry", command=command, aggregate_id=str(project_id))
        raise ConflictRetriesExhaustedError(
            f"{command} on project {project_id} lost {self.settings.command_retries} races"
        )

    # One method per command of CONTRACT §2; each is `change_project` with the domain's method.

    def revise_project(
        self,
        project_id: UUID,
        meta: Meta,
        *,
        title: str | None = None,
        summary: str | None = None,
        themes: list[str] | None = None,
        territories: list[Territory] | None = None,
        reason: str | None = None,
        options: WriteOptions = DEFAULT_OPTIONS,
    ) -> CommandResult:
        """Revise a project's title, summary, themes or territories."""
        return self.change_project(
            project_id,
            "revise_project",
            lambda p: p.revise_details(
                meta,
                title=title,
                summary=summary,
                themes=themes,
                territories=territories,
                reason=reason,
            ),
            meta,
            options,
        )

    def enter_phase(
        self,
        project_id: UUID,
        phase: Phase,
        decision: GateDecision,
        meta: Meta,
        reason: str | None = None,
        options: WriteOptions = DEFAULT_OPTIONS,
    ) -> CommandResult:
        """Pass a phase gate with a go or iterate decision."""
        return self.change_project(
            project_id,
            "enter_phase",
            lambda p: p.enter_phase(phase, decision, meta, reason),
            meta,
            options,
        )

    def assess_health(
        self,
        project_id: UUID,
        health: Health,
        meta: Meta,
        reason: str | None = None,
        options: WriteOptions = DEFAULT_OPTIONS,
    ) -> CommandResult:
        """Record a project's health."""
        return self.change_project(
            project_id,
            "assess_health",
            lambda p: p.assess_health(health, meta, reason),
            meta,
            options,
        )

    def plan_milestone(
        self,
        project_id: UUID,
        title: str,
        due_on: date,
        phase: Phase,
        meta: Meta,
        reason: str | None = None,
        milestone_id: str | None = None,
        options: WriteOptions = DEFAULT_OPTIONS,
    ) -> CommandResult:
        """Plan a milestone; the result's `created_id` is the milestone's id."""
        return self.change_project(
            project_id,
            "plan_milestone",
            lambda p: p.plan_milestone(title, due_on, phase, meta, milestone_id, reason),
            meta,
            options,
        )

    def reschedule_milestone(
        self,
        project_id: UUID,
        milestone_id: str,
        due_on: date,
        meta: Meta,
        reason: str | None,
        options: WriteOptions = DEFAULT_OPTIONS,
    ) -> CommandResult:
        """Move a planned milestone to another date, with a reason."""
        return self.change_project(
            project_id,
            "reschedule_milestone",
            lambda p: p.reschedule_milestone(milestone_id, due_on, meta, reason),
            meta,
            options,
        )

    def achieve_milestone(
        self,
        project_id: UUID,
        milestone_id: str,
        achieved_on: date,
        evidence: str,
        meta: Meta,
        reason: str | None = None,
        options: WriteOptions = DEFAULT_OPTIONS,
    ) -> CommandResult:
        """Mark a planned milestone achieved."""
        return self.change_project(
            project_id,
            "achieve_milestone",
            lambda p: p.achieve_milestone(milestone_id, achieved_on, evidence, meta, reason),
            meta,
            options,
        )

    def cancel_milestone(
        self,
        project_id: UUID,
        milestone_id: str,
        meta: Meta,
        reason: str | None,
        options: WriteOptions = DEFAULT_OPTIONS,
    ) -> CommandResult:
        """Cancel a planned milestone, with a reason."""
        return self.change_project(
            project_id,
            "cancel_milestone",
            lambda p: p.cancel_milestone(milestone_id, meta, reason),
            meta,
            options,
        )

    def add_partner(
        self,
        project_id: UUID,
        name: str,
        role: str,
        meta: Meta,
        reason: str | None = None,
        partner_id: str | None = None,
        options: WriteOptions = DEFAULT_OPTIONS,
    ) -> CommandResult:
        """Record a partner joining; `created_id` is the partner's id."""
        return self.change_project(
            project_id,
            "add_partner",
            lambda p: p.add_partner(name, role, meta, partner_id, reason),
            meta,
            options,
        )

    def remove_partner(
        self,
        project_id: UUID,
        partner_id: str,
        meta: Meta,
        reason: str | None = None,
        options: WriteOptions = DEFAULT_OPTIONS,
    ) -> CommandResult:
        """Record a partner leaving."""
        return self.change_project(
            project_id,
            "remove_partner",
            lambda p: p.remove_partner(partner_id, meta, reason),
            meta,
            options,
        )

    def define_indicator(
        self,
        project_id: UUID,
        name: str,
        unit: str,
        baseline: float,
        target: float,
        meta: Meta,
        reason: str | None = None,
        indicator_id: str | None = None,
        options: WriteOptions = DEFAULT_OPTIONS,
    ) -> CommandResult:
        """Define an indicator; `created_id` is the indicator's id."""
        return self.change_project(
            project_id,
            "define_indicator",
            lambda p: p.define_indicator(name, unit, baseline, target, meta, indicator_id, reason),
            meta,
            options,
        )

    def measure_indicator(
        self,
        project_id: UUID,
        indicator_id: str,
        value: float,
        measured_on: date,
        meta: Meta,
        reason: str | None = None,
        options: WriteOptions = DEFAULT_OPTIONS,
    ) -> CommandResult:
        """Record a measurement of an indicator."""
        return self.change_project(
            project_id,
            "measure_indicator",
            lambda p: p.measure_indicator(indicator_id, value, measured_on, meta, reason),
            meta,
            options,
        )

    def log_activity(
        self,
        project_id: UUID,
        kind: ActivityKind,
        title: str,
        held_on: date,
        participants: int,
        meta: Meta,
        reason: str | None = None,
        activity_id: str | None = None,
        options: WriteOptions = DEFAULT_OPTIONS,
        mode: ActivityMode | None = None,
    ) -> CommandResult:
        """Log a workshop, training, webinar…; `created_id` is the activity's id."""
        return self.change_project(
            project_id,
            "log_activity",
            lambda p: p.log_activity(
                kind, title, held_on, participants, meta, activity_id, reason, mode
            ),
            meta,
            options,
        )

    def record_decision(
        self,
        project_id: UUID,
        title: str,
        decision: str,
        rationale: str,
        meta: Meta,
        reason: str | None = None,
        decision_id: str | None = None,
        options: WriteOptions = DEFAULT_OPTIONS,
    ) -> CommandResult:
        """Record a decision; `created_id` is the decision's id."""
        return self.change_project(
            project_id,
            "record_decision",
            lambda p: p.record_decision(title, decision, rationale, meta, decision_id, reason),
            meta,
            options,
        )

    def commit_funding(
        self,
        project_id: UUID,
        source: str,
        amount_cents: int,
        fiscal_year: int,
        meta: Meta,
        reason: str | None = None,
        funding_id: str | None = None,
        options: WriteOptions = DEFAULT_OPTIONS,
    ) -> CommandResult:
        """Record funding committed; `created_id` is the funding line's id."""
        return self.change_project(
            project_id,
            "commit_funding",
            lambda p: p.commit_funding(source, amount_cents, fiscal_year, meta, funding_id, reason),
            meta,
            options,
        )

    def close_project(
        self,
        project_id: UUID,
        outcome: Outcome,
        meta: Meta,
        reason: str | None,
        options: WriteOptions = DEFAULT_OPTIONS,
    ) -> CommandResult:
        """Close a project with its outcome."""
        return self.change_project(
            project_id,
            "close_project",
            lambda p: p.close(outcome, meta, reason),
            meta,
            options,
        )

    def reopen_project(
        self,
        project_id: UUID,
        meta: Meta,
        reason: str | None,
        options: WriteOptions = DEFAULT_OPTIONS,
    ) -> CommandResult:
        """Reopen a closed project in the phase it was closed in."""
        return self.change_project(
            project_id,
            "reopen_project",
            lambda p: p.reopen(meta, reason),
            meta,
            options,
        )
