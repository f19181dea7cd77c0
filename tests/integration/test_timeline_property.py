"""Property: every temporal answer equals a from-scratch replay of the events it covers.

Hypothesis draws command sequences over two projects with random business dates (late
and backdated ones included; the domain refuses some, which are skipped as the API would
answer 409). They go through the application (recorded now, by the store), the timeline
projection catches up, and for random pairs (D, T) — D among the dates around the
events', T among the instants between two commands, or now — the timeline's slice
(`projections.queries.sliced`) must hold exactly the rows that the live portfolio
handlers write when they replay, into an empty in-memory database, the events dated on
or before D and recorded by T (and the slice of `rm_projects_counted_bt` their counted
columns); and the portfolio's roll-ups over both must be equal.
`portfolioChanges` between two random dates (SQL's comparison of two slices,
`projections.queries.portfolio_changes`, with a filter and without one) must equal the
comparison, project by project in Python, of the replays on those two dates.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from eventsourcing.persistence import Tracking
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.pool import StaticPool

from domain.errors import DomainError
from domain.values import ActivityKind, GateDecision, Health, Outcome, Phase
from projections import queries
from projections.portfolio import PROJECT_TABLES, PortfolioProjection
from projections.reading import read_engine
from projections.runner import ProjectionWorker
from projections.timeline import TimelineProjection
from projections.view import ReadModelView
from tests.factories import registered_lab
from tracker.application.commands import (
    AchieveMilestone,
    AddPartner,
    AssessHealth,
    CancelMilestone,
    CloseProject,
    Command,
    EnterPhase,
    LogActivity,
    PlanMilestone,
    RegisterProject,
    RemovePartner,
    ReopenProject,
    RescheduleMilestone,
    ReviseProject,
)
from tracker.application.service import TrackerApplication
from tracker.application.services import Services
from tracker.schema.event_store import APPLICATION_NAME
from tracker.schema.read_models import milestones, phase_periods, projection_tracking, projects

START = date(2026, 1, 1)
offset = st.integers(min_value=-5, max_value=120)
slot = st.integers(min_value=0, max_value=3)
steps = st.tuples(
    st.integers(min_value=0, max_value=1),  # which project
    offset,  # the business date, days after the start (before it: refused)
    st.one_of(
        st.tuples(st.just("go")),
        st.tuples(st.just("iterate"), st.sampled_from(list(Phase))),
        st.tuples(st.just("health"), st.sampled_from(list(Health))),
        st.tuples(st.just("plan"), offset),
        st.tuples(st.just("reschedule"), slot, offset),
        st.tuples(st.just("achieve"), slot, offset),
        st.tuples(st.just("cancel"), slot),
        st.tuples(st.just("join"), slot),
        st.tuples(st.just("leave"), slot),
        st.tuples(st.just("activity"), st.integers(0, 30), offset),
        st.tuples(st.just("close"), st.sampled_from(list(Outcome))),
        st.tuples(st.just("reopen")),
        st.tuples(st.just("revise"), st.sampled_from([[], ["santé"], ["culture", "santé"]])),
    ),
)


def day(n: int) -> date:
    return START + timedelta(days=n)


class Scenario:
    """Two projects of a fresh lab, their entity ids, and the instants between commands."""

    def __init__(self, application: TrackerApplication) -> None:
        self.application = application
        self.lab = registered_lab(application)
        self.ids = [uuid.uuid4(), uuid.uuid4()]
        self.entities: dict[tuple[int, str], list[str]] = {}
        self.instants: list[datetime] = []
        for project_id in self.ids:
            self.send(
                RegisterProject(
                    lab=self.lab,
                    title="Projet",
                    summary="",
                    themes=["santé"],
                    territories=[],
                    started_on=START,
                    project_id=project_id,
                ),
                START,
            )

    def send(self, command: Command, on: date) -> None:
        try:
            self.application.execute(command, self.application.meta("t", "c", on))
        except DomainError:
            return
        self.instants.append(datetime.now(UTC))

    def entity(self, index: int, kind: str, n: int) -> str | None:
        known = self.entities.get((index, kind), [])
        return known[n % len(known)] if known else None

    def step(self, index: int, on_offset: int, command: tuple[Any, ...]) -> None:
        pid, on = self.ids[index], day(on_offset)
        name, *args = command
        built: Command | None = None
        if name == "go":
            phase = self.application.get_project(pid).phase.next()
            if phase is not None:
                built = EnterPhase(project_id=pid, phase=phase, decision=GateDecision.GO)
        elif name == "iterate":
            built = EnterPhase(
                project_id=pid, phase=args[0], decision=GateDecision.ITERATE, reason="retour"
            )
        elif name == "health":
            built = AssessHealth(project_id=pid, health=args[0], reason="constat")
        elif name == "plan":
            milestone_id = str(uuid.uuid4())
            self.entities.setdefault((index, "milestone"), []).append(milestone_id)
            built = PlanMilestone(
                project_id=pid,
                title="Jalon",
                due_on=day(args[0]),
                phase=Phase.FRAMING,
                milestone_id=milestone_id,
            )
        elif name in ("reschedule", "achieve", "cancel"):
            milestone = self.entity(index, "milestone", args[0])
            if milestone is not None and name == "reschedule":
                built = RescheduleMilestone(
                    project_id=pid, milestone_id=milestone, due_on=day(args[1]), reason="retard"
                )
            elif milestone is not None and name == "achieve":
                built = AchieveMilestone(
                    project_id=pid, milestone_id=milestone, achieved_on=day(args[1])
                )
            elif milestone is not None:
                built = CancelMilestone(project_id=pid, milestone_id=milestone, reason="abandon")
        elif name == "join":
            partner_id = str(uuid.uuid4())
            self.entities.setdefault((index, "partner"), []).append(partner_id)
            built = AddPartner(
                project_id=pid, name=f"Partenaire {partner_id[:8]}", role="r", partner_id=partner_id
            )
        elif name == "leave":
            partner = self.entity(index, "partner", args[0])
            if partner is not None:
                built = RemovePartner(project_id=pid, partner_id=partner)
        elif name == "activity":
            built = LogActivity(
                project_id=pid,
                kind=ActivityKind.WORKSHOP,
                title="Atelier",
                held_on=day(args[1]),
                participants=args[0],
            )
        elif name == "close":
            built = CloseProject(project_id=pid, outcome=args[0], reason="fin")
        elif name == "revise":
            built = ReviseProject(project_id=pid, themes=args[0])
        else:
            built = ReopenProject(project_id=pid, reason="reprise")
        if built is not None:
            self.send(built, on)


def replayed(
    services: Services, ids: list[uuid.UUID], on: date | None, known_at: datetime | None
) -> sa.Engine:
    """A fresh in-memory database holding what the portfolio handlers write from the
    projects' events dated on or before `on`, recorded by `known_at`: the oracle."""
    engine = sa.create_engine("sqlite://", poolclass=StaticPool)
    with engine.begin() as connection:
        for table in (*PROJECT_TABLES, projection_tracking):
            table.create(connection)
    positions = registered_positions(services, ids)
    view = ReadModelView(engine, "oracle", {t: t for t in PROJECT_TABLES})
    projection = PortfolioProjection(view)
    store = services.application.repository.event_store
    with engine.begin() as connection, view.bind(connection):
        for project_id in ids:
            for event in store.get(project_id):
                if (on is None or event.occurred_on <= on) and (
                    known_at is None or event.timestamp <= known_at
                ):
                    tracking = Tracking(APPLICATION_NAME, positions[str(project_id)])
                    projection.process_event(event, tracking)
    return engine


