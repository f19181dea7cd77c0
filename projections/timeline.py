"""The timeline projection: the portfolio's project rows on both time axes (docs/time.md).

For each project table of the portfolio projection, a bitemporal twin
(`tracker.schema.read_models.BITEMPORAL`) holds rows with `valid_from`/`valid_to` (business
dates, end excluded) and `recorded_from`/`recorded_to` (recorded instants, end excluded).
A twin row says: "for every business date D in [valid_from, valid_to), as known at every
instant T in [recorded_from, recorded_to), the portfolio projection, replaying this
project's events dated on or before D and recorded by T, writes this row". So a question
about (D, T) is a filter on four indexed columns, whatever the length of the log, and a
cold question costs what a warm one does (no replay, no cache).

How the rows are kept. One code path for the logic: the rows of a business date are the
ones the live portfolio handlers (projections/portfolio.py) write, run in memory over one
project's events dated on or before it. When a project's event dated d is recorded at r:

- its business timeline as known from r on changes on dates ≥ d only: the rows of each
  distinct event date ≥ d are recomputed (one in-memory replay per date; usually one, as
  most events are dated on or after the project's others);
- when d is on or after every earlier event's date (the usual case), only the rows whose
  key the event inserted, changed or removed are recomputed: the others' runs go on
  unchanged (a key's runs depend on its own values only). The replay's rows remember the
  keys each event touches, and the project's rows of the current knowledge are indexed by
  key once per batch, so an event costs what it touches, not the project's history;
- during a rebuild of the portfolio and the timeline together (`rebuild_all`), the
  portfolio's worker hands over what its handlers did to each event's rows (the same
  handlers over the same events in the same order: `projections.rows.RowFeed`), so an
  event in business order is not replayed a second time; a late-logged one, or one the
  feed lacks, takes the in-memory replay;
- rows of equal values on consecutive dates are one row (maximal runs, so the rows are
  the same whatever the batches: a rebuild reproduces them exactly);
- a row that held as known until r and no longer does is closed (`recorded_to = r`), a
  new one is opened (`recorded_from = r`). A row opened and closed at the same instant
  (two events stamped alike) was never visible on its own and is dropped.

Recorded times are the events' own `timestamp`s, as the store holds them: never a clock.
The project's earlier events are read from the event store (one read per project and
batch): the projector applies the log in order, so they are all there.

Labs have no timeline (they are registered once and never change): temporal questions
read the live `rm_labs`.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any, cast
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from sqlalchemy import Connection

from domain.project import Project
from projections.base import ReadModelProjection
from projections.portfolio import PROJECT_TABLES, PortfolioProjection
from projections.rows import BatchRows, Key, Row, Touched
from projections.view import ReadModelView
from tracker.application.services import Services
from tracker.schema.event_store import APPLICATION_NAME
from tracker.schema.read_models import (
    BITEMPORAL,
    COUNTED_PROJECT_COLUMNS,
    TIMELINE_TABLES,
    projects,
    projects_counted_bt,
)

# The open ends of a row's validity and knowledge.
END_DATE = date(9999, 12, 31)
END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)

Snapshot = dict[sa.Table, dict[tuple[Any, ...], Row]]
# Projects whose replay the live timeline keeps between batches (`TimelineProjection.kept`).
KEPT_REPLAYS = 2_000
ProjectEvent = Project.Event | Project.ProjectRegistered


_live_keys: dict[sa.Table, Callable[[Row], Key]] = {}


def _live_key(twin: sa.Table) -> Callable[[Row], Key]:
    """A twin row's key in its live table (the twin's primary key without its times)."""
    getter = _live_keys.get(twin)
    if getter is None:
        live = next(table for table, t in BITEMPORAL.items() if t is twin)
        names = tuple(c.name for c in live.primary_key.columns)
        item = operator.itemgetter(*names)
        getter = _live_keys[twin] = item if len(names) > 1 else (lambda row: (item(row),))
    return getter


class _MemoryView:
    """What the portfolio handlers need of a view: one project's rows, in memory only."""

    def __init__(self, project_id: str) -> None:
        # Every partition is declared fresh: the rows never touch a connection.
        self.rows = BatchRows(
            cast(Connection, None), {t: t for t in PROJECT_TABLES}, recording=True
        )
        for table in PROJECT_TABLES:
            self.rows.fresh(table, project_id)

    def insert_tracking(self, tracking: Tracking) -> None:
        """Nothing to track: the replay is thrown away once read."""


