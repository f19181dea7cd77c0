"""Fast, realistic event logs for the benchmarks: tracker's seed plan, saved in batches.

`load_portfolio` sends the seed's commands (`tracker.application.seed.plan_portfolio`)
through the application's one command path, `TrackerApplication.execute_many`, a few
thousand per transaction and project by project, so the log, the hash chain and the
snapshots are the ones a seed would have written, with positions in a different (still
causal per project) order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from domain.errors import LabNotFoundError
from domain.meta import Meta
from domain.values import Health, Territory
from tracker.application.commands import AssessHealth, Command, RegisterLab, RegisterProject
from tracker.application.seed import SEED_ACTOR, Step, plan_portfolio
from tracker.application.service import TrackerApplication
from tracker.application.services import Services
from tracker.config.settings import Settings

# Commands per transaction (`TrackerApplication.execute_many`): large enough to amortise the
# commit, small enough to keep each transaction (and the PostgreSQL table lock) short.
COMMANDS_PER_SAVE = 2_000
SEED_PROJECTS_MAX = 10_000


def _execute_in_batches(
    application: TrackerApplication,
    commands: Sequence[tuple[Command, Meta]],
    on_progress: Callable[[int], None] | None = None,
) -> int:
    written = 0
    for start in range(0, len(commands), COMMANDS_PER_SAVE):
        results = application.execute_many(commands[start : start + COMMANDS_PER_SAVE])
        written += len(results)
        if on_progress is not None:
            on_progress(written)
    return written


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


def _young(steps: list[Step], per_project: int, projects: int, trainings: int) -> list[Step]:
    """Each project's first `per_project` commands of `YOUNG_KINDS`, and the whole history
    of the programme's first `trainings` plan entries (the seed numbers them after the
    projects: the 2020 campaign and its actions first, then the other actions)."""
    kept: dict[int, int] = {}
    young: list[Step] = []
    for step in steps:
        if step.project >= projects:
            if step.project < projects + trainings:
                young.append(step)
        elif step.command in YOUNG_KINDS and kept.get(step.project, 0) < per_project:
            kept[step.project] = kept.get(step.project, 0) + 1
            young.append(step)
    return young


def load_portfolio(
    settings: Settings,
    projects: int,
    seeds: Sequence[int] = (42,),
    on_progress: Callable[[int], None] | None = None,
    commands_per_project: int | None = None,
    young_trainings: int = 0,
) -> Loaded:
    """Write the seed's portfolio (`projects` per seed) through the commands, in batches.

    Each project's commands are sent together (in its own order), so that a batch holds
    few projects and each is read from the store at most once per batch. With
    `commands_per_project`, only each project's first commands of `YOUNG_KINDS`, and the
    programme's first `young_trainings` entries (the campaign and some training actions).
    """
    started = time.perf_counter()
    application = TrackerApplication(settings.model_copy(update={"group_commit": False}))
    project_ids: list[UUID] = []
    commands: list[tuple[Command, Meta]] = []
    try:
        today = application.today()
        known_labs = {lab.slug for lab in application.list_labs()}
        for seed in seeds:
            planned = min(projects, SEED_PROJECTS_MAX)
            lab_steps, steps = plan_portfolio(planned, seed, today)
            if commands_per_project is not None:
                steps = _young(steps, commands_per_project, planned, young_trainings)
            for step in lab_steps:
                if step.kwargs["slug"] not in known_labs:  # a later seed's labs are the first's
                    known_labs.add(step.kwargs["slug"])
                    commands.append((step.as_command(), _meta(application, step)))
            for step in sorted(steps, key=lambda s: (s.project, s.seq)):
                if step.command == "register_project":
                    project_ids.append(step.kwargs["project_id"])
                commands.append((step.as_command(), _meta(application, step)))
        events = _execute_in_batches(application, commands, on_progress)
        return Loaded(len(project_ids), events, time.perf_counter() - started, project_ids)
    finally:
        application.close()


def _meta(application: TrackerApplication, step: Step) -> Meta:
    return application.meta(SEED_ACTOR, step.correlation_id, step.on)


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
    healths = list(Health)
    commands: list[tuple[Command, Meta]] = []
    ids: list[UUID] = []
    for _ in range(count):
        register = RegisterProject(
            lab=lab,
            title="Projet de mesure",
            summary="Un projet pour mesurer.",
            themes=["mesure"],
            territories=[Territory("department", "21", 2024)],
            started_on=meta.today,
        )
        ids.append(register.project_id)
        commands.append((register, meta))
        commands.extend(
            (AssessHealth(project_id=register.project_id, health=healths[i % len(healths)]), meta)
            for i in range(events_each)
        )
    _execute_in_batches(application, commands)
    return ids


def grow_project(services: Services, project_id: UUID, events: int, per_save: int = 500) -> None:
    """Append `events` health assessments to one project, `per_save` per transaction."""
    application = services.application
    meta = bench_meta(application.today())
    healths = list(Health)
    for start in range(0, events, per_save):
        application.execute_many(
            [
                (AssessHealth(project_id=project_id, health=healths[i % len(healths)]), meta)
                for i in range(start, min(events, start + per_save))
            ]
        )
