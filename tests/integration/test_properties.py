"""Random valid command sequences through the application, on SQLite and PostgreSQL.

Each example registers a project under a random id, then interprets a random list of steps
as commands that are valid in the state reached so far. Every command goes through the
application (and so the store) and, with the same arguments and ids, to an in-memory
`Project`. At the end the state loaded back from the store must equal the in-memory one,
and the store's snapshot-plus-events must equal a full replay of the events.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.meta import Meta
from domain.project import Project
from domain.values import (
    ActivityKind,
    ActivityMode,
    GateDecision,
    Health,
    MilestoneStatus,
    Outcome,
    Phase,
    Territory,
)
from tests.factories import full_replay, registered_lab
from tracker.application.commands import (
    AchieveMilestone,
    AddPartner,
    AssessHealth,
    CancelMilestone,
    CloseProject,
    CommitFunding,
    DefineIndicator,
    EnterPhase,
    LogActivity,
    MeasureIndicator,
    PlanMilestone,
    RecordDecision,
    RegisterProject,
    RemovePartner,
    ReopenProject,
    RescheduleMilestone,
    ReviseProject,
)
from tracker.application.service import TrackerApplication
from tracker.config.settings import Settings

SNAPSHOT_INTERVAL = 3
TIMESTAMPS = ("created_on", "modified_on")


@pytest.fixture(name="settings")
def small_snapshot_interval(database_url: str) -> Settings:
    """The parametrised database, snapshotting every few events so snapshots really happen."""
    return Settings(database_url=database_url, snapshot_interval=SNAPSHOT_INTERVAL)


@dataclass
class Run:
    """One example: the project in the store and its in-memory twin."""

    application: TrackerApplication
    model: Project
    today: date
    commands: list[str] = field(default_factory=list)
    latest: date | None = None

    @property
    def project_id(self) -> uuid.UUID:
        return self.model.id

    def day(self, days_ago: int) -> date:
        """A backdated business date, never before the last one given: valid commands keep
        the timeline's order (docs/time.md)."""
        candidate = self.today - timedelta(days=days_ago % 400)
        self.latest = max(self.latest or candidate, candidate)
        return self.latest

    def both(
        self,
        name: str,
        through_application: Callable[[TrackerApplication, uuid.UUID, Meta], object],
        in_memory: Callable[[Project, Meta], object],
        days_ago: int,
    ) -> None:
        meta = self.application.meta(f"tok_{name}", str(uuid.uuid4()), self.day(days_ago))
        through_application(self.application, self.project_id, meta)
        in_memory(self.model, meta)
        self.commands.append(name)

    def planned(self, pick: int) -> str | None:
        ids = sorted(
            m.milestone_id
            for m in self.model.milestones.values()
            if m.status == MilestoneStatus.PLANNED
        )
        return ids[pick % len(ids)] if ids else None


def _new_id() -> str:
    return str(uuid.uuid4())


# A step is (action, a, b): two random integers the action reads as it needs.
Action = Callable[[Run, int, int], None]


def go(run: Run, a: int, b: int) -> None:
    phase = run.model.phase.next()
    if phase is None:
        return assess(run, a, b)
    return run.both(
        "enter_phase",
        lambda app, pid, m: app.execute(
            EnterPhase(project_id=pid, phase=phase, decision=GateDecision.GO), m
        ),
        lambda p, m: p.enter_phase(phase, GateDecision.GO, m),
        a,
    )


def iterate(run: Run, a: int, b: int) -> None:
    current = run.model.phase
    if current.rank == 0:
        return go(run, a, b)
    phase = list(Phase)[b % current.rank]
    return run.both(
        "enter_phase",
        lambda app, pid, m: app.execute(
            EnterPhase(project_id=pid, phase=phase, decision=GateDecision.ITERATE, reason="retour"),
            m,
        ),
        lambda p, m: p.enter_phase(phase, GateDecision.ITERATE, m, "retour"),
        a,
    )


def assess(run: Run, a: int, b: int) -> None:
    health = list(Health)[b % len(Health)]
    run.both(
        "assess_health",
        lambda app, pid, m: app.execute(
            AssessHealth(project_id=pid, health=health, reason=f"revue {b}"), m
        ),
        lambda p, m: p.assess_health(health, m, f"revue {b}"),
        a,
    )


