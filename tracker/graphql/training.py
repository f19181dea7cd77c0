"""GraphQL types of the training programme (CONTRACT §5): actions, roll-ups, campaigns.

Built from the `training` read model's rows (projections/queries.py); the root fields
`trainings`, `trainingProgramme` and `campaign` live on `Query` (tracker/graphql/schema.py).
"""

from __future__ import annotations

from datetime import date

import strawberry
from graphql import GraphQLError
from sqlalchemy import Engine, RowMapping
from strawberry.types import Info

from domain.values import (
    ACTIVITY_MODE_LABELS,
    ActivityMode,
    Audience,
    TrainingFormat,
    TrainingStatus,
)
from projections import queries as reads
from projections.cog import newest_name
from tracker.graphql.context import Context
from tracker.graphql.types import Connection, field

GraphInfo = Info[Context, None]

TrainingFormatEnum = strawberry.enum(TrainingFormat, name="TrainingFormat")
TrainingStatusEnum = strawberry.enum(TrainingStatus, name="TrainingStatus")
AudienceEnum = strawberry.enum(Audience, name="Audience")
ActivityModeEnum = strawberry.enum(ActivityMode, name="ActivityMode")


@strawberry.input
class TrainingFilter:
    lab: str | None = None
    format: TrainingFormatEnum | None = None  # type: ignore[valid-type]
    mode: ActivityModeEnum | None = None  # type: ignore[valid-type]
    status: TrainingStatusEnum | None = None  # type: ignore[valid-type]
    campaign: str | None = strawberry.field(default=None, description="A campaign's slug.")
    place: str | None = strawberry.field(
        default=None, description="Actions held in this commune (its INSEE code)."
    )
    starts_on: date | None = strawberry.field(
        default=None, name="from", description="Actions with a session on or after this day."
    )
    ends_on: date | None = strawberry.field(
        default=None, name="to", description="Actions with a session on or before this day."
    )

    def query(self) -> reads.TrainingQuery:
        return reads.TrainingQuery(
            lab=self.lab,
            format=TrainingFormat(self.format).value if self.format else None,
            mode=ActivityMode(self.mode).value if self.mode else None,
            status=TrainingStatus(self.status).value if self.status else None,
            campaign=self.campaign,
            place=self.place,
            starts_on=self.starts_on,
            ends_on=self.ends_on,
        )


@strawberry.type
class AudienceFigure:
    """Agents of one audience: who attended, or the seats of an action."""

    audience: AudienceEnum  # type: ignore[valid-type]
    label: str
    agents: int


def audience_figures(pairs: list[tuple[str, int]]) -> list[AudienceFigure]:
    return [
        AudienceFigure(audience=Audience(a), label=Audience(a).label, agents=n) for a, n in pairs
    ]


@strawberry.type
class Training:
    """A training action of a lab, as the read model holds it."""

    id: strawberry.ID
    lab: str
    title: str
    format: TrainingFormatEnum  # type: ignore[valid-type]
    format_label: str
    mode: ActivityModeEnum  # type: ignore[valid-type]
    status: TrainingStatusEnum  # type: ignore[valid-type]
    sessions: list[date]
    place_code: str | None = strawberry.field(description="The commune's COG code.")
    partners: list[str]
    registration_ref: str | None
    audiences: list[AudienceEnum]  # type: ignore[valid-type]
    capacity: int | None
    campaign: str | None
    attendance: int | None = strawberry.field(description="Agents who attended, once held.")
    attendance_by_audience: list[AudienceFigure]
    reschedules: int
    version: int

    @classmethod
    def from_row(cls, row: RowMapping, attendance: list[tuple[str, int]]) -> Training:
        return cls(
            id=strawberry.ID(row.id),
            lab=row.lab,
            title=row.title,
            format=TrainingFormat(row.format),
            format_label=TrainingFormat(row.format).label,
            mode=ActivityMode(row.mode),
            status=TrainingStatus(row.status),
            sessions=[date.fromisoformat(d) for d in row.sessions],
            place_code=row.place_code,
            partners=list(row.partners),
            registration_ref=row.registration_ref,
            audiences=[Audience(a) for a in row.audiences],
            capacity=row.capacity,
            campaign=row.campaign,
            attendance=row.attendance,
            attendance_by_audience=audience_figures(attendance),
            reschedules=row.reschedules,
            version=row.version,
        )


@strawberry.type
class ProgrammeGroup:
    """The actions of one key (a lab, a format, a year…) by status, and the agents trained."""

    key: str
    label: str | None
    scheduled: int
    held: int
    cancelled: int
    total: int
    agents_trained: int


def groups(
    found: list[reads.ProgrammeGroup], labels: dict[str, str] | None = None
) -> list[ProgrammeGroup]:
    return [
        ProgrammeGroup(
            key=g.key,
            label=(labels or {}).get(g.key),
            scheduled=g.scheduled,
            held=g.held,
            cancelled=g.cancelled,
            total=g.total,
            agents_trained=g.agents_trained,
        )
        for g in found
    ]


