"""The dashboards' schema (docs/api.md): queries over the read models, limits, error codes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any

import strawberry
import structlog
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.permission import BasePermission
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, Info
from strawberry.types.nodes import SelectedField, Selection

from domain.values import ActivityKind, Health, MilestoneStatus, Phase, Status
from projections import queries as reads
from tracker.audit.history import reasons_at
from tracker.config.settings import Settings
from tracker.graphql.audit import AuditQuery
from tracker.graphql.context import Context
from tracker.graphql.training import (
    Campaign,
    Training,
    TrainingFilter,
    TrainingProgramme,
    programme,
    training_connection,
)
from tracker.graphql.types import (
    BIG_INT,
    Activity,
    ActivityKindEnum,
    BigInt,
    ChangeTotals,
    Connection,
    FeedEvent,
    FundingLine,
    HealthEnum,
    KnowledgeChange,
    Lab,
    Milestone,
    MilestoneChange,
    MilestoneFigures,
    MilestoneStatusEnum,
    MonthFigures,
    PhaseEnum,
    PhaseMoves,
    Portfolio,
    PortfolioChanges,
    Project,
    ProjectChanges,
    StatusEnum,
    TrainingChange,
    TrainingChanges,
    YearFunding,
    counts,
    field,
    phase_labels,
    territory_counts,
)

GraphInfo = Info[Context, None]

MAX_DEPTH = 10
MAX_TOKENS = 2000
MAX_ALIASES = 30
# Distinct query texts whose parsed document and validation result are kept (LRU, shared
# by every request): dashboards send a handful of fixed queries, so parsing and validating
# are paid once per text, not once per request. Bounded, so unique texts cannot grow memory.
QUERY_CACHE_SIZE = 256
# The limiters' validation rules, built once: `ValidationCache` keys on the rule classes,
# and `QueryDepthLimiter(...)`/`MaxAliasesLimiter(...)` create a new class per instance, so
# per-request limiter instances would never hit the cache. The rules still run on every
# new query text (a cached result is the rules' own verdict, rejections included).
LIMIT_RULES = (
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
)
# Codes a client may read and act on; anything else is masked as an internal error.
PUBLIC_CODES = frozenset(
    {
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "BAD_USER_INPUT",
        "NOT_FOUND",
        "PROJECTION_LAG",
        "NOT_IMPLEMENTED",
    }
)


class ClientError(GraphQLError):
    """An error the client caused or must act on, with its `extensions.code`."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, extensions={"code": code})


def bad_input(error: Exception) -> ClientError:
    return ClientError(str(error), "BAD_USER_INPUT")


# -- time travel (docs/time.md) ----------------------------------------------------------------

OnArgument = Annotated[
    date | None,
    strawberry.argument(
        description="The state on this business date: the events dated on or before it."
    ),
]
AsKnownAtArgument = Annotated[
    datetime | None,
    strawberry.argument(
        description="The state as known at this instant: the events recorded up to then.",
        name="asKnownAt",
    ),
]
AsOfArgument = Annotated[
    datetime | None,
    strawberry.argument(description="An alias of asKnownAt (kept for older clients)."),
]


def time_slice(
    on: date | None, as_known_at: datetime | None, as_of: datetime | None = None
) -> reads.Tables:
    """The tables a root field reads: the live ones, or the timeline's slice."""
    if as_of is not None and as_known_at is not None and as_of != as_known_at:
        raise ClientError("asOf is an alias of asKnownAt: give one of them", "BAD_USER_INPUT")
    known_at = as_known_at if as_known_at is not None else as_of
    if on is None and known_at is None:
        return reads.LIVE
    return reads.sliced(on, known_at)


def training_time_slice(on: date | None, as_known_at: datetime | None) -> reads.TrainingTables:
    """The training tables a root field reads: the live ones, or the training timeline's
    slice (docs/time.md)."""
    if on is None and as_known_at is None:
        return reads.TRAINING_LIVE
    return reads.training_sliced(on, as_known_at)