class Replay:
    """The portfolio handlers run in memory over one project's events."""

    def __init__(self, project_id: str, registered_position: int) -> None:
        self.project_id = project_id
        self.view = _MemoryView(project_id)
        self.projection = PortfolioProjection(cast(ReadModelView, self.view))
        self.tracking = Tracking(APPLICATION_NAME, registered_position)
        # Bound once: the library's dispatcher builds a bound method on each access.
        self.process_event = self.projection.process_event

    def apply(self, event: ProjectEvent) -> Touched:
        """Apply `event`; what it touched (the rows are the replay's own: read them only,
        before the next event)."""
        self.process_event(event, self.tracking)
        return self.view.rows.take_touched(copy=False)

    def rows(self) -> Snapshot:
        """A copy of the project's rows now."""
        return {
            table: {
                key: dict(row)
                for key, row in self.view.rows.tables[table]
                .partitions.get(self.project_id, {})
                .items()
            }
            for table in PROJECT_TABLES
        }


def snapshot(
    project_id: str, events: Sequence[ProjectEvent], day: date, registered_position: int
) -> Snapshot:
    """The portfolio's rows of one project from its events dated on or before `day`."""
    replay = Replay(project_id, registered_position)
    for event in events:
        if event.occurred_on <= day:
            replay.apply(event)
    return replay.rows()


_getters: dict[sa.Table, tuple[Callable[[Row], Any], Callable[[Row], Key]]] = {}


def _getters_of(table: sa.Table) -> tuple[Callable[[Row], Any], Callable[[Row], Key]]:
    """A live table's row values (every column, in order) and its identity in a twin's
    current knowledge (primary key and validity start)."""
    found = _getters.get(table)
    if found is None:
        keys = [c.name for c in table.primary_key.columns]
        found = _getters[table] = (
            operator.itemgetter(*(c.name for c in table.columns)),
            operator.itemgetter(*keys, "valid_from"),
        )
    return found


def _values(table: sa.Table, row: Row) -> Any:
    """A row's values, in the order of the table's columns (compared with ==: JSON values
    are lists, equal when their items are)."""
    return _getters_of(table)[0](row)


def changes_of_knowledge(
    table: sa.Table, current: Iterable[Row], desired: Iterable[Row]
) -> tuple[list[Row], list[Row]]:
    """The rows of the current knowledge that no longer hold (`superseded`), and the
    desired rows not held yet (`opened`): a row holds while its values and its validity do.
    Rows of one key in one knowledge have disjoint validities: (key, valid_from) names one."""
    values, identity = _getters_of(table)
    before = {identity(row): row for row in current}
    after = {identity(row): row for row in desired}

    def same(a: Row, b: Row | None) -> bool:
        return b is not None and a["valid_to"] == b["valid_to"] and values(a) == values(b)

    superseded = [row for name, row in before.items() if not same(row, after.get(name))]
    opened = [row for name, row in after.items() if not same(row, before.get(name))]
    return superseded, opened