def plan(run: Run, a: int, b: int) -> None:
    mid, due, phase = _new_id(), run.today + timedelta(days=b % 300 - 100), list(Phase)[b % 7]
    run.both(
        "plan_milestone",
        lambda app, pid, m: app.execute(
            PlanMilestone(
                project_id=pid, title=f"Jalon {b}", due_on=due, phase=phase, milestone_id=mid
            ),
            m,
        ),
        lambda p, m: p.plan_milestone(f"Jalon {b}", due, phase, m, milestone_id=mid),
        a,
    )


def reschedule(run: Run, a: int, b: int) -> None:
    mid = run.planned(b)
    if mid is None:
        return plan(run, a, b)
    due = run.model.milestones[mid].due_on + timedelta(days=b % 60 - 30 or 1)
    return run.both(
        "reschedule_milestone",
        lambda app, pid, m: app.execute(
            RescheduleMilestone(project_id=pid, milestone_id=mid, due_on=due, reason="glissement"),
            m,
        ),
        lambda p, m: p.reschedule_milestone(mid, due, m, "glissement"),
        a,
    )


def achieve(run: Run, a: int, b: int) -> None:
    mid = run.planned(b)
    if mid is None:
        return plan(run, a, b)
    day = run.day(b)
    return run.both(
        "achieve_milestone",
        lambda app, pid, m: app.execute(
            AchieveMilestone(
                project_id=pid, milestone_id=mid, achieved_on=day, evidence="compte rendu"
            ),
            m,
        ),
        lambda p, m: p.achieve_milestone(mid, day, "compte rendu", m),
        a,
    )


def cancel(run: Run, a: int, b: int) -> None:
    mid = run.planned(b)
    if mid is None:
        return plan(run, a, b)
    return run.both(
        "cancel_milestone",
        lambda app, pid, m: app.execute(
            CancelMilestone(project_id=pid, milestone_id=mid, reason="abandon"), m
        ),
        lambda p, m: p.cancel_milestone(mid, m, "abandon"),
        a,
    )


def join(run: Run, a: int, b: int) -> None:
    pid_, name = _new_id(), f"Partenaire {b}"
    if any(p.name == name for p in run.model.partners.values()):
        return leave(run, a, b)
    return run.both(
        "add_partner",
        lambda app, pid, m: app.execute(
            AddPartner(project_id=pid, name=name, role="financeur", partner_id=pid_), m
        ),
        lambda p, m: p.add_partner(name, "financeur", m, pid_),
        a,
    )


def leave(run: Run, a: int, b: int) -> None:
    partners = sorted(run.model.partners)
    if not partners:
        return join(run, a, b)
    partner_id = partners[b % len(partners)]
    return run.both(
        "remove_partner",
        lambda app, pid, m: app.execute(RemovePartner(project_id=pid, partner_id=partner_id), m),
        lambda p, m: p.remove_partner(partner_id, m),
        a,
    )


def define(run: Run, a: int, b: int) -> None:
    iid, baseline, target = _new_id(), b / 4, b / 2 + 1
    run.both(
        "define_indicator",
        lambda app, pid, m: app.execute(
            DefineIndicator(
                project_id=pid,
                name="Taux",
                unit="%",
                baseline=baseline,
                target=target,
                reason=None,
                indicator_id=iid,
            ),
            m,
        ),
        lambda p, m: p.define_indicator("Taux", "%", baseline, target, m, iid),
        a,
    )


def measure(run: Run, a: int, b: int) -> None:
    indicators = sorted(run.model.indicators)
    if not indicators:
        return define(run, a, b)
    iid, value, day = indicators[b % len(indicators)], a / 8 - b, run.day(b)
    return run.both(
        "measure_indicator",
        lambda app, pid, m: app.execute(
            MeasureIndicator(project_id=pid, indicator_id=iid, value=value, measured_on=day), m
        ),
        lambda p, m: p.measure_indicator(iid, value, day, m),
        a,
    )


def log(run: Run, a: int, b: int) -> None:
    aid, kind, day = _new_id(), list(ActivityKind)[b % 6], run.day(a + b)
    mode = [None, *ActivityMode][a % 4]
    run.both(
        "log_activity",
        lambda app, pid, m: app.execute(
            LogActivity(
                project_id=pid,
                kind=kind,
                title="Séance",
                held_on=day,
                participants=b,
                reason=None,
                activity_id=aid,
                mode=mode,
            ),
            m,
        ),
        lambda p, m: p.log_activity(kind, "Séance", day, b, m, aid, mode=mode),
        a,
    )