def commune_names(found: list[reads.ProgrammeGroup]) -> dict[str, str]:
    """The communes' names (newest COG year that names them), where the extracts have one."""
    names = {g.key: newest_name("commune", g.key) for g in found}
    return {code: name for code, name in names.items() if name}


@strawberry.type
class TrainingProgramme:
    """Roll-ups of the filtered actions; an action counts in its first session's month."""

    scheduled: int = strawberry.field(description="Actions still scheduled.")
    held: int
    cancelled: int
    agents_trained: int = strawberry.field(description="The attendance of the held actions.")
    online_share: float = strawberry.field(description="The share of held actions held remote.")
    by_format: list[ProgrammeGroup]
    by_mode: list[ProgrammeGroup]
    by_lab: list[ProgrammeGroup]
    by_year: list[ProgrammeGroup]
    by_month: list[ProgrammeGroup]
    by_campaign: list[ProgrammeGroup] = strawberry.field(
        description="By campaign (its slug), with the campaign's name as label."
    )
    by_territory: list[ProgrammeGroup] = strawberry.field(
        description="By the commune an action is held in (its INSEE code; in the room or"
        " hybrid, an online action has none), with the commune's name in the newest COG year"
        " that names it as label (null when unknown)."
    )
    by_audience: list[AudienceFigure] = strawberry.field(
        description="Agents trained by audience, where the attendance says."
    )

    @classmethod
    def of(
        cls, figures: reads.Programme, campaign_names: dict[str, str] | None = None
    ) -> TrainingProgramme:
        return cls(
            scheduled=figures.scheduled,
            held=figures.held,
            cancelled=figures.cancelled,
            agents_trained=figures.agents_trained,
            online_share=figures.online_share,
            by_format=groups(figures.by_format, {f.value: f.label for f in TrainingFormat}),
            by_mode=groups(
                figures.by_mode, {m.value: label for m, label in ACTIVITY_MODE_LABELS.items()}
            ),
            by_lab=groups(figures.by_lab),
            by_year=groups(figures.by_year),
            by_month=groups(figures.by_month),
            by_campaign=groups(figures.by_campaign, campaign_names),
            by_territory=groups(figures.by_place, commune_names(figures.by_place)),
            by_audience=audience_figures(figures.by_audience),
        )


async def training_connection(
    context: Context,
    query: reads.TrainingQuery | None,
    first: int,
    after: str | None,
    tables: reads.TrainingTables = reads.TRAINING_LIVE,
) -> Connection[Training]:
    """A page of actions (by first session) and their attendance: one worker-thread call."""
    try:
        page, attendance = await context.run(
            reads.training_page_with, context.engine, query, first, after, tables
        )
    except reads.BadInput as error:
        raise GraphQLError(str(error), extensions={"code": "BAD_USER_INPUT"}) from None
    nodes = [
        (reads.training_cursor(r), Training.from_row(r, attendance.get(r.id, [])))
        for r in page.rows
    ]
    return Connection.of(nodes, page.has_next, page.total)


async def programme(
    context: Context,
    query: reads.TrainingQuery | None,
    tables: reads.TrainingTables = reads.TRAINING_LIVE,
) -> TrainingProgramme:
    """The roll-ups of the actions `query` keeps (on the live tables, or a time slice)."""
    figures, names = await context.run(programme_named, context.engine, query, tables)
    return TrainingProgramme.of(figures, names)


def programme_named(
    engine: Engine, query: reads.TrainingQuery | None, tables: reads.TrainingTables
) -> tuple[reads.Programme, dict[str, str]]:
    """The roll-ups and the names of their campaigns (campaigns never change: the live
    `rm_campaigns` names them on any date), on one connection."""
    with engine.connect() as connection:
        figures = reads.training_programme(connection, query, tables)
        slugs = {g.key for g in figures.by_campaign}
        return figures, reads.campaign_names(connection, slugs)


@strawberry.type
class Campaign:
    """A campaign and the training actions labs attached to it."""

    row: strawberry.Private[RowMapping]
    slug: str
    name: str
    starts_on: date
    ends_on: date
    theme: str
    organiser: str

    @classmethod
    def from_row(cls, row: RowMapping) -> Campaign:
        return cls(
            row=row,
            slug=row.slug,
            name=row.name,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            theme=row.theme,
            organiser=row.organiser,
        )

    @field(description="The campaign's actions across labs, by first session.")
    async def trainings(
        self, info: GraphInfo, first: int = 50, after: str | None = None
    ) -> Connection[Training]:
        return await training_connection(
            info.context, reads.TrainingQuery(campaign=self.slug), first, after
        )

    @field(description="The roll-ups of the campaign's actions.")
    async def programme(self, info: GraphInfo) -> TrainingProgramme:
        return await programme(info.context, reads.TrainingQuery(campaign=self.slug))
