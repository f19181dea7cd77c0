"""The portfolio projection: labs, projects and everything the dashboards count about them.

One handler per event class. Each changes its rows in the batch's memory
(`projections.rows`: flushed in bulk in the batch's transaction) and records tracking;
counters are read and written back (`x + 1`), which is safe because the runner applies
each event exactly once and one projector at a time (rows and position commit together).

The whole portfolio's roll-ups (`rm_portfolio_counts`) move with the rows: each change to
a row of a counted table goes through `_insert`, `_update` or `_replace`, which move the
counts from what the row counted before (`counted`) to what it counts after, in the same
batch and transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking

from domain.lab import Lab
from domain.project import Project
from domain.values import MilestoneStatus, Phase, Status, Territory, TerritoryLevel
from projections.base import ReadModelProjection
from projections.rows import Row
from projections.view import ReadModelView
from tracker.schema.read_models import (
    activities,
    funding,
    indicators,
    labs,
    milestones,
    phase_periods,
    portfolio_counts,
    project_territories,
    project_themes,
    projects,
)

REOPEN_DECISION = "reopen"
START_DECISION = "start"


def department_of(territory: Territory) -> str | None:
    """The department a territory lies in, as `Territory.contains` decides it."""
    if territory.level == TerritoryLevel.DEPARTMENT:
        return territory.code
    if territory.level == TerritoryLevel.COMMUNE:
        return territory.code[:3] if territory.code.startswith("97") else territory.code[:2]
    return None


def territory_json(territories: list[Territory]) -> list[dict[str, Any]]:
    return [{"level": t.level, "code": t.code, "cog_year": t.cog_year} for t in territories]


# A roll-up's key in `rm_portfolio_counts`: (dimension, key, detail).
CountKey = tuple[str, str, str]


def counted(table: sa.Table, row: Mapping[str, Any]) -> list[tuple[CountKey, int]]:
    """What one row of `table` adds to the portfolio's roll-ups: each key it counts in
    (once), with the amount it adds there (participants, cents; else 0)."""
    if table is projects:
        return [
            (("phase", row["phase"], ""), 0),
            (("health", row["health"], ""), 0),
            (("status", row["status"], ""), 0),
            (("lab", row["lab"], ""), 0),
        ]
    if table is project_themes:
        return [(("theme", row["theme"], ""), 0)]
    if table is project_territories:
        return [(("territory", row["code"], row["level"]), 0)]
    if table is milestones:
        found: list[tuple[CountKey, int]] = []
        if row["status"] == MilestoneStatus.PLANNED.value:
            found.append((("due", row["due_on"].isoformat(), ""), 0))
        elif row["status"] == MilestoneStatus.ACHIEVED.value:
            found.append((("achieved", "", ""), 0))
        if row["days_slipped"] > 0:
            found.append((("slipped", "", ""), 0))
        return found
    if table is activities:
        return [(("month", row["month"], ""), row["participants"])]
    if table is funding:
        return [(("year", str(row["fiscal_year"]), ""), row["amount_cents"])]
    return []


# The columns `counted` reads, per table: a change to none of them counts nothing new.
COUNTED_COLUMNS: dict[sa.Table, frozenset[str]] = {
    projects: frozenset({"phase", "health", "status", "lab"}),
    project_themes: frozenset({"theme"}),
    project_territories: frozenset({"code", "level"}),
    milestones: frozenset({"status", "due_on", "days_slipped"}),
    activities: frozenset({"month", "participants"}),
    funding: frozenset({"fiscal_year", "amount_cents"}),
}
NONE: frozenset[str] = frozenset()


# A project's rows, partitioned by its id: none of them exists before it is registered.
PROJECT_TABLES = (
    projects,
    project_themes,
    project_territories,
    milestones,
    phase_periods,
    activities,
    funding,
    indicators,
)
# The tables a batch reads (besides `projects`), and the events that read them.
READS: tuple[tuple[sa.Table, tuple[type[Any], ...]], ...] = (
    (
        milestones,
        (
            Project.MilestonePlanned,
            Project.MilestoneRescheduled,
            Project.MilestoneAchieved,
            Project.MilestoneCancelled,
        ),
    ),
    (phase_periods, (Project.PhaseEntered, Project.ProjectClosed, Project.ProjectReopened)),
    (indicators, (Project.IndicatorMeasured,)),
    (funding, (Project.FundingCommitted,)),
)


class PortfolioProjection(ReadModelProjection):
    """Labs, projects, milestones, phase periods, activities, funding and indicators."""

    name = "portfolio"
    description = "labs, projects, milestones, phases, activities, funding, indicators"
    tables = (
        labs,
        projects,
        project_themes,
        project_territories,
        milestones,
        phase_periods,
        activities,
        funding,
        indicators,
        portfolio_counts,
    )

    def __init__(self, view: ReadModelView) -> None:
        super().__init__(view)
        # The dimensions whose roll-ups this batch brought to 0 (`end_batch` drops them).
        self._emptied: set[str] = set()
        # Whether the view keeps the roll-ups (`_counts_kept`), known once bound.
        self._counting: bool | None = None

    def prefetch(self, events: Sequence[Any]) -> None:
        """Load the rows of the projects this batch changes but did not register."""
        registered: set[str] = set()
        wanted: dict[sa.Table, set[str]] = {projects: set()}
        wanted.update((table, set()) for table, _ in READS)
        for event in events:
            if isinstance(event, Project.ProjectRegistered):
                registered.add(str(event.originator_id))
            elif isinstance(event, Project.Event):
                project_id = str(event.originator_id)
                if project_id in registered:
                    continue
                wanted[projects].add(project_id)
                for table, readers in READS:
                    if isinstance(event, readers):
                        wanted[table].add(project_id)
        for table, ids in wanted.items():
            self.rows.prefetch(table, ids)

    # -- rows, and the roll-ups they count in --------------------------------------------

    def _counts_kept(self) -> bool:
        """Whether this view keeps the roll-ups: the timeline's replays in memory (and the
        tests' oracles) hold the project tables only, and count nothing."""
        if self._counting is None:
            self._counting = portfolio_counts in self.rows.tables
        return self._counting

    def _recount(
        self, removed: Iterable[tuple[CountKey, int]], added: Iterable[tuple[CountKey, int]]
    ) -> None:
        """Move the roll-ups from what rows counted to what they count now."""
        changes: dict[CountKey, list[int]] = {}
        for key, amount in removed:
            change = changes.setdefault(key, [0, 0])
            change[0] -= 1
            change[1] -= amount
        for key, amount in added:
            change = changes.setdefault(key, [0, 0])
            change[0] += 1
            change[1] += amount
        rows = self.rows
        for key, (count, amount) in changes.items():
            if not count and not amount:
                continue
            row = rows.get(portfolio_counts, *key)
            if row is None:
                rows.insert(
                    portfolio_counts,
                    dimension=key[0],
                    key=key[1],
                    detail=key[2],
                    counted=count,
                    amount=amount,
                )
                continue
            rows.update(
                portfolio_counts,
                row,
                counted=row["counted"] + count,
                amount=row["amount"] + amount,
            )
            if not row["counted"]:
                self._emptied.add(key[0])

    def end_batch(self) -> None:
        """Drop the roll-ups the batch brought to 0 (a milestone moved off its due date…):
        the table then holds only keys something counts, as a rebuild (or migration 0015,
        which fills it from the rows) writes it."""
        for dimension in sorted(self._emptied):
            kept = [r for r in self.rows.partition(portfolio_counts, dimension) if r["counted"]]
            self.rows.replace_partition(portfolio_counts, dimension, kept)
        self._emptied.clear()

    def _insert(self, table: sa.Table, **values: Any) -> Row:
        row = self.rows.insert(table, **values)
        if self._counts_kept():
            self._recount((), counted(table, row))
        return row

    def _update(self, table: sa.Table, row: Row, **values: Any) -> Row:
        # Most changes (a project's version, a counter) leave every counted column alone.
        recount = self._counts_kept() and not COUNTED_COLUMNS.get(table, NONE).isdisjoint(values)
        before = counted(table, row) if recount else None
        self.rows.update(table, row, **values)
        if before is not None:
            after = counted(table, row)
            if after != before:
                self._recount(before, after)
        return row

    def _replace(self, table: sa.Table, project_id: str, rows: Iterable[Row]) -> None:
        before = (
            [c for row in self.rows.partition(table, project_id) for c in counted(table, row)]
            if self._counts_kept()
            else None
        )
        self.rows.replace_partition(table, project_id, rows)
        if before is not None:
            after = self.rows.partition(table, project_id)
            self._recount(before, [c for row in after for c in counted(table, row)])

    # -- helpers ---------------------------------------------------------------------------

    def _touch(
        self, event: Project.Event, add: Mapping[str, int] | None = None, **values: Any
    ) -> None:
        """Set `values` on the project's row, add `add` to its counters, and set its
        version and last change (a project without a row is left alone, as an UPDATE
        matching no row would)."""
        project = self.rows.get(projects, str(event.originator_id))
        if project is None:
            return
        for column, amount in (add or {}).items():
            values[column] = project[column] + amount
        self._update(
            projects,
            project,
            version=event.originator_version,
            updated_at=event.timestamp,
            **values,
        )

    def _next_milestone(self, project_id: str) -> dict[str, Any]:
        """The planned milestone due first (the domain's `Project.next_milestone`)."""
        planned = [
            m
            for m in self.rows.partition(milestones, project_id)
            if m["status"] == MilestoneStatus.PLANNED.value
        ]
        row = min(planned, key=lambda m: (m["due_on"], m["milestone_id"]), default=None)
        return {
            "next_milestone_id": row["milestone_id"] if row else None,
            "next_milestone_due_on": row["due_on"] if row else None,
        }

    def _lab_of(self, project_id: str) -> str:
        row = self.rows.get(projects, project_id)
        return str(row["lab"]) if row and row["lab"] else ""

    def _replace_themes(self, project_id: str, themes: list[str]) -> None:
        self._replace(
            project_themes,
            project_id,
            ({"project_id": project_id, "theme": theme} for theme in dict.fromkeys(themes)),
        )

    def _replace_territories(self, project_id: str, territories: list[Territory]) -> None:
        rows = {
            (x.level, x.code): {
                "project_id": project_id,
                "level": x.level,
                "code": x.code,
                "cog_year": x.cog_year,
                "department": department_of(x),
            }
            for x in territories
        }
        self._replace(project_territories, project_id, rows.values())

    def _end_phase_period(self, project_id: str, left_on: date) -> None:
        for period in self.rows.partition(phase_periods, project_id):
            if period["left_on"] is None:
                self.rows.update(phase_periods, period, left_on=left_on)

    def _start_phase_period(
        self, project_id: str, phase: str, entered_on: date, decision: str
    ) -> None:
        last = max((p["seq"] for p in self.rows.partition(phase_periods, project_id)), default=0)
        self.rows.insert(
            phase_periods,
            project_id=project_id,
            seq=last + 1,
            phase=phase,
            entered_on=entered_on,
            left_on=None,
            decision=decision,
        )

    def _milestone(self, event: Project.Event, milestone_id: str) -> dict[str, Any] | None:
        return self.rows.get(milestones, str(event.originator_id), milestone_id)

    # -- events ----------------------------------------------------------------------------

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this projection does not read still move its position."""
        self.view.insert_tracking(tracking)

    @process_event.register(Lab.LabRegistered)
    def lab_registered(self, event: Lab.LabRegistered, tracking: Tracking) -> None:
        self.rows.insert(
            labs,
            slug=event.slug,
            name=event.name,
            region_code=event.region_code,
            registered_on=event.occurred_on,
            registered_position=tracking.notification_id,
        )
        self.view.insert_tracking(tracking)

    @process_event.register(Project.ProjectRegistered)
    def project_registered(self, event: Project.ProjectRegistered, tracking: Tracking) -> None:
        project_id = str(event.originator_id)
        for table in PROJECT_TABLES:
            self.rows.fresh(table, project_id)
        self._insert(
            projects,
            id=project_id,
            lab=event.lab,
            title=event.title,
            summary=event.summary,
            phase=Phase.FRAMING.value,
            phase_since=event.started_on,
            health="on_track",
            status=Status.ACTIVE.value,
            outcome=None,
            themes=list(event.themes),
            territories=territory_json(event.territories),
            started_on=event.started_on,
            registered_on=event.occurred_on,
            closed_on=None,
            milestones_planned=0,
            milestones_open=0,
            milestones_achieved=0,
            milestones_cancelled=0,
            activities=0,
            participants=0,
            partners=0,
            decisions=0,
            funding_cents=0,
            next_milestone_id=None,
            next_milestone_due_on=None,
            last_activity_on=None,
            version=event.originator_version,
            health_on=None,
            registered_position=tracking.notification_id,
            updated_at=event.timestamp,
        )
        self._replace_themes(project_id, event.themes)
        self._replace_territories(project_id, event.territories)
        self._start_phase_period(project_id, Phase.FRAMING.value, event.started_on, START_DECISION)
        self.view.insert_tracking(tracking)

    @process_event.register(Project.DetailsRevised)
    def details_revised(self, event: Project.DetailsRevised, tracking: Tracking) -> None:
        project_id = str(event.originator_id)
        values: dict[str, Any] = {}
        if event.title is not None:
            values["title"] = event.title
        if event.summary is not None:
            values["summary"] = event.summary
        if event.themes is not None:
            values["themes"] = list(event.themes)
            self._replace_themes(project_id, event.themes)
        if event.territories is not None:
            values["territories"] = territory_json(event.territories)
            self._replace_territories(project_id, event.territories)
        self._touch(event, **values)
        self.view.insert_tracking(tracking)

    @process_event.register(Project.PhaseEntered)
    def phase_entered(self, event: Project.PhaseEntered, tracking: Tracking) -> None:
        project_id = str(event.originator_id)
        self._end_phase_period(project_id, event.occurred_on)
        self._start_phase_period(project_id, event.phase, event.occurred_on, event.decision)
        self._touch(event, phase=event.phase, phase_since=event.occurred_on)
        self.view.insert_tracking(tracking)

    @process_event.register(Project.HealthAssessed)
    def health_assessed(self, event: Project.HealthAssessed, tracking: Tracking) -> None:
        # The latest by business date is the current one, as in the aggregate: one logged
        # late and dated before the current one changes nothing but the version.
        project = self.rows.get(projects, str(event.originator_id))
        current = project["health_on"] if project else None
        if current is None or event.occurred_on >= current:
            self._touch(event, health=event.health, health_on=event.occurred_on)
        else:
            self._touch(event)
        self.view.insert_tracking(tracking)

    @process_event.register(Project.MilestonePlanned)
    def milestone_planned(self, event: Project.MilestonePlanned, tracking: Tracking) -> None:
        project_id = str(event.originator_id)
        self._insert(
            milestones,
            project_id=project_id,
            milestone_id=event.milestone_id,
            lab=self._lab_of(project_id),
            title=event.title,
            phase=event.phase,
            due_on=event.due_on,
            original_due_on=event.due_on,
            status=MilestoneStatus.PLANNED.value,
            achieved_on=None,
            planned_on=event.occurred_on,
            reschedules=0,
            days_slipped=0,
        )
        self._touch(
            event,
            add={"milestones_planned": 1, "milestones_open": 1},
            **self._next_milestone(project_id),
        )
        self.view.insert_tracking(tracking)

    @process_event.register(Project.MilestoneRescheduled)
    def milestone_rescheduled(
        self, event: Project.MilestoneRescheduled, tracking: Tracking
    ) -> None:
        milestone = self._milestone(event, event.milestone_id)
        if milestone is not None:
            self._update(
                milestones,
                milestone,
                due_on=event.due_on,
                reschedules=milestone["reschedules"] + 1,
                days_slipped=milestone["days_slipped"]
                + (event.due_on - event.previous_due_on).days,
            )
        self._touch(event, **self._next_milestone(str(event.originator_id)))
        self.view.insert_tracking(tracking)

    @process_event.register(Project.MilestoneAchieved)
    def milestone_achieved(self, event: Project.MilestoneAchieved, tracking: Tracking) -> None:
        milestone = self._milestone(event, event.milestone_id)
        if milestone is not None:
            self._update(
                milestones,
                milestone,
                status=MilestoneStatus.ACHIEVED.value,
                achieved_on=event.achieved_on,
            )
        self._touch(
            event,
            add={"milestones_open": -1, "milestones_achieved": 1},
            **self._next_milestone(str(event.originator_id)),
        )
        self.view.insert_tracking(tracking)

    @process_event.register(Project.MilestoneCancelled)
    def milestone_cancelled(self, event: Project.MilestoneCancelled, tracking: Tracking) -> None:
        milestone = self._milestone(event, event.milestone_id)
        if milestone is not None:
            self._update(milestones, milestone, status=MilestoneStatus.CANCELLED.value)
        self._touch(
            event,
            add={"milestones_open": -1, "milestones_cancelled": 1},
            **self._next_milestone(str(event.originator_id)),
        )
        self.view.insert_tracking(tracking)

    @process_event.register(Project.PartnerJoined)
    def partner_joined(self, event: Project.PartnerJoined, tracking: Tracking) -> None:
        self._touch(event, add={"partners": 1})
        self.view.insert_tracking(tracking)

    @process_event.register(Project.PartnerLeft)
    def partner_left(self, event: Project.PartnerLeft, tracking: Tracking) -> None:
        self._touch(event, add={"partners": -1})
        self.view.insert_tracking(tracking)

    @process_event.register(Project.IndicatorDefined)
    def indicator_defined(self, event: Project.IndicatorDefined, tracking: Tracking) -> None:
        self.rows.insert(
            indicators,
            project_id=str(event.originator_id),
            indicator_id=event.indicator_id,
            name=event.name,
            unit=event.unit,
            baseline=event.baseline,
            target=event.target,
            value=None,
            measured_on=None,
            measurements=0,
        )
        self._touch(event)
        self.view.insert_tracking(tracking)

    @process_event.register(Project.IndicatorMeasured)
    def indicator_measured(self, event: Project.IndicatorMeasured, tracking: Tracking) -> None:
        indicator = self.rows.get(indicators, str(event.originator_id), event.indicator_id)
        if indicator is not None:
            # The latest measurement by business date wins, as in the aggregate.
            if indicator["measured_on"] is None or indicator["measured_on"] <= event.measured_on:
                indicator.update(value=event.value, measured_on=event.measured_on)
            self.rows.update(indicators, indicator, measurements=indicator["measurements"] + 1)
        self._touch(event)
        self.view.insert_tracking(tracking)

    @process_event.register(Project.ActivityLogged)
    def activity_logged(self, event: Project.ActivityLogged, tracking: Tracking) -> None:
        project_id = str(event.originator_id)
        self._insert(
            activities,
            project_id=project_id,
            activity_id=event.activity_id,
            lab=self._lab_of(project_id),
            kind=event.kind,
            title=event.title,
            held_on=event.held_on,
            month=event.held_on.strftime("%Y-%m"),
            participants=event.participants,
            mode=event.mode,
        )
        project = self.rows.get(projects, project_id)
        last = project["last_activity_on"] if project else None
        self._touch(
            event,
            add={"activities": 1, "participants": event.participants},
            last_activity_on=event.held_on if last is None or last < event.held_on else last,
        )
        self.view.insert_tracking(tracking)

    @process_event.register(Project.DecisionRecorded)
    def decision_recorded(self, event: Project.DecisionRecorded, tracking: Tracking) -> None:
        self._touch(event, add={"decisions": 1})
        self.view.insert_tracking(tracking)

    @process_event.register(Project.FundingCommitted)
    def funding_committed(self, event: Project.FundingCommitted, tracking: Tracking) -> None:
        project_id = str(event.originator_id)
        line = self.rows.get(funding, project_id, event.source, event.fiscal_year)
        if line is None:
            self._insert(
                funding,
                project_id=project_id,
                source=event.source,
                fiscal_year=event.fiscal_year,
                lab=self._lab_of(project_id),
                amount_cents=event.amount_cents,
                commitments=1,
            )
        else:
            self._update(
                funding,
                line,
                amount_cents=line["amount_cents"] + event.amount_cents,
                commitments=line["commitments"] + 1,
            )
        self._touch(event, add={"funding_cents": event.amount_cents})
        self.view.insert_tracking(tracking)

    @process_event.register(Project.ProjectClosed)
    def project_closed(self, event: Project.ProjectClosed, tracking: Tracking) -> None:
        self._end_phase_period(str(event.originator_id), event.occurred_on)
        self._touch(
            event,
            status=Status.CLOSED.value,
            outcome=event.outcome,
            closed_on=event.occurred_on,
        )
        self.view.insert_tracking(tracking)

    @process_event.register(Project.ProjectReopened)
    def project_reopened(self, event: Project.ProjectReopened, tracking: Tracking) -> None:
        project_id = str(event.originator_id)
        self._start_phase_period(project_id, event.phase, event.occurred_on, REOPEN_DECISION)
        self._touch(
            event,
            status=Status.ACTIVE.value,
            outcome=None,
            closed_on=None,
            phase=event.phase,
            phase_since=event.occurred_on,
        )
        self.view.insert_tracking(tracking)


def recorded_at(event: Any) -> datetime | None:
    """When an event was recorded (every eventsourcing domain event has a timestamp)."""
    moment = getattr(event, "timestamp", None)
    return moment if isinstance(moment, datetime) else None