def decide(run: Run, a: int, b: int) -> None:
    did = _new_id()
    run.both(
        "record_decision",
        lambda app, pid, m: app.execute(
            RecordDecision(
                project_id=pid,
                title="Choix",
                decision=f"option {b}",
                rationale="coût",
                reason=None,
                decision_id=did,
            ),
            m,
        ),
        lambda p, m: p.record_decision("Choix", f"option {b}", "coût", m, did),
        a,
    )


def fund(run: Run, a: int, b: int) -> None:
    fid, cents, year = _new_id(), a * 1000 + b, 2000 + b % 101
    run.both(
        "commit_funding",
        lambda app, pid, m: app.execute(
            CommitFunding(
                project_id=pid,
                source="Région",
                amount_cents=cents,
                fiscal_year=year,
                reason=None,
                funding_id=fid,
            ),
            m,
        ),
        lambda p, m: p.commit_funding("Région", cents, year, m, fid),
        a,
    )


def revise(run: Run, a: int, b: int) -> None:
    title, themes = f"Projet {b}", [f"thème {a % 3}", f"thème {b % 5}"]
    territories = [Territory("commune", f"{21000 + b % 900:05d}", 2024)]
    run.both(
        "revise_project",
        lambda app, pid, m: app.execute(
            ReviseProject(project_id=pid, title=title, themes=themes, territories=territories), m
        ),
        lambda p, m: p.revise_details(m, title=title, themes=themes, territories=territories),
        a,
    )


def close(run: Run, a: int, b: int) -> None:
    outcome = list(Outcome)[b % 4]
    run.both(
        "close_project",
        lambda app, pid, m: app.execute(
            CloseProject(project_id=pid, outcome=outcome, reason="fin"), m
        ),
        lambda p, m: p.close(outcome, m, "fin"),
        a,
    )


def reopen(run: Run, a: int, _: int) -> None:
    run.both(
        "reopen_project",
        lambda app, pid, m: app.execute(ReopenProject(project_id=pid, reason="relance"), m),
        lambda p, m: p.reopen(m, "relance"),
        a,
    )


ACTIONS: dict[str, Action] = {
    action.__name__: action
    for action in [
        *(go, iterate, assess, plan, reschedule, achieve, cancel, join, leave),
        *(define, measure, log, decide, fund, revise, close),
    ]
}
STEPS = st.lists(
    st.tuples(st.sampled_from(sorted(ACTIONS)), st.integers(0, 10_000), st.integers(0, 10_000)),
    min_size=1,
    max_size=25,
)


def start(application: TrackerApplication, lab: str) -> Run:
    project_id, today = uuid.uuid4(), application.today()
    arguments: dict[str, Any] = {
        "lab": lab,
        "title": "Tiers-lieu numérique",
        "summary": "Un lieu pour apprendre ensemble.",
        "themes": ["inclusion numérique"],
        "territories": [Territory("department", "21", 2024)],
        "started_on": today - timedelta(days=1000),  # before every date the steps draw
        "project_id": project_id,
    }
    meta = application.meta("tok_register", str(uuid.uuid4()))
    application.execute(RegisterProject(**arguments), meta)  # type: ignore[arg-type]
    return Run(application, Project.register(meta=meta, **arguments), today)


def without_timestamps(state: dict[str, Any]) -> dict[str, Any]:
    """The recorded times come from the clock at each save: the in-memory twin has its own."""
    return {key: value for key, value in state.items() if key not in TIMESTAMPS}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
def test_random_valid_commands_load_back_equal_and_snapshots_equal_replay(
    application: TrackerApplication, steps: list[tuple[str, int, int]]
) -> None:
    run = start(application, registered_lab(application))
    for name, a, b in steps:
        (reopen if run.model.is_closed else ACTIONS[name])(run, a, b)

    loaded = application.get_project(run.project_id)
    assert loaded.version == run.model.version == len(run.commands) + 1
    assert without_timestamps(loaded.as_dict()) == without_timestamps(run.model.as_dict())

    assert loaded.as_dict() == full_replay(application, run.project_id).as_dict()
    assert application.snapshots is not None
    snapshot_versions = [s.originator_version for s in application.snapshots.get(run.project_id)]
    assert snapshot_versions == list(
        range(SNAPSHOT_INTERVAL, loaded.version + 1, SNAPSHOT_INTERVAL)
    )