def supersede(
    rows: BatchRows,
    twin: sa.Table,
    partition: str,
    superseded: Sequence[Row],
    opened: Iterable[Row],
    recorded: datetime,
) -> list[Row] | None:
    """Close the `superseded` rows of a twin's partition and open the `opened` ones, as
    known from `recorded` on; the rows opened, or None when the partition was rewritten.

    A superseded row opened at `recorded` itself (two events stamped alike) was never
    visible on its own: it is dropped rather than closed, so the partition is rewritten.
    """
    if any(row["recorded_from"] == recorded for row in superseded):
        dropped = {id(row) for row in superseded}
        written = [dict(row) for row in rows.partition(twin, partition) if id(row) not in dropped]
        written += [
            dict(row, recorded_to=recorded)
            for row in superseded
            if row["recorded_from"] != recorded
        ]
        written += [dict(row, recorded_from=recorded, recorded_to=END_OF_TIME) for row in opened]
        rows.replace_partition(twin, partition, written)
        return None
    for row in superseded:
        rows.update(twin, row, recorded_to=recorded)
    return [
        rows.insert(twin, **dict(row, recorded_from=recorded, recorded_to=END_OF_TIME))
        for row in opened
    ]


def business_timeline(
    table: sa.Table,
    current: Sequence[Row],
    snapshots: Sequence[tuple[date, Snapshot]],
) -> list[Row]:
    """The rows of `table` valid as known now, given those known before (`current`) and
    the snapshots of each event date from the changed one on (the first is the changed
    date, which every snapshot date follows)."""
    changed_on = snapshots[0][0]
    desired: list[Row] = []
    # Rows ending on the changed date (or cut there), which a row from it may continue.
    continued: dict[tuple[Any, ...], Row] = {}
    keys = [c.name for c in table.primary_key.columns]
    for row in current:
        if row["valid_to"] <= changed_on:
            kept = dict(row)
        elif row["valid_from"] < changed_on:
            kept = dict(row, valid_to=changed_on)
        else:
            continue
        desired.append(kept)
        if kept["valid_to"] == changed_on:
            continued[tuple(kept[k] for k in keys)] = kept
    runs: dict[tuple[Any, ...], Row] = {}
    for index, (day, rows) in enumerate(snapshots):
        end = snapshots[index + 1][0] if index + 1 < len(snapshots) else END_DATE
        for key, values in rows[table].items():
            run = runs.get(key) or (continued.get(key) if index == 0 else None)
            if run is not None and _values(table, run) == _values(table, values):
                run["valid_to"] = end
                runs[key] = run
                continue
            new = dict(values, valid_from=day, valid_to=end)
            desired.append(new)
            runs[key] = new
        for key in [k for k in runs if k not in rows[table]]:
            del runs[key]
    return desired


_counted = operator.itemgetter(*COUNTED_PROJECT_COLUMNS)
_valid_from = operator.itemgetter("valid_from")


def counted_runs(rows: Iterable[Row], start: date) -> list[Row]:
    """The maximal runs of the counted columns (`rm_projects_counted_bt`'s rows without
    their knowledge) of a project's `rm_projects_bt` rows of one knowledge (disjoint
    validities), on the business dates from `start` on."""
    runs: list[Row] = []
    for row in sorted((r for r in rows if r["valid_to"] > start), key=_valid_from):
        begins = max(row["valid_from"], start)
        last = runs[-1] if runs else None
        if last is not None and last["valid_to"] == begins and _counted(last) == _counted(row):
            last["valid_to"] = row["valid_to"]
            continue
        run = {"id": row["id"], "valid_from": begins, "valid_to": row["valid_to"]}
        run.update(zip(COUNTED_PROJECT_COLUMNS, _counted(row), strict=True))
        runs.append(run)
    return runs


def _run(row: Row) -> tuple[Any, ...]:
    """A counted row's run: its validity and values (what stays open while it holds)."""
    return (row["valid_from"], row["valid_to"], _counted(row))