def compared(
    old: sa.Engine, new: sa.Engine, query: queries.ProjectQuery | None, start: date, end: date
) -> queries.Changes:
    """The oracle of `portfolio_changes`: the replays on `start` and on `end` read whole and
    compared project by project in Python."""

    def rows(engine: sa.Engine, table: sa.Table) -> dict[Any, Any]:
        with engine.connect() as connection:
            found = connection.execute(sa.select(table)).all()
        if "milestone_id" in table.c:
            return {(r.project_id, r.milestone_id): r for r in found}
        if "seq" in table.c:
            return {(r.project_id, r.seq): r for r in found}
        return {r.id: r for r in found}

    ids: set[str] = set()
    for engine in (old, new):
        with engine.connect() as connection:
            ids |= {
                r[0]
                for r in connection.execute(
                    sa.select(projects.c.id).where(*queries.project_conditions(query))
                )
            }
    was, now = rows(old, projects), rows(new, projects)
    was_milestones, now_milestones = rows(old, milestones), rows(new, milestones)
    entered: dict[str, list[str]] = {}
    left: dict[str, list[str]] = {}
    for (project_id, _), r in sorted(rows(new, phase_periods).items()):
        if project_id in ids and start < r.entered_on <= end and r.decision != "start":
            entered.setdefault(project_id, []).append(r.phase)
        if project_id in ids and r.left_on is not None and start < r.left_on <= end:
            left.setdefault(project_id, []).append(r.phase)
    moves: dict[str, list[queries.MilestoneChange]] = {}
    for (project_id, milestone_id), m in sorted(now_milestones.items()):
        before = was_milestones.get((project_id, milestone_id))
        change, days = None, 0
        if m.status in ("achieved", "cancelled") and (before is None or before.status != m.status):
            change = m.status
        elif before is None:
            change = "planned"
        elif m.due_on != before.due_on:
            days = (m.due_on - before.due_on).days
            change = "slipped" if days > 0 else "brought_forward"
        if project_id in ids and change is not None:
            moves.setdefault(project_id, []).append(
                queries.MilestoneChange(milestone_id, m.title, change, days)
            )
    changes = []
    for project_id in sorted(ids, key=lambda i: (now.get(i) or was[i]).registered_position):
        a, b = was.get(project_id), now.get(project_id)
        row = b or a
        change = queries.ProjectChange(
            project_id=project_id,
            title=row.title,
            lab=row.lab,
            opened=a is None and b is not None,
            closed=b is not None and b.status == "closed" and (a is None or a.status != "closed"),
            reopened=a is not None
            and b is not None
            and a.status == "closed"
            and b.status != "closed",
            phase_before=a.phase if a else None,
            phase_after=b.phase if b else None,
            health_before=a.health if a else None,
            health_after=b.health if b else None,
            phases_entered=entered.get(project_id, []),
            phases_left=left.get(project_id, []),
            milestones=moves.get(project_id, []),
        )
        if (
            change.opened
            or change.closed
            or change.reopened
            or change.phase_before != change.phase_after
            or change.health_before != change.health_after
            or change.phases_entered
            or change.milestones
        ):
            changes.append(change)
    return queries.Changes(changes)


