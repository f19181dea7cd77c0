"""Strawberry types for the dashboards, separate from the rows they are built from.

Each type keeps its row private (`strawberry.Private`) and is built by `from_row`; fields
that need other rows resolve through the request's DataLoaders, so a page of projects
costs one statement per kind of related row, not one per project.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, Generic, NewType, TypeVar, cast

import strawberry
from sqlalchemy import RowMapping
from strawberry.types import Info

from domain.values import ActivityKind, Health, MilestoneStatus, Phase, Status
from projections.cog import newest_name, territory_name
from projections.view import utc
from tracker.graphql.context import Context

PhaseEnum = strawberry.enum(Phase, name="Phase", description="The phases, in order.")
HealthEnum = strawberry.enum(Health, name="Health")
StatusEnum = strawberry.enum(Status, name="Status")
MilestoneStatusEnum = strawberry.enum(MilestoneStatus, name="MilestoneStatus")
ActivityKindEnum = strawberry.enum(ActivityKind, name="ActivityKind")

# Amounts in cents exceed GraphQL's 32-bit Int: a 53-bit integer, as JSON numbers carry.
BigInt = NewType("BigInt", int)
BIG_INT = strawberry.scalar(
    name="BigInt",
    description="An integer beyond 32 bits (euro cents), exact up to 2^53.",
    serialize=int,
    parse_value=int,
)

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
GraphInfo = Info[Context, None]


def field(
    description: str | None = None,
    permission_classes: list[type[Any]] | None = None,
    graphql_type: Any = None,
) -> Callable[[F], F]:
    """`strawberry.field` for a resolver, typed so that strict mypy keeps its signature.

    `graphql_type` gives the field's type when the resolver's annotation cannot: a related
    row's resolver returns the value or an awaitable of it (`Context.resolve`)."""
    return cast(
        Callable[[F], F],
        strawberry.field(
            description=description,
            permission_classes=permission_classes or [],
            graphql_type=graphql_type,
        ),
    )


def _lab(row: RowMapping | None) -> Lab | None:
    return Lab.from_row(row) if row else None


def _project(row: RowMapping | None) -> Project | None:
    return Project.from_row(row) if row else None


def when(moment: datetime) -> datetime:
    return utc(moment) or moment


@strawberry.type
class Lab:
    """A lab and its portfolio."""

    row: strawberry.Private[RowMapping]
    slug: str
    name: str
    region_code: str
    registered_on: date

    @classmethod
    def from_row(cls, row: RowMapping) -> Lab:
        return cls(
            row=row,
            slug=row.slug,
            name=row.name,
            region_code=row.region_code,
            registered_on=row.registered_on,
        )


@strawberry.type
class Territory:
    """An INSEE COG territory."""

    level: str
    code: str
    cog_year: int
    name: str | None = strawberry.field(
        default=None,
        description="Its name in the COG of `cogYear` (null outside the shipped extract: "
        "docs/territories.md).",
    )


@strawberry.type
class Milestone:
    """A dated step of a project; `overdue` is computed against today."""

    row: strawberry.Private[RowMapping]
    today: strawberry.Private[date]
    id: strawberry.ID
    project_id: strawberry.ID
    title: str
    phase: PhaseEnum  # type: ignore[valid-type]
    due_on: date
    original_due_on: date
    status: MilestoneStatusEnum  # type: ignore[valid-type]
    achieved_on: date | None
    planned_on: date
    reschedules: int
    days_slipped: int

    @classmethod
    def from_row(cls, row: RowMapping, today: date) -> Milestone:
        return cls(
            row=row,
            today=today,
            id=strawberry.ID(row.milestone_id),
            project_id=strawberry.ID(row.project_id),
            title=row.title,
            phase=Phase(row.phase),
            due_on=row.due_on,
            original_due_on=row.original_due_on,
            status=MilestoneStatus(row.status),
            achieved_on=row.achieved_on,
            planned_on=row.planned_on,
            reschedules=row.reschedules,
            days_slipped=row.days_slipped,
        )

    def is_overdue(self) -> bool:
        return bool(self.row.status == MilestoneStatus.PLANNED and self.row.due_on < self.today)

    @field(description="Planned and due before today.")
    def overdue(self) -> bool:
        return self.is_overdue()

    @field(description="Days past due for an overdue milestone, else 0.")
    def days_overdue(self) -> int:
        return (self.today - self.row.due_on).days if self.is_overdue() else 0

    @field(graphql_type="Project | None")
    def project(self, info: GraphInfo) -> Project | Awaitable[Project | None] | None:
        return info.context.resolve("project", self.row.project_id, _project)


