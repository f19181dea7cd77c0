"""Property: random command sequences, once projected, give the figures the aggregate gives.

Hypothesis draws a sequence of commands (valid or not: the domain refuses some, which
are then skipped, as the API would answer 409); the project is saved through the
application, the projections catch up, and every figure the portfolio projection keeps
is compared with the same figure recomputed from the aggregate loaded from the store.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.project import Project
from domain.values import ActivityKind, GateDecision, Health, MilestoneStatus, Outcome, Phase
from projections.reading import read_engine
from projections.runner import PROJECTIONS, ProjectionWorker
from tests.factories import meta, new_project, registered_lab
from tracker.application.services import Services
from tracker.schema.read_models import (
    activities,
    funding,
    indicators,
    milestones,
    phase_periods,
    projects,
)

BASE = date(2026, 1, 1)
TODAY = date(2026, 6, 15)

index = st.integers(min_value=0, max_value=5)
day = st.integers(min_value=0, max_value=150).map(lambda n: BASE + timedelta(days=n))
commands = st.one_of(
    st.tuples(st.just("go")),
    st.tuples(st.just("iterate"), st.sampled_from(list(Phase))),
    st.tuples(st.just("health"), st.sampled_from(list(Health))),
    st.tuples(st.just("plan"), day),
    st.tuples(st.just("reschedule"), index, day),
    st.tuples(st.just("achieve"), index, day),
    st.tuples(st.just("cancel"), index),
    st.tuples(st.just("join"), index),
    st.tuples(st.just("leave"), index),
    st.tuples(st.just("define"), st.integers(0, 100)),
    st.tuples(st.just("measure"), index, st.integers(0, 1000), day),
    st.tuples(st.just("activity"), st.sampled_from(list(ActivityKind)), st.integers(0, 50), day),
    st.tuples(
        st.just("decide"),
    ),
    st.tuples(
        st.just("fund"),
        st.sampled_from(["Région", "État", "Europe"]),
        st.integers(0, 10**9),
        st.integers(2024, 2027),
    ),
    st.tuples(st.just("close"), st.sampled_from(list(Outcome))),
    st.tuples(
        st.just("reopen"),
    ),
)


def pick(items: list[str], i: int) -> str | None:
    return items[i % len(items)] if items else None


def apply(project: Project, command: tuple[Any, ...]) -> None:
    """Issue one command; the domain may refuse it (then nothing is recorded)."""
    name, *args = command
    m = meta(today=TODAY)
    ms, partners, inds = list(project.milestones), list(project.partners), list(project.indicators)
    try:
        if name == "go" and project.phase.next() is not None:
            project.enter_phase(project.phase.next(), GateDecision.GO, m)  # type: ignore[arg-type]
        elif name == "iterate":
            project.enter_phase(args[0], GateDecision.ITERATE, m, "on revient")
        elif name == "health":
            project.assess_health(args[0], m)
        elif name == "plan":
            project.plan_milestone("Jalon", args[0], Phase.FRAMING, m)
        elif name in {"reschedule", "achieve", "cancel"} and (target := pick(ms, args[0])):
            if name == "reschedule":
                project.reschedule_milestone(target, args[1], m, "report")
            elif name == "achieve":
                project.achieve_milestone(target, min(args[1], TODAY), "preuve", m)
            else:
                project.cancel_milestone(target, m, "abandon")
        elif name == "join":
            project.add_partner(f"Partenaire {args[0]}", "appui", m)
        elif name == "leave" and (target := pick(partners, args[0])):
            project.remove_partner(target, m)
        elif name == "define":
            project.define_indicator("Usagers", "personnes", 0, args[0], m)
        elif name == "measure" and (target := pick(inds, args[0])):
            project.measure_indicator(target, args[1], args[2], m)
        elif name == "activity":
            project.log_activity(args[0], "Séance", args[2], args[1], m)
        elif name == "decide":
            project.record_decision("Choix", "Oui", "Parce que", m)
        elif name == "fund":
            project.commit_funding(args[0], args[1], args[2], m)
        elif name == "close":
            project.close(args[0], m, "fin")
        elif name == "reopen":
            project.reopen(m, "reprise")
    except DomainError:
        pass


def rows(services: Services, table: sa.Table, project_id: str) -> list[dict[str, Any]]:
    with read_engine(services).connect() as connection:
        result = connection.execute(sa.select(table).where(table.c.project_id == project_id))
        return [dict(r) for r in result.mappings()]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=st.lists(commands, max_size=40))
def test_projected_figures_equal_the_aggregates(
    services: Services, sequence: list[tuple[Any, ...]]
) -> None:
    application = services.application
    project = new_project(lab=registered_lab(application), meta=meta(today=TODAY))
    for command in sequence:
        apply(project, command)
    application.save(project)
    for projection in PROJECTIONS:
        ProjectionWorker(services, projection).run_until_caught_up()

    state = application.get_project(project.id)
    pid = str(state.id)
    with read_engine(services).connect() as connection:
        row = connection.execute(sa.select(projects).where(projects.c.id == pid)).mappings().one()
    statuses = [m.status for m in state.milestones.values()]
    next_milestone = state.next_milestone()
    assert (row["phase"], row["health"], row["status"], row["outcome"], row["closed_on"]) == (
        state.phase.value,
        state.health.value,
        state.status.value,
        state.outcome.value if state.outcome else None,
        state.closed_on,
    )
    assert row["version"] == state.version
    assert (
        row["milestones_planned"],
        row["milestones_open"],
        row["milestones_achieved"],
        row["milestones_cancelled"],
    ) == (
        len(statuses),
        statuses.count(MilestoneStatus.PLANNED),
        statuses.count(MilestoneStatus.ACHIEVED),
        statuses.count(MilestoneStatus.CANCELLED),
    )
    assert row["next_milestone_id"] == (next_milestone.milestone_id if next_milestone else None)
    assert row["activities"] == len(state.activities)
    assert row["participants"] == sum(a.participants for a in state.activities)
    assert row["last_activity_on"] == max((a.held_on for a in state.activities), default=None)
    assert row["partners"] == len(state.partners)
    assert row["decisions"] == len(state.decisions)
    assert row["funding_cents"] == sum(f.amount_cents for f in state.funding)

    projected = {r["milestone_id"]: r for r in rows(services, milestones, pid)}
    assert {
        k: (r["due_on"], r["status"], r["achieved_on"], r["reschedules"], r["days_slipped"])
        for k, r in projected.items()
    } == {
        m.milestone_id: (m.due_on, m.status, m.achieved_on, m.reschedules, m.days_slipped)
        for m in state.milestones.values()
    }
    assert {
        r["indicator_id"]: (r["value"], r["measured_on"]) for r in rows(services, indicators, pid)
    } == {i.indicator_id: (i.value, i.measured_on) for i in state.indicators.values()}
    by_source: dict[tuple[str, int], int] = {}
    for f in state.funding:
        by_source[f.source, f.fiscal_year] = (
            by_source.get((f.source, f.fiscal_year), 0) + f.amount_cents
        )
    assert {
        (r["source"], r["fiscal_year"]): r["amount_cents"] for r in rows(services, funding, pid)
    } == by_source
    assert len(rows(services, activities, pid)) == len(state.activities)
    open_periods = [p for p in rows(services, phase_periods, pid) if p["left_on"] is None]
    if state.is_closed:
        assert open_periods == []
    else:
        assert [p["phase"] for p in open_periods] == [state.phase.value]
