"""Property: every training answer on both time axes equals a replay of the events it covers.

Hypothesis draws commands on two training actions of a fresh lab with random business dates
(some before the scheduling; the domain refuses some, skipped as the API would answer 409).
They go through the application, the training timeline catches up, and for random pairs
(D, T) the slice `projections.queries.training_sliced(D, T)` must hold exactly the rows the
live training handlers write when they replay, into an empty in-memory database, the events
recorded by T that count on D (dated on or before it; an event dated before its action's
scheduling counts from the scheduling: docs/time.md), and `training_programme` over both
must be equal. `training_changes` between two random dates (SQL's comparison,
`projections.queries.training_changes`, of one lab and of all) must equal the comparison,
action by action in Python, of the replays on those two dates.
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
from domain.values import ActivityMode, Audience, Territory, TrainingFormat
from projections import queries
from projections.reading import read_engine
from projections.runner import ProjectionWorker
from projections.training import TrainingProjection
from projections.training_timeline import TrainingTimelineProjection
from projections.view import ReadModelView
from tests.factories import registered_lab
from tracker.application.commands import (
    CancelTraining,
    Command,
    HoldTraining,
    RescheduleTraining,
    ReviseTraining,
    ScheduleTraining,
)
from tracker.application.service import TrackerApplication
from tracker.application.services import Services
from tracker.schema.event_store import APPLICATION_NAME
from tracker.schema.read_models import projection_tracking, training_attendance, trainings

START = date(2024, 3, 1)
DIJON = Territory("commune", "21231", 2020)
TABLES = (trainings, training_attendance)
offset = st.integers(min_value=-10, max_value=60)
steps = st.tuples(
    st.integers(min_value=0, max_value=1),  # which action
    offset,  # the business date, days after START
    st.one_of(
        st.tuples(st.just("revise"), st.integers(1, 60)),
        st.tuples(st.just("reschedule"), st.integers(0, 40)),
        st.tuples(
            st.just("hold"),
            st.integers(0, 40),
            st.dictionaries(st.sampled_from(list(Audience)), st.integers(0, 10), max_size=2),
        ),
        st.tuples(st.just("cancel")),
    ),
)


def day(n: int) -> date:
    return START + timedelta(days=n)


class Scenario:
    """Two actions of a fresh lab, scheduled on START, and the instants between commands."""

    def __init__(self, application: TrackerApplication) -> None:
        self.application = application
        self.lab = registered_lab(application)
        self.ids = [uuid.uuid4(), uuid.uuid4()]
        self.instants: list[datetime] = []
        for index, training_id in enumerate(self.ids):
            self.send(
                ScheduleTraining(
                    lab=self.lab,
                    title="Atelier",
                    format=TrainingFormat.WORKSHOP,
                    session_dates=[day(5 + index)],
                    mode=ActivityMode.REMOTE if index else ActivityMode.IN_PERSON,
                    place=None if index else DIJON,
                    capacity=30,
                    training_id=str(training_id),
                ),
                START,
            )

    def send(self, command: Command, on: date) -> None:
        try:
            self.application.execute(command, self.application.meta("t", "c", on))
        except DomainError:
            return
        self.instants.append(datetime.now(UTC))

    def step(self, index: int, on_offset: int, command: tuple[Any, ...]) -> None:
        tid, name, args = self.ids[index], command[0], command[1:]
        built: Command
        if name == "revise":
            built = ReviseTraining(training_id=tid, capacity=args[0])
        elif name == "reschedule":
            built = RescheduleTraining(
                training_id=tid, session_dates=[day(args[0])], reason="report"
            )
        elif name == "hold":
            built = HoldTraining(
                training_id=tid,
                attendance=args[0] + sum(args[1].values()),
                attendance_by_audience={a.value: n for a, n in args[1].items()},
                reason="salle comble",
            )
        else:
            built = CancelTraining(training_id=tid, reason="annulé")
        self.send(built, day(on_offset))


def replayed(
    services: Services, ids: list[uuid.UUID], on: date | None, known_at: datetime | None
) -> sa.Engine:
    """A fresh in-memory database holding what the training handlers write from the events
    recorded by `known_at` that count on `on`: the oracle."""
    engine = sa.create_engine("sqlite://", poolclass=StaticPool)
    with engine.begin() as connection:
        for table in (*TABLES, projection_tracking):
            table.create(connection)
    view = ReadModelView(engine, "oracle", {t: t for t in TABLES})
    projection = TrainingProjection(view)
    store = services.application.repository.event_store
    with read_engine(services).connect() as connection:
        positions = dict(
            connection.execute(
                sa.select(trainings.c.id, trainings.c.scheduled_position).where(
                    trainings.c.id.in_([str(i) for i in ids])
                )
            ).all()
        )
    with engine.begin() as connection, view.bind(connection):
        for training_id in ids:
            events = list(store.get(training_id))
            scheduled_on = events[0].occurred_on
            for event in events:
                counts_from = max(event.occurred_on, scheduled_on)
                if (on is None or counts_from <= on) and (
                    known_at is None or event.timestamp <= known_at
                ):
                    tracking = Tracking(APPLICATION_NAME, positions[str(training_id)])
                    projection.process_event(event, tracking)
    return engine


def table_rows(bind: sa.Engine, table: sa.FromClause, ids: list[uuid.UUID]) -> list[str]:
    column = table.c.id if "id" in table.c else table.c.training_id
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


def compared(
    old: sa.Engine, new: sa.Engine, lab: str | None, start: date, end: date
) -> list[queries.TrainingChange]:
    """The oracle of `training_changes`: the replays on `start` and on `end` read whole
    and compared action by action in Python."""

    def rows(engine: sa.Engine) -> dict[str, Any]:
        with engine.connect() as connection:
            found = connection.execute(
                sa.select(trainings).where(*([trainings.c.lab == lab] if lab else []))
            ).all()
        return {r.id: r for r in found}

    was, now = rows(old), rows(new)
    changes = []
    for training_id, b in sorted(now.items(), key=lambda item: item[1].scheduled_position):
        a = was.get(training_id)
        before = a.status if a is not None else None
        held = b.status == "held" and before != "held"
        change = queries.TrainingChange(
            training_id=training_id,
            title=b.title,
            lab=b.lab,
            status_before=before,
            status_after=b.status,
            scheduled=a is None,
            held=held,
            cancelled=b.status == "cancelled" and before != "cancelled",
            rescheduled=a is not None and a.sessions != b.sessions,
            first_session_before=a.first_session_on if a is not None else None,
            first_session_after=b.first_session_on,
            agents_trained=int(b.attendance or 0) if held else 0,
        )
        if change.scheduled or change.held or change.cancelled or change.rescheduled:
            changes.append(change)
    return changes


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=st.lists(steps, max_size=10), data=st.data())
def test_every_training_answer_on_both_axes_equals_a_replay_of_the_events_it_covers(
    services: Services, sequence: list[tuple[int, int, tuple[Any, ...]]], data: st.DataObject
) -> None:
    scenario = Scenario(services.application)
    for index, on_offset, command in sequence:
        scenario.step(index, on_offset, command)
    for projection in (TrainingProjection, TrainingTimelineProjection):
        ProjectionWorker(services, projection).run_until_caught_up()
    dates = st.one_of(st.none(), st.integers(-12, 62).map(day))
    instants = st.one_of(st.none(), st.sampled_from(scenario.instants))
    engine = read_engine(services)
    query = queries.TrainingQuery(lab=scenario.lab)
    for _ in range(4):
        on, known_at = data.draw(dates), data.draw(instants)
        oracle = replayed(services, scenario.ids, on, known_at)
        tables = queries.training_sliced(on, known_at)
        for table in TABLES:
            assert table_rows(
                engine, getattr(tables, table.name.removeprefix("rm_")), scenario.ids
            ) == table_rows(oracle, table, scenario.ids), (table.name, on, known_at)
        assert queries.training_programme(engine, query, tables) == queries.training_programme(
            oracle, query
        )
    ids = {str(i) for i in scenario.ids}
    for _ in range(3):
        start, end = sorted(data.draw(st.integers(-12, 62).map(day)) for _ in range(2))
        old = replayed(services, scenario.ids, start, None)
        new = replayed(services, scenario.ids, end, None)
        assert queries.training_changes(engine, scenario.lab, start, end) == compared(
            old, new, scenario.lab, start, end
        ), (start, end)
        # Without a lab (every action of the store): the scenario's among them.
        everything = queries.training_changes(engine, None, start, end)
        assert [c for c in everything if c.training_id in ids] == compared(
            old, new, None, start, end
        ), (start, end)