@strawberry.type
class PhasePeriod:
    """A stay in one phase: entered, left (None while in it)."""

    phase: PhaseEnum  # type: ignore[valid-type]
    entered_on: date
    left_on: date | None
    decision: str

    @field(description="Days in the phase, up to today while still in it.")
    def days(self, info: GraphInfo) -> int:
        return ((self.left_on or info.context.today) - self.entered_on).days


@strawberry.type
class Activity:
    """A workshop, training, webinar…: counts only, never names."""

    id: strawberry.ID
    project_id: strawberry.ID
    lab: str
    kind: str
    title: str
    held_on: date
    participants: int
    mode: str | None = strawberry.field(
        description="in_person, remote or hybrid; null when it was not recorded."
    )

    @classmethod
    def from_row(cls, row: RowMapping) -> Activity:
        return cls(
            id=strawberry.ID(row.activity_id),
            project_id=strawberry.ID(row.project_id),
            lab=row.lab,
            kind=row.kind,
            title=row.title,
            held_on=row.held_on,
            participants=row.participants,
            mode=row.mode,
        )

    @field(graphql_type="Project | None")
    def project(self, info: GraphInfo) -> Project | Awaitable[Project | None] | None:
        return info.context.resolve("project", str(self.project_id), _project)


@strawberry.type
class FundingLine:
    """Money committed by one source to one project for one fiscal year."""

    project_id: strawberry.ID
    source: str
    fiscal_year: int
    amount_cents: BigInt
    commitments: int

    @classmethod
    def from_row(cls, row: RowMapping) -> FundingLine:
        return cls(
            project_id=strawberry.ID(row.project_id),
            source=row.source,
            fiscal_year=row.fiscal_year,
            amount_cents=row.amount_cents,
            commitments=row.commitments,
        )

    @field(graphql_type="Project | None")
    def project(self, info: GraphInfo) -> Project | Awaitable[Project | None] | None:
        return info.context.resolve("project", str(self.project_id), _project)


@strawberry.type
class Indicator:
    """An indicator with its latest measurement."""

    id: strawberry.ID
    name: str
    unit: str
    baseline: float
    target: float
    value: float | None
    measured_on: date | None


