"""Fast, realistic event logs for the benchmarks: tracker's seed plan, saved in batches.

`tracker seed` sends one command per transaction (about 1,000 events/s): far too slow for
the 300,000 events of 10,000 projects. `load_portfolio` runs the very same commands
(`tracker.application.seed.plan_portfolio`, through `TrackerApplication`'s command methods and the
domain's rules) but keeps the aggregates in memory and saves them in batches of many
aggregates per transaction, so the log, the hash chain and the snapshots are the ones a
seed would have written, with positions in a different (still causal per project) order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from domain.errors import LabNotFoundError
from domain.lab import Lab
from domain.meta import Meta
from domain.project import Project
from domain.values import Health, Territory
from tracker.application.commands import RegisterLab
from tracker.application.seed import SEED_ACTOR, Step, plan_portfolio
from tracker.application.service import CommandResult, TrackerApplication
from tracker.application.services import Services
from tracker.config.settings import Settings
from tracker.store.interface import SideWrite

# Aggregates per save: large enough to amortise the commit, small enough to keep each
# transaction (and the PostgreSQL table lock it holds) short.
AGGREGATES_PER_SAVE = 200
PENDING_EVENTS_PER_FLUSH = 5_000
SEED_PROJECTS_MAX = 10_000


class BufferedApplication(TrackerApplication):
    """tracker's commands, with saves held in memory and written in batches by `flush`."""

    name = TrackerApplication.name  # the same tables as the real application

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings.model_copy(update={"group_commit": False}))
        self._aggregates: dict[UUID, Lab | Project] = {}
        self._dirty: dict[UUID, Lab | Project] = {}
        self.pending_events = 0
        self.events_written = 0

    def get_project(self, project_id: UUID, version: int | None = None) -> Project:
        held = self._aggregates.get(project_id)
        if version is None and isinstance(held, Project):
            return held
        return super().get_project(project_id, version)

    def get_lab(self, slug: str) -> Lab:
        held = self._aggregates.get(Lab.id_for(slug))
        if isinstance(held, Lab):
            return held
        return super().get_lab(slug)

    def _save(
        self,
        aggregate: Lab | Project,
        started: float,
        command: str,
        meta: Meta,
        side_writes: Sequence[SideWrite],
        created_id: str | None = None,
    ) -> CommandResult:
        self._aggregates[aggregate.id] = aggregate
        self._dirty[aggregate.id] = aggregate
        self.pending_events = sum(len(a.pending_events) for a in self._dirty.values())
        return CommandResult(aggregate.id, aggregate.version, 0, created_id)

    def hold(self, aggregate: Lab | Project) -> None:
        """Keep an aggregate built outside the commands, to be written by `flush`."""
        self._aggregates[aggregate.id] = aggregate
        self._dirty[aggregate.id] = aggregate

    def flush(self) -> None:
        """Save every aggregate with pending events, `AGGREGATES_PER_SAVE` per transaction."""
        dirty = list(self._dirty.values())
        for start in range(0, len(dirty), AGGREGATES_PER_SAVE):
            recordings = self.save(*dirty[start : start + AGGREGATES_PER_SAVE])
            self.events_written += len(recordings)
        self._dirty.clear()
        self.pending_events = 0


@dataclass(frozen=True)
class Loaded:
    projects: int
    events: int
    seconds: float
    project_ids: list[UUID]


# A young portfolio: each project's registration and its first few commands of these kinds
# (a prefix of its plan, so every command stays valid), for dashboards over many projects.
YOUNG_KINDS = frozenset(
    {
        "register_project",
        "enter_phase",
        "assess_health",
        "plan_milestone",
        "reschedule_milestone",
        "achieve_milestone",
        "cancel_milestone",
        "log_activity",
        "commit_funding",
        "close_project",
        "reopen_project",
    }
)


def _young(steps: list[Step], per_project: int) -> list[Step]:
    kept: dict[int, int] = {}
    young: list[Step] = []
    for step in steps:
        if step.command in YOUNG_KINDS and kept.get(step.project, 0) < per_project:
            kept[step.project] = kept.get(step.project, 0) + 1
            young.append(step)
    return young


def load_portfolio(
    settings: Settings,
    projects: int,
    seeds: Sequence[int] = (42,),
    on_progress: Callable[[int], None] | None = None,
    commands_per_project: int | None = None,
) -> Loaded:
    """Write the seed's portfolio (`projects` per seed) through the commands, in batches.

    With `commands_per_project`, only each project's first commands of `YOUNG_KINDS`.
    """
    started = time.perf_counter()
    application = BufferedApplication(settings)
    project_ids: list[UUID] = []
    try:
        today = application.today()
        for seed in seeds:
            lab_steps, steps = plan_portfolio(min(projects, SEED_PROJECTS_MAX), seed, today)
            if commands_per_project is not None:
                steps = _young(steps, commands_per_project)
            for step in [*lab_steps, *steps]:
                if step.command == "register_lab":
                    try:
                        application.get_lab(step.kwargs["slug"])
                        continue  # a later seed's labs are the first seed's
                    except LabNotFoundError:
                        pass
                if step.command == "register_project":
                    project_ids.append(step.kwargs["project_id"])
                meta = application.meta(SEED_ACTOR, step.correlation_id, step.on)
                application.execute(step.as_command(), meta)
                # A cheap running count: most commands add one event.
                if len(application._dirty) >= AGGREGATES_PER_SAVE * 5 or (
                    application.pending_events >= PENDING_EVENTS_PER_FLUSH
                ):
                    application.flush()
                    if on_progress is not None:
                        on_progress(application.events_written)
            application.flush()
        return Loaded(
            len(project_ids), application.events_written, time.perf_counter() - started, project_ids
        )
    finally:
        application.close()


def bench_meta(today: date) -> Meta:
    return Meta(actor="tok_bench", correlation_id="bench", occurred_on=today, today=today)


def register_bench_projects(
    services: Services, lab: str, count: int, events_each: int = 0
) -> list[UUID]:
    """A lab and `count` projects in it (each with `events_each` health events), in batches."""
    application = services.application
    meta = bench_meta(application.today())
    try:
        application.get_lab(lab)
    except LabNotFoundError:
        application.execute(RegisterLab(slug=lab, name="Banc d'essai", region_code="27"), meta)
    ids: list[UUID] = []
    batch: list[Project] = []
    healths = list(Health)
    for _ in range(count):
        project = Project.register(
            lab=lab,
            title="Projet de mesure",
            summary="Un projet pour mesurer.",
            themes=["mesure"],
            territories=[Territory("department", "21", 2024)],
            started_on=meta.today,
            meta=meta,
        )
        for i in range(events_each):
            project.assess_health(healths[i % len(healths)], meta)
        ids.append(project.id)
        batch.append(project)
        if sum(len(p.pending_events) for p in batch) >= 2_000:
            application.save(*batch)
            batch = []
    if batch:
        application.save(*batch)
    return ids


def grow_project(services: Services, project_id: UUID, events: int, per_save: int = 500) -> None:
    """Append `events` health assessments to one project, `per_save` per transaction."""
    application = services.application
    meta = bench_meta(application.today())
    healths = list(Health)
    project = application.get_project(project_id)
    for i in range(events):
        project.assess_health(healths[i % len(healths)], meta)
        if len(project.pending_events) >= per_save:
            application.save(project)
    application.save(project)