def training_changes(actions: list[reads.TrainingChange]) -> TrainingChanges:
    """The training side of `portfolioChanges`: totals and one line per action."""
    return TrainingChanges(
        scheduled=sum(a.scheduled for a in actions),
        held=sum(a.held for a in actions),
        cancelled=sum(a.cancelled for a in actions),
        rescheduled=sum(a.rescheduled for a in actions),
        agents_trained=sum(a.agents_trained for a in actions),
        actions=[
            TrainingChange(
                training_id=strawberry.ID(a.training_id),
                title=a.title,
                lab=a.lab,
                status_before=a.status_before,
                status_after=a.status_after,
                scheduled=a.scheduled,
                held=a.held,
                cancelled=a.cancelled,
                rescheduled=a.rescheduled,
                first_session_before=a.first_session_before,
                first_session_after=a.first_session_after,
                agents_trained=a.agents_trained,
            )
            for a in actions
        ],
    )


def day_asked(context: Context, on: date | None, known_at: datetime | None) -> date:
    """The day "overdue" counts from for this question (`reads.day_of`)."""
    return reads.day_of(on, known_at, context.today, context.services.settings.zone)


class CanRead(BasePermission):
    """Any valid token reads; a request refused by its context (token, lag) reads nothing."""

    message = "not authenticated"

    def has_permission(self, source: Any, info: GraphInfo, **kwargs: Any) -> bool:
        refusal = info.context.refusal
        if refusal is None:
            return True
        self.message = refusal.message
        self.error_extensions = {"code": refusal.code}
        return False


class ErrorCodes(SchemaExtension):
    """Give every error an `extensions.code`: syntax and validation errors are the client's
    (BAD_USER_INPUT); an error without a code is an internal one (and MaskErrors hides it)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None) or self.execution_context.pre_execution_errors
        for error in errors or ():
            if error.extensions and error.extensions.get("code"):
                continue
            code = "BAD_USER_INPUT" if error.original_error is None else "INTERNAL_SERVER_ERROR"
            error.extensions = {**(error.extensions or {}), "code": code}


class CachedParser(ParserCache):
    """Strawberry's `ParserCache`, except that a document that fails to parse (a syntax
    error, a token bomb) is left to Strawberry's own parse: the error then takes the usual
    path (a pre-execution error that `ErrorCodes` marks BAD_USER_INPUT) instead of
    escaping from the extension's hook. Failures are never cached, so the cost is the same."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        with contextlib.suppress(GraphQLError):
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        yield


class MaskInternalErrors(MaskErrors):
    """Hide internal errors' reasons (docs/design-notes.md §12: keep the clients' own mistakes)."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=should_mask_error, error_message="Unexpected error.")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_SERVER_ERROR"}
        return masked


log = structlog.get_logger("tracker.graphql")


def is_client_error(error: GraphQLError) -> bool:
    """The client's mistake (a syntax or validation error, a bad variable, a refused token,
    a bad cursor, `first: 1000`), as opposed to a fault of the server."""
    original = error.original_error
    if original is None:
        return True  # syntax, validation: graphql-core's own verdict on the document
    if isinstance(original, GraphQLError):
        return (original.extensions or {}).get("code") in PUBLIC_CODES
    # A variable that does not coerce (an Int out of range, a bad BigInt) fails outside any
    # resolver, with the scalar's ValueError or TypeError.
    return error.path is None and isinstance(original, ValueError | TypeError)


def _code(error: GraphQLError) -> str:
    for carrier in (error, error.original_error):
        code = (getattr(carrier, "extensions", None) or {}).get("code")
        if code:
            return str(code)
    return "BAD_USER_INPUT"


class TrackerSchema(strawberry.Schema):
    """Strawberry's schema, logging the clients' mistakes at INFO without a traceback and
    the server's faults at ERROR with one (Strawberry logs every error at ERROR)."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            path = list(error.path) if error.path else None
            if is_client_error(error):
                log.info(
                    "graphql_client_error", message=error.message, code=_code(error), path=path
                )
            else:
                log.error(
                    "graphql_error", message=error.message, path=path, exc_info=error.original_error
                )