@strawberry.type
class Project:
    """A project as the dashboards see it (from the projections)."""

    row: strawberry.Private[RowMapping]
    id: strawberry.ID
    lab_slug: str
    title: str
    summary: str
    phase: PhaseEnum  # type: ignore[valid-type]
    phase_label: str
    phase_since: date
    health: HealthEnum  # type: ignore[valid-type]
    status: StatusEnum  # type: ignore[valid-type]
    outcome: str | None
    themes: list[str]
    territories: list[Territory]
    started_on: date
    registered_on: date
    closed_on: date | None
    milestones_planned: int
    milestones_open: int
    milestones_achieved: int
    milestones_cancelled: int
    activity_count: int
    participant_count: int
    partner_count: int
    decision_count: int
    funding_cents: BigInt
    last_activity_on: date | None
    version: int
    updated_at: datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> Project:
        return cls(
            row=row,
            id=strawberry.ID(row.id),
            lab_slug=row.lab,
            title=row.title,
            summary=row.summary,
            phase=Phase(row.phase),
            phase_label=Phase(row.phase).label,
            phase_since=row.phase_since,
            health=Health(row.health),
            status=Status(row.status),
            outcome=row.outcome,
            themes=list(row.themes),
            territories=[
                Territory(
                    level=t["level"],
                    code=t["code"],
                    cog_year=t["cog_year"],
                    name=territory_name(t["level"], t["code"], t["cog_year"]),
                )
                for t in row.territories
            ],
            started_on=row.started_on,
            registered_on=row.registered_on,
            closed_on=row.closed_on,
            milestones_planned=row.milestones_planned,
            milestones_open=row.milestones_open,
            milestones_achieved=row.milestones_achieved,
            milestones_cancelled=row.milestones_cancelled,
            activity_count=row.activities,
            participant_count=row.participants,
            partner_count=row.partners,
            decision_count=row.decisions,
            funding_cents=row.funding_cents,
            last_activity_on=row.last_activity_on,
            version=row.version,
            updated_at=when(row.updated_at),
        )

    # The related rows' resolvers are synchronous: a root resolver that read them ahead
    # (tracker/graphql/schema.py) lets `Context.resolve` answer at once; otherwise it
    # returns the DataLoader's awaitable (one batched statement per kind, per level).

    @field(graphql_type=Lab | None)
    def lab(self, info: GraphInfo) -> Lab | Awaitable[Lab | None] | None:
        return info.context.resolve("lab", self.row.lab, _lab)

    @field(description="The planned milestone due first.", graphql_type=Milestone | None)
    def next_milestone(self, info: GraphInfo) -> Milestone | Awaitable[Milestone | None] | None:
        if self.row.next_milestone_id is None:
            return None
        today = info.context.today
        return info.context.resolve(
            "milestone",
            (self.row.id, self.row.next_milestone_id),
            lambda row: Milestone.from_row(row, today) if row else None,
        )

    @field(description="Every milestone, by due date.", graphql_type=list[Milestone])
    def milestones(self, info: GraphInfo) -> list[Milestone] | Awaitable[list[Milestone]]:
        today = info.context.today
        return info.context.resolve(
            "milestones", self.row.id, lambda rows: [Milestone.from_row(r, today) for r in rows]
        )

    @field(description="Planned milestones due before today.", graphql_type=int)
    def milestones_overdue(self, info: GraphInfo) -> int | Awaitable[int]:
        today = info.context.today
        return info.context.resolve(
            "milestones",
            self.row.id,
            lambda rows: sum(
                1 for r in rows if r.status == MilestoneStatus.PLANNED and r.due_on < today
            ),
        )

    @field(graphql_type=list[PhasePeriod])
    def phase_periods(self, info: GraphInfo) -> list[PhasePeriod] | Awaitable[list[PhasePeriod]]:
        return info.context.resolve(
            "phase_periods",
            self.row.id,
            lambda rows: [
                PhasePeriod(
                    phase=Phase(r.phase),
                    entered_on=r.entered_on,
                    left_on=r.left_on,
                    decision=r.decision,
                )
                for r in rows
            ],
        )

    @field(graphql_type=list[Activity])
    def activities(self, info: GraphInfo) -> list[Activity] | Awaitable[list[Activity]]:
        return info.context.resolve(
            "activities",
            self.row.id,
            lambda rows: [Activity.from_row(r) for r in rows],
        )

    @field(graphql_type=list[FundingLine])
    def funding(self, info: GraphInfo) -> list[FundingLine] | Awaitable[list[FundingLine]]:
        return info.context.resolve(
            "funding", self.row.id, lambda rows: [FundingLine.from_row(r) for r in rows]
        )

    @field(graphql_type=list[Indicator])
    def indicators(self, info: GraphInfo) -> list[Indicator] | Awaitable[list[Indicator]]:
        return info.context.resolve(
            "indicators",
            self.row.id,
            lambda rows: [
                Indicator(
                    id=strawberry.ID(r.indicator_id),
                    name=r.name,
                    unit=r.unit,
                    baseline=r.baseline,
                    target=r.target,
                    value=r.value,
                    measured_on=r.measured_on,
                )
                for r in rows
            ],
        )


@strawberry.type(name="Event")
class FeedEvent:
    """One line of the activity feed: an event, who, when, and a summary in French."""

    position: int
    type: str
    project_id: strawberry.ID | None
    lab: str | None
    version: int
    actor: str
    occurred_on: date
    recorded_at: datetime
    summary: str

    @classmethod
    def from_row(cls, row: RowMapping) -> FeedEvent:
        return cls(
            position=row.position,
            type=row.event_type,
            project_id=strawberry.ID(row.project_id) if row.project_id else None,
            lab=row.lab,
            version=row.version,
            actor=row.actor,
            occurred_on=row.occurred_on,
            recorded_at=when(row.recorded_at),
            summary=row.summary,
        )


# -- Relay connections ---------------------------------------------------------------------


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int

    @classmethod
    def of(cls, nodes: list[tuple[str, T]], has_next: bool, total: int) -> Connection[T]:
        return cls(
            edges=[Edge(cursor=c, node=n) for c, n in nodes],
            page_info=PageInfo(has_next_page=has_next, end_cursor=nodes[-1][0] if nodes else None),
            total_count=total,
        )


# -- portfolio -------------------------------------------------------------------------------


