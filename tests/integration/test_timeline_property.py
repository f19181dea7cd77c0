"""Property: every temporal answer equals a from-scratch replay of the events it covers.

Hypothesis draws command sequences over two projects with random business dates (late
and backdated ones included; the domain refuses some, which are skipped as the API would
answer 409). They go through the application (recorded now, by the store), the timeline
projection catches up, and for random pairs (D, T) — D among the dates around the
events', T among the instants between two commands, or now — the timeline's slice
(`projections.queries.sliced`) must hold exactly the rows that the live portfolio
handlers write when they replay, into an empty in-memory database, the events dated on
or before D and recorded by T; and the portfolio's roll-ups over both must be equal.
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
from projections.runner import ProjectionWorker, rebuild_all
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
from tracker.schema.read_models import projection_tracking, projects

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
        query = queries.ProjectQuery(lab=scenario.lab)
        asked = on or START
        assert queries.portfolio(engine, query, asked, 30, tables) == queries.portfolio(
            oracle, query, asked, 30
        )
    # A rebuild of both, in batches of a few events (so that projects span batches), feeds
    # the timeline with the portfolio's rows: it must write what the live timeline did.
    batch_size = data.draw(st.integers(1, 7))
    for result in rebuild_all(
        services, (PortfolioProjection, TimelineProjection), check=True, batch_size=batch_size
    ):
        assert result.differences == [], (result.name, batch_size)
