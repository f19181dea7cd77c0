"""The training timeline: the training programme's rows on both time axes (docs/time.md).

The training projection's tables of an action (`rm_trainings`, `rm_training_attendance`)
have bitemporal twins (`tracker.schema.read_models.TRAINING_BITEMPORAL`) shaped as the
portfolio's (projections/timeline.py): a twin row holds for every business date D in
[valid_from, valid_to) and every instant T in [recorded_from, recorded_to), and says what
the live training handlers (projections/training.py) write when they replay the action's
events dated on or before D and recorded by T. So `trainingProgramme(on:, asKnownAt:)` runs
the live roll-ups unchanged on a filtered slice of the twins (`queries.training_sliced`).

How the rows are kept. An action has a handful of events, so each new event recomputes the
action's whole business timeline as known from its recorded instant r on (one in-memory
replay per distinct event date), rows of equal values on consecutive dates being one row
(maximal runs: the rows are the same whatever the batches, so a rebuild reproduces them).
The rows of the current knowledge that no longer hold are closed (`recorded_to = r`), the
new ones opened (`recorded_from = r`); a row opened and closed at the same instant (two
events stamped alike) was never visible on its own and is dropped.

Business dates: an event counts from its `occurred_on`, but never before the action was
scheduled (an event dated earlier counts from the scheduling's date): an action does not
exist, nor is it held or cancelled, on a date before it was scheduled.

Recorded instants are the events' own `timestamp`s. The action's earlier events are read
from the event store (one read per action and batch). Kept apart from the portfolio's
timeline so that each can lag, fail or be rebuilt alone (`tracker projections rebuild
training_timeline`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, cast
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from sqlalchemy import Connection

from domain.training import TrainingAction
from projections.base import ReadModelProjection
from projections.rows import BatchRows, Row
from projections.timeline import END_DATE, END_OF_TIME, changes_of_knowledge, supersede
from projections.training import TrainingProjection
from projections.view import ReadModelView
from tracker.application.services import Services
from tracker.schema.event_store import APPLICATION_NAME
from tracker.schema.read_models import (
    TRAINING_BITEMPORAL,
    TRAINING_TIMELINE_TABLES,
    training_attendance,
    trainings,
)

ACTION_TABLES = (trainings, training_attendance)
TrainingEvent = TrainingAction.Event | TrainingAction.TrainingScheduled
Snapshot = dict[sa.Table, list[Row]]


class _MemoryView:
    """What the training handlers need of a view: one action's rows, in memory only."""

    def __init__(self, training_id: str) -> None:
        # Every partition is declared fresh: the rows never touch a connection.
        self.rows = BatchRows(cast(Connection, None), {t: t for t in ACTION_TABLES})
        for table in ACTION_TABLES:
            self.rows.fresh(table, training_id)

    def insert_tracking(self, tracking: Tracking) -> None:
        """Nothing to track: the replay is thrown away once read."""


def business_date(event: TrainingEvent, scheduled_on: date) -> date:
    """The first business date an event counts on: its own, never before the scheduling."""
    return max(event.occurred_on, scheduled_on)


def snapshot(
    training_id: str, events: Sequence[TrainingEvent], day: date, position: int
) -> Snapshot:
    """The training projection's rows of one action from its events counting on `day`."""
    view = _MemoryView(training_id)
    projection = TrainingProjection(cast(ReadModelView, view))
    tracking = Tracking(APPLICATION_NAME, position)
    scheduled_on = events[0].occurred_on
    for event in events:
        if business_date(event, scheduled_on) <= day:
            projection.process_event(event, tracking)
    return {
        table: [
            dict(row) for row in view.rows.tables[table].partitions.get(training_id, {}).values()
        ]
        for table in ACTION_TABLES
    }