class TimelineProjection(ReadModelProjection):
    """The portfolio's project rows with their business validity and recorded knowledge."""

    name = "timeline"
    description = "the portfolio's rows on both time axes (on a date, as known at an instant)"
    tables = TIMELINE_TABLES
    fed_by = PortfolioProjection

    def __init__(self, view: ReadModelView) -> None:
        super().__init__(view)
        self.services: Services | None = None
        # Between batches, the last projects' replays: project id → (the version it has
        # applied, the replay, the latest business date among those events). A project's
        # events up to a version never change, so an entry at the version before a batch's
        # first event of the project saves reading and replaying its history (the live
        # projector's cost grew with each project's history). Taken out while a batch
        # uses it, put back by `end_batch`: a batch that fails leaves none half-applied.
        self.kept: OrderedDict[str, tuple[int, Replay, date]] = OrderedDict()
        self._reset()

    def _reset(self) -> None:
        # Per batch: each project's events up to the last one applied, their replay (in
        # version order: the project's rows on its latest event date), the latest business
        # date among them, its registration's position, and its rows of the current
        # knowledge (recorded_to = END_OF_TIME) by twin and by the live table's key.
        self.histories: dict[str, list[ProjectEvent]] = {}
        self.replays: dict[str, Replay] = {}
        self.latest_days: dict[str, date] = {}
        self.registered: dict[str, int] = {}
        self.current_rows: dict[tuple[sa.Table, str], dict[Key, list[Row]]] = {}
        # The version each replay has applied, and the projects whose earlier events are
        # not read yet (a kept replay stood for them): read only if an event needs them.
        self.replayed: dict[str, int] = {}
        self.unread: dict[str, int] = {}

    def attach(self, services: Services) -> None:
        self.services = services

    def prefetch(self, events: Sequence[Any]) -> None:
        """Read the earlier events of the projects this batch changes, and their rows."""
        self._reset()
        first_versions: dict[str, int] = {}
        for event in events:
            if isinstance(event, Project.ProjectRegistered | Project.Event):
                first_versions.setdefault(str(event.originator_id), event.originator_version)
        if self.services is None:
            msg = "the timeline projection reads earlier events: attach it to the services"
            raise RuntimeError(msg)
        store = self.services.application.repository.event_store
        known: list[str] = []
        for project_id, version in first_versions.items():
            if version == 1:
                # Registered in this batch: no earlier event, no twin row stored yet.
                self.histories[project_id] = []
                for twin in TIMELINE_TABLES:
                    self.rows.fresh(twin, project_id)
                continue
            kept = self.kept.pop(project_id, None)
            if kept is not None and kept[0] == version - 1:
                self.replayed[project_id], self.replays[project_id], latest = kept
                self.latest_days[project_id] = latest
                self.histories[project_id] = []
                self.unread[project_id] = version - 1
                known.append(project_id)
                continue
            earlier: list[ProjectEvent] = list(store.get(UUID(project_id), lte=version - 1))  # type: ignore[arg-type]
            self.histories[project_id] = earlier
            self.latest_days[project_id] = max(e.occurred_on for e in earlier)
            known.append(project_id)
        for twin in TIMELINE_TABLES:
            self.rows.prefetch(twin, known)

    def end_batch(self) -> None:
        """Keep the batch's replays for the next batches (the most recent `KEPT_REPLAYS`)."""
        for project_id, replay in self.replays.items():
            self.kept[project_id] = (
                self.replayed[project_id],
                replay,
                self.latest_days[project_id],
            )
            self.kept.move_to_end(project_id)
        while len(self.kept) > KEPT_REPLAYS:
            self.kept.popitem(last=False)

    def _history(self, project_id: str) -> list[ProjectEvent]:
        """The project's events applied so far, its earlier ones read if a kept replay
        stood for them."""
        history = self.histories[project_id]
        unread = self.unread.pop(project_id, None)
        if unread is not None:
            store = cast(Services, self.services).application.repository.event_store
            earlier: list[ProjectEvent] = list(store.get(UUID(project_id), lte=unread))  # type: ignore[arg-type]
            history[:0] = earlier
        return history

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events of labs and of the admin log still move the position."""
        self.view.insert_tracking(tracking)

    @process_event.register(Project.ProjectRegistered)
    def project_registered(self, event: Project.ProjectRegistered, tracking: Tracking) -> None:
        self.registered[str(event.originator_id)] = tracking.notification_id
        self._apply(event, tracking.notification_id)
        self.view.insert_tracking(tracking)

    @process_event.register(Project.Event)
    def project_changed(self, event: Project.Event, tracking: Tracking) -> None:
        self._apply(event, tracking.notification_id)
        self.view.insert_tracking(tracking)

    def _current(self, twin: sa.Table, project_id: str) -> dict[Key, list[Row]]:
        """The project's rows of the current knowledge in `twin`, by the live table's key."""
        found = self.current_rows.get((twin, project_id))
        if found is None:
            found = self.current_rows[(twin, project_id)] = {}
            key = _live_key(twin)
            for row in self.rows.partition(twin, project_id):
                if row["recorded_to"] == END_OF_TIME:
                    found.setdefault(key(row), []).append(row)
        return found

    def _registered_position(self, project_id: str) -> int:
        position = self.registered.get(project_id)
        if position is None:
            rows = self.rows.partition(BITEMPORAL[projects], project_id)
            position = int(rows[0]["registered_position"]) if rows else 0
            self.registered[project_id] = position
        return position

    def _apply(self, event: ProjectEvent, position: int) -> None:
        project_id = str(event.originator_id)
        history = self.histories.setdefault(project_id, [])
        changed_on = event.occurred_on
        latest = self.latest_days.get(project_id)
        in_order = latest is None or changed_on >= latest
        replay = self.replays.get(project_id)
        # During a rebuild beside the portfolio, what the portfolio's handlers did for this
        # very event (the same handlers, over the same events in the same order): an event
        # in business order needs nothing else. A project replayed in memory keeps its
        # replay for the rest of the batch.
        fed = self.feed.get(position) if self.feed is not None else None
        snapshots: list[tuple[date, Snapshot]]
        touched: Touched | None = None
        if replay is None and in_order and fed is not None:
            touched = fed
        elif replay is None:
            replay = Replay(project_id, self._registered_position(project_id))
            self.replays[project_id] = replay
            for earlier in history:
                replay.apply(earlier)
        history.append(event)
        if in_order:
            # Dated on or after every earlier event (the usual case): its business timeline
            # changes from its date on, only for the keys it touched (a row's runs depend
            # on its own values only, and a key it left alone keeps its rows).
            self.latest_days[project_id] = changed_on
            if touched is None:
                touched = cast(Replay, replay).apply(event)
                self.replayed[project_id] = event.originator_version
            snapshots = [(changed_on, touched.rows)]
        else:
            replay = cast(Replay, replay)
            replay.apply(event)
            self.replayed[project_id] = event.originator_version
            history = self._history(project_id)
            days = sorted({e.occurred_on for e in history if e.occurred_on >= changed_on})
            # The last day's rows are the replay of every event; earlier days are replayed
            # from the history.
            registered_position = self._registered_position(project_id)
            snapshots = [
                (day, snapshot(project_id, history, day, registered_position)) for day in days[:-1]
            ]
            snapshots.append((days[-1], replay.rows()))
        recorded = event.timestamp
        for table, twin in BITEMPORAL.items():
            keys: set[Key] | None = None
            if touched is not None:
                keys = touched.keys.get(table)
                if keys is None:
                    continue
            by_key = self._current(twin, project_id)
            if touched is not None and keys is not None and table in touched.replaced:
                # A replaced partition: its earlier keys are those of its current rows.
                keys = keys | by_key.keys()
            if keys is not None and not keys:
                continue
            rows_of = by_key.values() if keys is None else (by_key.get(k, ()) for k in keys)
            # Rows of the current knowledge ending before the changed date stay as they are.
            current = [row for rows in rows_of for row in rows if row["valid_to"] >= changed_on]
            if not current and not any(rows[table] for _, rows in snapshots):
                continue
            desired = business_timeline(table, current, snapshots)
            superseded, opened = changes_of_knowledge(table, current, desired)
            if not superseded and not opened:
                continue
            new = supersede(self.rows, twin, project_id, superseded, opened, recorded)
            if new is None:
                del self.current_rows[(twin, project_id)]
                continue
            key = _live_key(twin)
            for row in superseded:
                kept = by_key[key(row)]
                kept[:] = [r for r in kept if r is not row]
            for row in new:
                by_key.setdefault(key(row), []).append(row)
        self._count(project_id, changed_on, recorded, in_order)

    def _count(self, project_id: str, changed_on: date, recorded: datetime, in_order: bool) -> None:
        """Bring the project's counted runs (`rm_projects_counted_bt`) in line with its
        `rm_projects_bt` rows as known from `recorded` on.

        A run that still holds stays open (this is what makes the table narrow); one that
        no longer does is closed at `recorded`, a new one opened. The project rows change
        on dates from `changed_on` on only, so the runs are recomputed from the start of
        the run that reaches `changed_on` (a run before it keeps its end: the values on
        its last day did not change). An earlier event stamped alike may have closed or
        opened runs at `recorded`: a run it closed and this one keeps is reopened, a run it
        opened and this one ends is dropped, so that the rows depend on what was known
        after each instant only (migration 0016 derives them so from `rm_projects_bt`).
        """
        twin = projects_counted_bt
        stored = self.rows.partition(twin, project_id)
        versions = self._current(BITEMPORAL[projects], project_id).values()
        if in_order:
            # The usual case: the project's rows from `changed_on` on are one version to
            # the end of time; if the last run already holds its values from `changed_on`
            # or earlier, nothing changes.
            last = next(
                (
                    r
                    for r in stored
                    if r["valid_to"] == END_DATE and r["recorded_to"] == END_OF_TIME
                ),
                None,
            )
            latest = next((r for v in versions for r in v if r["valid_to"] == END_DATE), None)
            if (
                last is not None
                and latest is not None
                and last["valid_from"] <= changed_on
                and _counted(last) == _counted(latest)
            ):
                return
        held = sorted((r for r in stored if r["recorded_to"] == END_OF_TIME), key=_valid_from)
        start = changed_on
        for row in held:
            if row["valid_to"] >= changed_on:
                start = min(row["valid_from"], changed_on)
                break
        desired = {_run(r): r for r in counted_runs((r for v in versions for r in v), start)}
        held = [r for r in held if r["valid_to"] > start]
        holding = {_run(r) for r in held}
        superseded = [r for r in held if _run(r) not in desired]
        opened = [r for name, r in desired.items() if name not in holding]
        if not superseded and not opened:
            return
        closed_now = {_run(r): r for r in stored if r["recorded_to"] == recorded}
        reopened = [closed_now[_run(r)] for r in opened if _run(r) in closed_now]
        new = [
            dict(r, recorded_from=recorded, recorded_to=END_OF_TIME)
            for r in opened
            if _run(r) not in closed_now
        ]
        dropped = {id(r) for r in superseded if r["recorded_from"] == recorded}
        if not dropped:
            for row in superseded:
                self.rows.update(twin, row, recorded_to=recorded)
            for row in reopened:
                self.rows.update(twin, row, recorded_to=END_OF_TIME)
            for row in new:
                self.rows.insert(twin, **row)
            return
        closing = {id(r) for r in superseded}
        reopening = {id(r) for r in reopened}
        written = [
            dict(r, recorded_to=recorded)
            if id(r) in closing
            else dict(r, recorded_to=END_OF_TIME)
            if id(r) in reopening
            else dict(r)
            for r in stored
            if id(r) not in dropped
        ]
        self.rows.replace_partition(twin, project_id, written + new)