def should_mask_error(error: GraphQLError) -> bool:
    code = (error.extensions or {}).get("code")
    return code not in PUBLIC_CODES


# -- reading nested fields ahead -----------------------------------------------------------

# A project's fields that read related rows, and the loader (`reads.PROJECT_RELATIONS`)
# each goes through.
PROJECT_FIELD_LOADERS = {
    "lab": "lab",
    "nextMilestone": "milestone",
    "milestones": "milestones",
    "milestonesOverdue": "milestones",
    "phasePeriods": "phase_periods",
    "activities": "activities",
    "funding": "funding",
    "indicators": "indicators",
}


def selected(selections: list[Selection], *path: str) -> list[SelectedField] | None:
    """The fields selected under `path` (field names; fragments looked through), or None
    when `path` itself is not selected."""
    fields = _flat(selections)
    if not path:
        return fields
    found: list[SelectedField] | None = None
    for field_ in fields:
        if field_.name == path[0]:
            inner = selected(field_.selections, *path[1:])
            if inner is not None:
                found = [*(found or []), *inner]
    return found


def _flat(selections: list[Selection]) -> list[SelectedField]:
    fields: list[SelectedField] = []
    for selection in selections:
        if isinstance(selection, SelectedField):
            fields.append(selection)
        else:
            fields += _flat(selection.selections)
    return fields


def project_loaders(fields: list[SelectedField] | None) -> set[str]:
    """The loaders a project's selected `fields` will use."""
    return {PROJECT_FIELD_LOADERS[f.name] for f in fields or () if f.name in PROJECT_FIELD_LOADERS}


# -- inputs ------------------------------------------------------------------------------


@strawberry.input
class ProjectFilter:
    lab: str | None = None
    phase: PhaseEnum | None = None  # type: ignore[valid-type]
    health: HealthEnum | None = None  # type: ignore[valid-type]
    status: StatusEnum | None = None  # type: ignore[valid-type]
    theme: str | None = None
    territory: str | None = strawberry.field(
        default=None,
        description="A COG code; a department's code also matches its communes.",
    )
    text: str | None = strawberry.field(default=None, description="Words in the title.")

    def query(self) -> reads.ProjectQuery:
        return reads.ProjectQuery(
            lab=self.lab,
            phase=Phase(self.phase).value if self.phase else None,
            health=Health(self.health).value if self.health else None,
            status=Status(self.status).value if self.status else None,
            theme=self.theme,
            territory=self.territory,
            text=self.text,
        )


@strawberry.input
class MilestoneFilter:
    project: ProjectFilter | None = strawberry.field(
        default=None, description="Milestones of the projects this filter keeps."
    )
    project_id: strawberry.ID | None = None
    status: MilestoneStatusEnum | None = None  # type: ignore[valid-type]
    due_within_days: int | None = strawberry.field(
        default=None, description="Planned and due between today and today + N days."
    )
    overdue: bool | None = None
    slipped: bool | None = strawberry.field(
        default=None, description="Rescheduled later than first planned."
    )

    def query(self) -> reads.MilestoneQuery:
        return reads.MilestoneQuery(
            projects=self.project.query() if self.project else None,
            project_id=str(self.project_id) if self.project_id else None,
            status=MilestoneStatus(self.status).value if self.status else None,
            due_within_days=self.due_within_days,
            overdue=self.overdue,
            slipped=self.slipped,
        )


