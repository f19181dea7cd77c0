"""The portfolio projection: labs, projects and everything the dashboards count about them.

One handler per event class. Each writes its rows in the batch's transaction and records
tracking; counters are updated in place (`x = x + 1`), which is safe because the runner
applies each event exactly once (rows and position commit together).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking

from domain.lab import Lab
from domain.project import Project
from domain.values import MilestoneStatus, Phase, Status, Territory, TerritoryLevel
from projections.base import ReadModelProjection, upsert_adding
from projections.tables import (
    activities,
    funding,
    indicators,
    labs,
    milestones,
    phase_periods,
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
    )

    # -- helpers ---------------------------------------------------------------------------

    def _touch(self, event: Project.Event, **values: Any) -> None:
        """Update the project's row with `values`, its version and its last change."""
        p = self.t(projects)
        self.conn.execute(
            sa.update(p)
            .where(p.c.id == str(event.originator_id))
            .values(version=event.originator_version, updated_at=event.timestamp, **values)
        )

    def _next_milestone(self, project_id: str) -> dict[str, Any]:
        """The planned milestone due first (the domain's `Project.next_milestone`)."""
        m = self.t(milestones)
        row = self.conn.execute(
            sa.select(m.c.milestone_id, m.c.due_on)
            .where(m.c.project_id == project_id, m.c.status == MilestoneStatus.PLANNED.value)
            .order_by(m.c.due_on, m.c.milestone_id)
            .limit(1)
        ).first()
        return {
            "next_milestone_id": row.milestone_id if row else None,
            "next_milestone_due_on": row.due_on if row else None,
        }

    def _lab_of(self, project_id: str) -> str:
        p = self.t(projects)
        lab: str = self.conn.scalar(sa.select(p.c.lab).where(p.c.id == project_id)) or ""
        return lab

    def _replace_themes(self, project_id: str, themes: list[str]) -> None:
        t = self.t(project_themes)
        self.conn.execute(sa.delete(t).where(t.c.project_id == project_id))
        if themes:
            self.conn.execute(
                sa.insert(t), [{"project_id": project_id, "theme": theme} for theme in themes]
            )

    def _replace_territories(self, project_id: str, territories: list[Territory]) -> None:
        t = self.t(project_territories)
        self.conn.execute(sa.delete(t).where(t.c.project_id == project_id))
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
        if rows:
            self.conn.execute(sa.insert(t), list(rows.values()))

    def _end_phase_period(self, project_id: str, left_on: date) -> None:
        t = self.t(phase_periods)
        self.conn.execute(
            sa.update(t)
            .where(t.c.project_id == project_id, t.c.left_on.is_(None))
            .values(left_on=left_on)
        )

    def _start_phase_period(
        self, project_id: str, phase: str, entered_on: date, decision: str
    ) -> None:
        t = self.t(phase_periods)
        last = self.conn.scalar(sa.select(sa.func.max(t.c.seq)).where(t.c.project_id == project_id))
        self.conn.execute(
            sa.insert(t).values(
                project_id=project_id,
                seq=(last or 0) + 1,
                phase=phase,
                entered_on=entered_on,
                left_on=None,
                decision=decision,
            )
        )

    def _update_milestone(self, event: Project.Event, milestone_id: str, **values: Any) -> None:
        m = self.t(milestones)
        self.conn.execute(
            sa.update(m)
            .where(m.c.project_id == str(event.originator_id), m.c.milestone_id == milestone_id)
            .values(**values)
        )

    # -- events ----------------------------------------------------------------------------

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this projection does not read still move its position."""
        self.view.insert_tracking(tracking)

    @process_event.register(Lab.LabRegistered)
    def lab_registered(self, event: Lab.LabRegistered, tracking: Tracking) -> None:
        self.conn.execute(
            sa.insert(self.t(labs)).values(
                slug=event.slug,
                name=event.name,
                region_code=event.region_code,
                registered_on=event.occurred_on,
                registered_position=tracking.notification_id,
            )
        )
        self.view.insert_tracking(tracking)

    @process_event.register(Project.ProjectRegistered)
    def project_registered(self, event: Project.ProjectRegistered, tracking: Tracking) -> None:
        project_id = str(event.originator_id)
        self.conn.execute(
            sa.insert(self.t(projects)).values(
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
                registered_position=tracking.notification_id,
                updated_at=event.timestamp,
            )
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
        self._touch(event, health=event.health)
        self.view.insert_tracking(tracking)

    @process_event.register(Project.MilestonePlanned)
    def milestone_planned(self, event: Project.MilestonePlanned, tracking: Tracking) -> None:
        project_id = str(event.originator_id)
        self.conn.execute(
            sa.insert(self.t(milestones)).values(
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
        )
        p = self.t(projects)
        self._touch(
            event,
            milestones_planned=p.c.milestones_planned + 1,
            milestones_open=p.c.milestones_open + 1,
            **self._next_milestone(project_id),
        )
        self.view.insert_tracking(tracking)

    @process_event.register(Project.MilestoneRescheduled)
    def milestone_rescheduled(
        self, event: Project.MilestoneRescheduled, tracking: Tracking
    ) -> None:
        m = self.t(milestones)
        self._update_milestone(
            event,
            event.milestone_id,
            due_on=event.due_on,
            reschedules=m.c.reschedules + 1,
            days_slipped=m.c.days_slipped + (event.due_on - event.previous_due_on).days,
        )
        self._touch(event, **self._next_milestone(str(event.originator_id)))
        self.view.insert_tracking(tracking)

    @process_event.register(Project.MilestoneAchieved)
    def milestone_achieved(self, event: Project.MilestoneAchieved, tracking: Tracking) -> None:
        self._update_milestone(
            event,
            event.milestone_id,
            status=MilestoneStatus.ACHIEVED.value,
            achieved_on=event.achieved_on,
        )
        p = self.t(projects)
        self._touch(
            event,
            milestones_open=p.c.milestones_open - 1,
            milestones_achieved=p.c.milestones_achieved + 1,
            **self._next_milestone(str(event.originator_id)),
        )
        self.view.insert_tracking(tracking)

    @process_event.register(Project.MilestoneCancelled)
    def milestone_cancelled(self, event: Project.MilestoneCancelled, tracking: Tracking) -> None:
        self._update_milestone(event, event.milestone_id, status=MilestoneStatus.CANCELLED.value)
        p = self.t(projects)
        self._touch(
            event,
            milestones_open=p.c.milestones_open - 1,
            milestones_cancelled=p.c.milestones_cancelled + 1,
            **self._next_milestone(str(event.originator_id)),
        )
        self.view.insert_tracking(tracking)

    @process_event.register(Project.PartnerJoined)
    def partner_joined(self, event: Project.PartnerJoined, tracking: Tracking) -> None:
        self._touch(event, partners=self.t(projects).c.partners + 1)
        self.view.insert_tracking(tracking)

    @process_event.register(Project.PartnerLeft)
    def partner_left(self, event: Project.PartnerLeft, tracking: Tracking) -> None:
        self._touch(event, partners=self.t(projects).c.partners - 1)
        self.view.insert_tracking(tracking)

    @process_event.register(Project.IndicatorDefined)
    def indicator_defined(self, event: Project.IndicatorDefined, tracking: Tracking) -> None:
        self.conn.execute(
            sa.insert(self.t(indicators)).values(
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
        )
        self._touch(event)
        self.view.insert_tracking(tracking)

    @process_event.register(Project.IndicatorMeasured)
    def indicator_measured(self, event: Project.IndicatorMeasured, tracking: Tracking) -> None:
        i = self.t(indicators)
        key = (i.c.project_id == str(event.originator_id)) & (
            i.c.indicator_id == event.indicator_id
        )
        # The latest measurement by business date wins, as in the aggregate.
        is_latest = i.c.measured_on.is_(None) | (i.c.measured_on <= event.measured_on)
        self.conn.execute(
            sa.update(i)
            .where(key)
            .values(
                value=sa.case((is_latest, event.value), else_=i.c.value),
                measured_on=sa.case((is_latest, event.measured_on), else_=i.c.measured_on),
                measurements=i.c.measurements + 1,
            )
        )
        self._touch(event)
        self.view.insert_tracking(tracking)

    @process_event.register(Project.ActivityLogged)
    def activity_logged(self, event: Project.ActivityLogged, tracking: Tracking) -> None:
        project_id = str(event.originator_id)
        self.conn.execute(
            sa.insert(self.t(activities)).values(
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
        )
        p = self.t(projects)
        latest = sa.case(
            (
                p.c.last_activity_on.is_(None) | (p.c.last_activity_on < event.held_on),
                event.held_on,
            ),
            else_=p.c.last_activity_on,
        )
        self._touch(
            event,
            activities=p.c.activities + 1,
            participants=p.c.participants + event.participants,
            last_activity_on=latest,
        )
        self.view.insert_tracking(tracking)

    @process_event.register(Project.DecisionRecorded)
    def decision_recorded(self, event: Project.DecisionRecorded, tracking: Tracking) -> None:
        self._touch(event, decisions=self.t(projects).c.decisions + 1)
        self.view.insert_tracking(tracking)

    @process_event.register(Project.FundingCommitted)
    def funding_committed(self, event: Project.FundingCommitted, tracking: Tracking) -> None:
        project_id = str(event.originator_id)
        upsert_adding(
            self.conn,
            self.t(funding),
            {
                "project_id": project_id,
                "source": event.source,
                "fiscal_year": event.fiscal_year,
                "lab": self._lab_of(project_id),
                "amount_cents": event.amount_cents,
                "commitments": 1,
            },
            keys=("project_id", "source", "fiscal_year"),
            add=("amount_cents", "commitments"),
        )
        p = self.t(projects)
        self._touch(event, funding_cents=p.c.funding_cents + event.amount_cents)
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