def registered_positions(services: Services, ids: list[uuid.UUID]) -> dict[str, int]:
    with read_engine(services).connect() as connection:
        return {
            row.id: row.registered_position
            for row in connection.execute(
                sa.select(projects.c.id, projects.c.registered_position).where(
                    projects.c.id.in_([str(i) for i in ids])
                )
            )
        }


def table_rows(bind: sa.Engine, table: sa.FromClause, ids: list[uuid.UUID]) -> list[str]:
    column = table.c.id if "id" in table.c else table.c.project_id
    with bind.connect() as connection:
        found = connection.execute(
            sa.select(table).where(column.in_([str(i) for i in ids]))
        ).mappings()
        return sorted(
            repr(
                {
                    k: (v.replace(tzinfo=v.tzinfo or UTC).astimezone(UTC))
                    if isinstance(v, datetime)
                    else v
                    for k, v in row.items()
                }
            )
            for row in found
        )


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=st.lists(steps, max_size=25), data=st.data())
def test_every_answer_on_both_axes_equals_a_replay_of_the_events_it_covers(
    services: Services, sequence: list[tuple[int, int, tuple[Any, ...]]], data: st.DataObject
) -> None:
    scenario = Scenario(services.application)
    for index, on_offset, command in sequence:
        scenario.step(index, on_offset, command)
    for projection in (PortfolioProjection, TimelineProjection):
        ProjectionWorker(services, projection).run_until_caught_up()
    dates = st.one_of(st.none(), st.integers(-2, 125).map(day))
    instants = st.one_of(st.none(), st.sampled_from(scenario.instants))
    engine = read_engine(services)
    for _ in range(4):
        on, known_at = data.draw(dates), data.draw(instants)
        oracle = replayed(services, scenario.ids, on, known_at)
        tables = queries.sliced(on, known_at)
        for table in PROJECT_TABLES:
            sliced = getattr(tables, table.name.removeprefix("rm_"))
            assert table_rows(engine, sliced, scenario.ids) == table_rows(
                oracle, table, scenario.ids
            ), (table.name, on, known_at)
        # The counted twin's slice: the projects' counted columns of the full slice.
        counted = tables.counted_projects
        assert counted is not None
        assert table_rows(engine, counted, scenario.ids) == table_rows(
            oracle,
            sa.select(*(projects.c[c.name] for c in counted.c)).subquery(),
            scenario.ids,
        ), (on, known_at)
        query = queries.ProjectQuery(lab=scenario.lab)
        asked = on or START
        assert queries.portfolio(engine, query, asked, 30, tables) == queries.portfolio(
            oracle, query, asked, 30
        )
    for _ in range(3):
        start, end = sorted(data.draw(st.integers(-2, 125).map(day)) for _ in range(2))
        query = data.draw(
            st.sampled_from(
                [
                    queries.ProjectQuery(lab=scenario.lab),
                    queries.ProjectQuery(lab=scenario.lab, phase=Phase.PROTOTYPING.value),
                    queries.ProjectQuery(lab=scenario.lab, health=Health.AT_RISK.value),
                    queries.ProjectQuery(lab=scenario.lab, status="closed"),
                ]
            )
        )
        old = replayed(services, scenario.ids, start, None)
        new = replayed(services, scenario.ids, end, None)
        expected = compared(old, new, query, start, end)
        assert queries.portfolio_changes(engine, query, start, end) == expected, (
            query,
            start,
            end,
        )
        # Without a filter (every project of the store): the scenario's among them.
        ids = {str(i) for i in scenario.ids}
        unfiltered = queries.portfolio_changes(engine, None, start, end).projects
        assert [p for p in unfiltered if p.project_id in ids] == compared(
            old, new, None, start, end
        ).projects, (start, end)