def business_timeline(
    training_id: str, events: Sequence[TrainingEvent], position: int
) -> dict[sa.Table, list[Row]]:
    """Each table's rows of the action, with their business validity, from all its events."""
    scheduled_on = events[0].occurred_on
    days = sorted({business_date(e, scheduled_on) for e in events})
    timeline: dict[sa.Table, list[Row]] = {table: [] for table in ACTION_TABLES}
    runs: dict[sa.Table, dict[tuple[Any, ...], Row]] = {table: {} for table in ACTION_TABLES}
    for index, day in enumerate(days):
        end = days[index + 1] if index + 1 < len(days) else END_DATE
        rows = snapshot(training_id, events, day, position)
        for table in ACTION_TABLES:
            keys = [c.name for c in table.primary_key.columns]
            open_runs = runs[table]
            seen: dict[tuple[Any, ...], Row] = {}
            for values in rows[table]:
                key = tuple(values[k] for k in keys)
                run = open_runs.get(key)
                if run is not None and all(run[name] == value for name, value in values.items()):
                    run["valid_to"] = end
                    seen[key] = run
                    continue
                new = dict(values, valid_from=day, valid_to=end)
                timeline[table].append(new)
                seen[key] = new
            runs[table] = seen
    return timeline


class TrainingTimelineProjection(ReadModelProjection):
    """The training actions' rows with their business validity and recorded knowledge."""

    name = "training_timeline"
    description = "the training programme's rows on both time axes (on a date, as known at)"
    tables = TRAINING_TIMELINE_TABLES

    def __init__(self, view: ReadModelView) -> None:
        super().__init__(view)
        self.services: Services | None = None
        # Each action's events up to the last one applied, for the current batch.
        self.histories: dict[str, list[TrainingEvent]] = {}

    def attach(self, services: Services) -> None:
        self.services = services

    def prefetch(self, events: Sequence[Any]) -> None:
        """Read the earlier events of the actions this batch changes, and their rows."""
        self.histories = {}
        first_versions: dict[str, int] = {}
        for event in events:
            if isinstance(event, TrainingAction.TrainingScheduled | TrainingAction.Event):
                first_versions.setdefault(str(event.originator_id), event.originator_version)
        if not first_versions:
            return
        if self.services is None:
            msg = "the training timeline reads earlier events: attach it to the services"
            raise RuntimeError(msg)
        store = self.services.application.repository.event_store
        for training_id, version in first_versions.items():
            earlier = store.get(UUID(training_id), lte=version - 1) if version > 1 else []
            self.histories[training_id] = list(earlier)  # type: ignore[arg-type]
        for twin in TRAINING_TIMELINE_TABLES:
            self.rows.prefetch(twin, first_versions)

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events of other aggregates still move the position."""
        self.view.insert_tracking(tracking)

    @process_event.register(TrainingAction.TrainingScheduled)
    def training_scheduled(
        self, event: TrainingAction.TrainingScheduled, tracking: Tracking
    ) -> None:
        self._apply(event, tracking.notification_id)
        self.view.insert_tracking(tracking)

    @process_event.register(TrainingAction.Event)
    def training_changed(self, event: TrainingAction.Event, tracking: Tracking) -> None:
        self._apply(event, None)
        self.view.insert_tracking(tracking)

    def _apply(self, event: TrainingEvent, scheduled_position: int | None) -> None:
        training_id = str(event.originator_id)
        history = self.histories.setdefault(training_id, [])
        history.append(event)
        if not isinstance(history[0], TrainingAction.TrainingScheduled):
            return  # an action's events without its scheduling: nothing to show
        stored = {twin: self.rows.partition(twin, training_id) for twin in TRAINING_TIMELINE_TABLES}
        if scheduled_position is None:
            scheduled_position = next(
                (int(row["scheduled_position"]) for row in stored[TRAINING_BITEMPORAL[trainings]]),
                0,
            )
        recorded = event.timestamp
        desired = business_timeline(training_id, history, scheduled_position)
        for table, twin in TRAINING_BITEMPORAL.items():
            current = [row for row in stored[twin] if row["recorded_to"] == END_OF_TIME]
            superseded, opened = changes_of_knowledge(table, current, desired[table])
            if superseded or opened:
                supersede(self.rows, twin, training_id, superseded, opened, recorded)