@strawberry.type
class Count:
    """How many projects share a key (a phase, a health, a lab, a territory, a theme)."""

    key: str
    label: str | None
    count: int
    name: str | None = strawberry.field(
        default=None,
        description="In byTerritory: the territory's name in the newest COG year that names"
        " it (the roll-up groups a code across COG years); null elsewhere, or when unknown.",
    )


@strawberry.type
class MilestoneFigures:
    open: int
    due_soon: int = strawberry.field(description="Planned and due within `dueWithinDays`.")
    overdue: int
    slipped: int = strawberry.field(description="Rescheduled later than first planned.")
    achieved: int


@strawberry.type
class MonthFigures:
    month: str
    activities: int
    participants: int


@strawberry.type
class YearFunding:
    year: int
    amount_cents: BigInt


@strawberry.type
class Portfolio:
    total: int
    by_phase: list[Count]
    by_health: list[Count]
    by_status: list[Count]
    by_lab: list[Count]
    by_territory: list[Count]
    by_theme: list[Count]
    milestones: MilestoneFigures
    activities_by_month: list[MonthFigures]
    funding_by_year: list[YearFunding]


def counts(pairs: list[tuple[str, int]], labels: dict[str, str] | None = None) -> list[Count]:
    return [Count(key=k, label=(labels or {}).get(k), count=n) for k, n in pairs]


def territory_counts(rows: list[tuple[str, str, int]]) -> list[Count]:
    """byTerritory: (code, level, count) rows, each with its level and newest name."""
    return [
        Count(key=code, label=level, count=n, name=newest_name(level, code))
        for code, level, n in rows
    ]


def phase_labels() -> dict[str, Any]:
    return {p.value: p.label for p in Phase}


# -- comparing two dates (docs/time.md) -------------------------------------------------------


@strawberry.type
class MilestoneChange:
    """A milestone's change between the two dates."""

    milestone_id: strawberry.ID
    title: str
    change: str = strawberry.field(
        description="planned, slipped, brought_forward, achieved or cancelled."
    )
    days: int = strawberry.field(description="How far the due date moved (slipped: positive).")


@strawberry.type
class ProjectChanges:
    """One project's changes between the two dates."""

    project_id: strawberry.ID
    title: str
    lab: str
    opened: bool
    closed: bool
    reopened: bool
    phase_before: str | None
    phase_after: str | None
    phases_entered: list[str]
    phases_left: list[str]
    health_before: str | None
    health_after: str | None
    milestones: list[MilestoneChange]


@strawberry.type
class PhaseMoves:
    """How many projects entered and left a phase between the two dates."""

    phase: str
    entered: int
    left: int


@strawberry.type
class ChangeTotals:
    opened: int
    closed: int
    reopened: int
    health_changed: int
    milestones_planned: int
    milestones_slipped: int
    days_slipped: int
    milestones_achieved: int
    milestones_cancelled: int


@strawberry.type
class TrainingChange:
    """One training action's changes between the two dates."""

    training_id: strawberry.ID
    title: str
    lab: str
    status_before: str | None = strawberry.field(
        description="null when it was not scheduled yet on the first date"
    )
    status_after: str
    scheduled: bool
    held: bool
    cancelled: bool
    rescheduled: bool = strawberry.field(description="its sessions moved in between")
    first_session_before: date | None
    first_session_after: date
    agents_trained: int = strawberry.field(description="its attendance, when held in between")


@strawberry.type
class TrainingChanges:
    """The training actions scheduled, held, cancelled and rescheduled between the two
    dates (of the filter's lab: the other project criteria do not apply to actions)."""

    scheduled: int
    held: int
    cancelled: int
    rescheduled: int
    agents_trained: int
    actions: list[TrainingChange]


@strawberry.type
class PortfolioChanges:
    """What changed in a filtered portfolio between two business dates, as known now."""

    from_: date = strawberry.field(name="from")
    to: date
    totals: ChangeTotals
    phases: list[PhaseMoves]
    project_count: int = strawberry.field(
        description="How many projects changed (`projects` lists the `first` of them)."
    )
    projects: list[ProjectChanges]
    trainings: TrainingChanges


@strawberry.type
class KnowledgeChange:
    """An event recorded in the window about a business date up to `upTo`: a late-logged
    fact or a correction, with who recorded it and why."""

    position: int
    type: str
    project_id: strawberry.ID | None
    lab: str | None
    occurred_on: date
    recorded_at: datetime
    actor: str
    reason: str | None
    summary: str