@strawberry.input
class ActivityFilter:
    project: ProjectFilter | None = strawberry.field(
        default=None, description="Activities of the projects this filter keeps."
    )
    project_id: strawberry.ID | None = None
    kind: ActivityKindEnum | None = None  # type: ignore[valid-type]
    from_: date | None = strawberry.field(
        default=None, name="from", description="Held on or after this date."
    )
    to: date | None = strawberry.field(default=None, description="Held on or before this date.")

    def query(self) -> reads.ActivityQuery:
        return reads.ActivityQuery(
            projects=self.project.query() if self.project else None,
            project_id=str(self.project_id) if self.project_id else None,
            kind=ActivityKind(self.kind).value if self.kind else None,
            held_from=self.from_,
            held_to=self.to,
        )


@strawberry.input
class FundingFilter:
    project: ProjectFilter | None = strawberry.field(
        default=None, description="Funding of the projects this filter keeps."
    )
    fiscal_year: int | None = None

    def query(self) -> reads.FundingQuery:
        return reads.FundingQuery(
            projects=self.project.query() if self.project else None,
            fiscal_year=self.fiscal_year,
        )


# -- queries -------------------------------------------------------------------------------


@strawberry.type
class Query(AuditQuery):
    @field(permission_classes=[CanRead], description="One project, or null.")
    async def project(
        self,
        info: GraphInfo,
        id: strawberry.ID,
        on: OnArgument = None,
        as_known_at: AsKnownAtArgument = None,
    ) -> Project | None:
        context = info.context
        tables = time_slice(on, as_known_at)
        if tables is reads.LIVE:
            row = await context.loaders.project.load(str(id))
            return Project.from_row(row) if row else None
        # In the past: the row and what its fields read, from the same slice, at once.
        wanted = project_loaders(selected(info.selected_fields, "project"))
        row, related = await context.run(
            reads.project_with, context.engine, str(id), wanted, tables
        )
        context.remember(related)
        return Project.from_row(row) if row else None

    @field(permission_classes=[CanRead], description="Projects in registration order (Relay).")
    async def projects(
        self,
        info: GraphInfo,
        filter: ProjectFilter | None = None,
        first: int = 20,
        after: str | None = None,
        on: OnArgument = None,
        as_known_at: AsKnownAtArgument = None,
    ) -> Connection[Project]:
        context = info.context
        tables = time_slice(on, as_known_at)
        # The page and the rows its nodes' fields ask for (labs, next milestones…): one
        # worker-thread call on one connection, then those fields resolve synchronously.
        wanted = project_loaders(selected(info.selected_fields, "projects", "edges", "node"))
        try:
            page, related = await context.run(
                reads.project_page_with,
                context.engine,
                filter.query() if filter else None,
                first,
                after,
                wanted,
                tables,
            )
        except reads.BadInput as error:
            raise bad_input(error) from None
        context.remember(related)
        context.remember({"project": {row.id: row for row in page.rows}})
        if tables is reads.LIVE:  # prime the loader: `project(id)` elsewhere costs nothing
            for row in page.rows:
                context.loaders.project.prime(row.id, row)
        nodes = [
            (reads.encode_cursor(r.registered_position), Project.from_row(r)) for r in page.rows
        ]
        return Connection.of(nodes, page.has_next, page.total)

    @field(
        permission_classes=[CanRead],
        description="Milestones by due date (Relay): due soon, overdue, slipped…",
    )
    async def milestones(
        self,
        info: GraphInfo,
        filter: MilestoneFilter | None = None,
        first: int = 20,
        after: str | None = None,
        on: OnArgument = None,
        as_known_at: AsKnownAtArgument = None,
    ) -> Connection[Milestone]:
        context = info.context
        tables = time_slice(on, as_known_at)
        today = day_asked(context, on, as_known_at)
        # The page, and its projects with their related rows if `project` is asked for:
        # one worker-thread call on one connection (as `projects`).
        project_fields = selected(info.selected_fields, "milestones", "edges", "node", "project")
        wanted = None if project_fields is None else project_loaders(project_fields)
        try:
            page, related = await context.run(
                reads.milestone_page_with,
                context.engine,
                filter.query() if filter else None,
                today,
                first,
                after,
                wanted,
                tables,
            )
        except reads.BadInput as error:
            raise bad_input(error) from None
        context.remember(related)
        nodes = [
            (
                reads.encode_cursor(r.due_on, r.project_id, r.milestone_id),
                Milestone.from_row(r, today),
            )
            for r in page.rows
        ]
        return Connection.of(nodes, page.has_next, page.total)

    @field(
        permission_classes=[CanRead],
        description="The projects' activities, the latest held first (Relay).",
    )
    async def activities(
        self,
        info: GraphInfo,
        filter: ActivityFilter | None = None,
        first: int = 20,
        after: str | None = None,
        on: OnArgument = None,
        as_known_at: AsKnownAtArgument = None,
    ) -> Connection[Activity]:
        context = info.context
        tables = time_slice(on, as_known_at)
        # The page, and its projects with their related rows if `project` is asked for:
        # one worker-thread call on one connection (as `milestones`).
        project_fields = selected(info.selected_fields, "activities", "edges", "node", "project")
        wanted = None if project_fields is None else project_loaders(project_fields)
        try:
            page, related = await context.run(
                reads.activity_page_with,
                context.engine,
                filter.query() if filter else None,
                first,
                after,
                wanted,
                tables,
            )
        except reads.BadInput as error:
            raise bad_input(error) from None
        context.remember(related)
        nodes = [(reads.activity_cursor(r), Activity.from_row(r)) for r in page.rows]
        return Connection.of(nodes, page.has_next, page.total)

    @field(
        permission_classes=[CanRead],
        description="Funding lines (one source, one project, one fiscal year) by fiscal year, "
        "then project and source (Relay): the list behind `portfolio.fundingByYear`.",
    )
    async def funding(
        self,
        info: GraphInfo,
        filter: FundingFilter | None = None,
        first: int = 20,
        after: str | None = None,
        on: OnArgument = None,
        as_known_at: AsKnownAtArgument = None,
    ) -> Connection[FundingLine]:
        context = info.context
        tables = time_slice(on, as_known_at)
        try:
            page = await context.run(
                reads.funding_page,
                context.engine,
                filter.query() if filter else None,
                first,
                after,
                tables,
            )
        except reads.BadInput as error:
            raise bad_input(error) from None
        wanted = selected(info.selected_fields, "funding", "edges", "node", "project")
        if page.rows and wanted is not None:
            # The lines' projects as they were on the slice asked (the loader reads today's).
            ids = sorted({r.project_id for r in page.rows})
            found = await context.run(reads.projects_by_id, context.engine, ids, tables)
            context.remember({"project": dict(zip(ids, found, strict=True))})
        nodes = [
            (reads.encode_cursor(r.fiscal_year, r.project_id, r.source), FundingLine.from_row(r))
            for r in page.rows
        ]
        return Connection.of(nodes, page.has_next, page.total)

    @field(permission_classes=[CanRead], description="The activity feed, newest first (Relay).")
    async def activity(
        self,
        info: GraphInfo,
        project_id: strawberry.ID | None = None,
        since: datetime | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[FeedEvent]:
        context = info.context
        try:
            page = await context.run(
                reads.feed_page,
                context.engine,
                str(project_id) if project_id else None,
                since,
                first,
                after,
            )
        except reads.BadInput as error:
            raise bad_input(error) from None
        nodes = [(reads.encode_cursor(r.position), FeedEvent.from_row(r)) for r in page.rows]
        return Connection.of(nodes, page.has_next, page.total)

    @field(permission_classes=[CanRead], description="Roll-ups of the filtered portfolio.")
    async def portfolio(
        self,
        info: GraphInfo,
        filter: ProjectFilter | None = None,
        on: OnArgument = None,
        as_known_at: AsKnownAtArgument = None,
        as_of: AsOfArgument = None,
        due_within_days: int = 30,
    ) -> Portfolio:
        """Overdue and due soon count from the day asked for (`on`, else the day of
        `asKnownAt`), not today: what the dashboard showed on that day."""
        context = info.context
        query = filter.query() if filter else None
        tables = time_slice(on, as_known_at, as_of)
        today = day_asked(context, on, as_known_at or as_of)
        try:
            figures = await context.run(
                reads.portfolio, context.engine, query, today, due_within_days, tables
            )
        except reads.BadInput as error:
            raise bad_input(error) from None
        return Portfolio(
            total=figures.total,
            by_phase=counts(figures.by_phase, phase_labels()),
            by_health=counts(figures.by_health),
            by_status=counts(figures.by_status),
            by_lab=counts(figures.by_lab),
            by_territory=territory_counts(figures.by_territory),
            by_theme=counts(figures.by_theme),
            milestones=MilestoneFigures(
                open=figures.milestones_open,
                due_soon=figures.milestones_due_soon,
                overdue=figures.milestones_overdue,
                slipped=figures.milestones_slipped,
                achieved=figures.milestones_achieved,
            ),
            activities_by_month=[
                MonthFigures(month=m, activities=a, participants=p)
                for m, a, p in figures.activities_by_month
            ],
            funding_by_year=[
                YearFunding(year=y, amount_cents=BigInt(c)) for y, c in figures.funding_by_year
            ],
        )

    @field(
        permission_classes=[CanRead],
        description="What changed in the filtered portfolio between two business dates.",
    )
    async def portfolio_changes(
        self,
        info: GraphInfo,
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
        filter: ProjectFilter | None = None,
        first: Annotated[
            int | None,
            strawberry.argument(
                description="List only the first projects that changed (0 to 100, in"
                " registration order); `totals`, `phases` and `projectCount` count them all."
            ),
        ] = None,
    ) -> PortfolioChanges:
        context = info.context
        try:
            if first is not None:
                reads.check_first(first)
            changes = await context.run(
                reads.portfolio_changes,
                context.engine,
                filter.query() if filter else None,
                from_,
                to,
            )
            actions = await context.run(
                reads.training_changes, context.engine, filter.lab if filter else None, from_, to
            )
        except reads.BadInput as error:
            raise bad_input(error) from None
        phases: dict[str, list[int]] = {p.value: [0, 0] for p in Phase}
        for project in changes.projects:
            for phase in project.phases_entered:
                phases[phase][0] += 1
            for phase in project.phases_left:
                phases[phase][1] += 1
        slipped = changes.milestones("slipped")
        return PortfolioChanges(
            from_=from_,
            to=to,
            totals=ChangeTotals(
                opened=changes.count(lambda p: p.opened),
                closed=changes.count(lambda p: p.closed),
                reopened=changes.count(lambda p: p.reopened),
                health_changed=changes.count(
                    lambda p: p.health_before is not None and p.health_before != p.health_after
                ),
                milestones_planned=len(changes.milestones("planned")),
                milestones_slipped=len(slipped),
                days_slipped=sum(m.days for m in slipped),
                milestones_achieved=len(changes.milestones("achieved")),
                milestones_cancelled=len(changes.milestones("cancelled")),
            ),
            phases=[
                PhaseMoves(phase=phase, entered=moves[0], left=moves[1])
                for phase, moves in phases.items()
                if moves != [0, 0]
            ],
            project_count=len(changes.projects),
            projects=[
                ProjectChanges(
                    project_id=strawberry.ID(p.project_id),
                    title=p.title,
                    lab=p.lab,
                    opened=p.opened,
                    closed=p.closed,
                    reopened=p.reopened,
                    phase_before=p.phase_before,
                    phase_after=p.phase_after,
                    phases_entered=p.phases_entered,
                    phases_left=p.phases_left,
                    health_before=p.health_before,
                    health_after=p.health_after,
                    milestones=[
                        MilestoneChange(
                            milestone_id=strawberry.ID(m.milestone_id),
                            title=m.title,
                            change=m.change,
                            days=m.days,
                        )
                        for m in p.milestones
                    ],
                )
                for p in (changes.projects if first is None else changes.projects[:first])
            ],
            trainings=training_changes(actions),
        )

    @field(
        permission_classes=[CanRead],
        description="What was recorded between two instants about business dates up to"
        " `upTo` (default: the day of `from`): late-logged facts and corrections;"
        " one project's only when `projectId` is given.",
    )
    async def knowledge_changes(
        self,
        info: GraphInfo,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
        up_to: date | None = None,
        first: int = 100,
        project_id: strawberry.ID | None = None,
    ) -> list[KnowledgeChange]:
        context = info.context
        up_to = up_to or reads.instant(from_).astimezone(context.services.settings.zone).date()
        try:
            rows = await context.run(
                reads.knowledge_changes,
                context.engine,
                from_,
                to,
                up_to,
                first,
                str(project_id) if project_id is not None else None,
            )
        except reads.BadInput as error:
            raise bad_input(error) from None
        reasons = await context.run(
            reasons_at, context.services.application, [r.position for r in rows]
        )
        return [
            KnowledgeChange(
                position=r.position,
                type=r.event_type,
                project_id=strawberry.ID(r.project_id) if r.project_id else None,
                lab=r.lab,
                occurred_on=r.occurred_on,
                recorded_at=reads.instant(r.recorded_at),
                actor=r.actor,
                reason=reasons.get(r.position),
                summary=r.summary,
            )
            for r in rows
        ]

    @field(permission_classes=[CanRead], description="Every lab, by slug.")
    async def labs(self, info: GraphInfo) -> list[Lab]:
        rows = await info.context.run(reads.all_labs, info.context.engine)
        return [Lab.from_row(r) for r in rows]

    # -- the training programme (CONTRACT §5) ----------------------------------------------

    @field(
        permission_classes=[CanRead],
        description="Training actions by first session date (Relay).",
    )
    async def trainings(
        self,
        info: GraphInfo,
        filter: TrainingFilter | None = None,
        first: int = 20,
        after: str | None = None,
        on: OnArgument = None,
        as_known_at: AsKnownAtArgument = None,
    ) -> Connection[Training]:
        return await training_connection(
            info.context,
            filter.query() if filter else None,
            first,
            after,
            training_time_slice(on, as_known_at),
        )

    @field(
        permission_classes=[CanRead],
        description="Roll-ups of the filtered training actions: by status, lab, format, mode,"
        " year, month, campaign and audience; agents trained; the share held online.",
    )
    async def training_programme(
        self,
        info: GraphInfo,
        filter: TrainingFilter | None = None,
        on: OnArgument = None,
        as_known_at: AsKnownAtArgument = None,
    ) -> TrainingProgramme:
        """On a business date, as known at an instant, or both (docs/time.md): the
        training timeline's slice; neither: the live roll-ups."""
        return await programme(
            info.context,
            filter.query() if filter else None,
            training_time_slice(on, as_known_at),
        )

    @field(permission_classes=[CanRead], description="One campaign by its slug, or null.")
    async def campaign(self, info: GraphInfo, slug: str) -> Campaign | None:
        row = await info.context.run(reads.campaign_by_slug, info.context.engine, slug)
        return Campaign.from_row(row) if row else None


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema with its limits; introspection off in production."""
    # Factories, so that each request gets fresh extension instances. The limiters come
    # before the caches: their `on_operation` sets the parser's token limit and the
    # validation rules that the caches key on (a token bomb fails to parse, and failures
    # are never cached).
    extensions: list[Any] = [
        lambda: AddValidationRules(list(LIMIT_RULES)),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: CachedParser(maxsize=QUERY_CACHE_SIZE),
        lambda: ValidationCache(maxsize=QUERY_CACHE_SIZE),
        MaskInternalErrors,
        ErrorCodes,
    ]
    if settings.is_production:
        extensions.insert(0, DisableIntrospection)
    return TrackerSchema(
        query=Query,
        extensions=extensions,
        config=StrawberryConfig(scalar_map={BigInt: BIG_INT}),
    )
