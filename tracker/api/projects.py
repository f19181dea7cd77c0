"""Projects: registration, the current state, details, phase gates, health, closing."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Self

from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import RowMapping

from domain.values import (
    COG_CODE_PATTERNS,
    COG_FIRST_YEAR,
    COG_LAST_YEAR,
    GateDecision,
    Health,
    Outcome,
    Phase,
    Status,
    Territory,
    TerritoryLevel,
)
from projections import queries as reads
from projections.cog import territory_name
from tracker.api.commands import CommandAnswer, CommandBody, IsoDate, Title, execute
from tracker.api.deps import (
    AppDep,
    CreateContextDep,
    CurrentPrincipal,
    ProjectIdPath,
    ServicesDep,
    StaffPrincipal,
    WritableProject,
    WriteContextDep,
    require_own_lab,
)
from tracker.api.formats import negotiate, negotiates, spreadsheet_response
from tracker.api.problems import ProblemError, problem_responses
from tracker.api.routing import api_router
from tracker.application import commands
from tracker.application.access import Role
from tracker.exports.spreadsheets import ODS, WRITERS, XLSX
from tracker.exports.tables import projects_table

router = api_router(prefix="/api/v1/projects", tags=["projects"])

WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 503)
# A new project has no version yet for If-Match to name (no 412), and a staff token's lab
# exists (a token names an existing lab; another lab is a 403): no 404.
CREATE_ERRORS = problem_responses(400, 401, 403, 409, 413, 415, 422, 503)
Summary = Annotated[str, Field(max_length=5000, strict=True)]
Themes = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=100, strict=True)]], Field(max_length=20)
]


# A code's format per level, in plain words (docs/errors.md); the French is in the catalogue.
EXPECTED_CODES = {
    TerritoryLevel.COMMUNE: "five characters, like 58194 (2A004 in Corsica)",
    TerritoryLevel.DEPARTMENT: "two or three characters, like 58, 2A or 971",
    TerritoryLevel.REGION: "two digits, like 27",
    TerritoryLevel.EPCI: "nine digits starting with 2, like 200067213",
}


class TerritoryBody(BaseModel):
    """A place on the INSEE COG: level, code (format checked per level) and COG year."""

    model_config = ConfigDict(extra="forbid")

    level: TerritoryLevel
    code: Annotated[str, Field(pattern=r"^[0-9AB]{2,9}$", strict=True)] = Field(examples=["21231"])
    cog_year: Annotated[int, Field(ge=COG_FIRST_YEAR, le=COG_LAST_YEAR, strict=True)] = Field(
        examples=[2024]
    )

    @model_validator(mode="after")
    def _code_matches_level(self) -> Self:
        if not COG_CODE_PATTERNS[self.level].fullmatch(self.code):
            expected = EXPECTED_CODES[self.level]
            raise ValueError(
                f"{self.code!r} is not a {self.level.value} COG code; expected {expected}"
            )
        return self

    def to_domain(self) -> Territory:
        return Territory(self.level.value, self.code, self.cog_year)


Territories = Annotated[list[TerritoryBody], Field(max_length=50)]


class RegisterProject(CommandBody):
    """A new project in the caller's lab."""

    lab: Annotated[str, Field(min_length=1, max_length=64, strict=True)] = Field(
        examples=["lab-bfc"]
    )
    title: Title = Field(examples=["Villages du futur"])
    summary: Summary = Field(
        default="", examples=["Imaginer avec les habitants les services d'un bourg rural."]
    )
    themes: Themes = Field(default_factory=list, examples=[["ruralité"]])
    territories: Territories = Field(default_factory=list)
    started_on: IsoDate = Field(examples=["2025-01-06"])


class ReviseProject(CommandBody):
    """New values for some of the details (absent fields stay as they are)."""

    title: Title | None = None
    summary: Summary | None = None
    themes: Themes | None = None
    territories: Territories | None = None


class EnterPhase(CommandBody):
    """A phase gate: `go` to the next phase, or `iterate` back to an earlier one (with a reason)."""

    phase: Phase
    decision: GateDecision


class AssessHealth(CommandBody):
    """How the project is doing."""

    health: Health


class CloseProject(CommandBody):
    """How the project ended, and why (the reason is required)."""

    outcome: Outcome


class ReopenProject(CommandBody):
    """Why the project is reopened (the reason is required)."""


def project_url(project_id: uuid.UUID | str) -> str:
    return f"/api/v1/projects/{project_id}"


@router.post(
    "",
    operation_id="register_project",
    status_code=201,
    response_model=CommandAnswer,
    responses=CREATE_ERRORS,
)
def register_project(
    body: RegisterProject, principal: StaffPrincipal, context: CreateContextDep
) -> JSONResponse:
    """Register a project in the caller's lab (staff of that lab)."""
    require_own_lab(principal, body.lab)
    project_id = uuid.uuid4()
    return execute(
        context,
        body,
        commands.RegisterProject(
            project_id=project_id,
            lab=body.lab,
            title=body.title,
            summary=body.summary,
            themes=body.themes,
            territories=[t.to_domain() for t in body.territories],
            started_on=body.started_on,
            reason=body.reason,
        ),
        status_code=201,
        location=project_url(project_id),
    )


@router.get(
    "/{project_id}",
    operation_id="get_project",
    responses=problem_responses(401, 404, 503),
)
def get_project(
    _principal: CurrentPrincipal, project_id: ProjectIdPath, application: AppDep, response: Response
) -> dict[str, Any]:
    """The project's current state, replayed from the event store, with its ETag."""
    project = application.get_project(project_id)
    response.headers["ETag"] = f'"{project.version}"'
    state = project.as_dict()
    return state | {"territories": with_names(state["territories"])}


@router.patch(
    "/{project_id}",
    operation_id="revise_project",
    response_model=CommandAnswer,
    responses=WRITE_ERRORS,
)
def revise_project(
    project_id: WritableProject, body: ReviseProject, context: WriteContextDep
) -> JSONResponse:
    """Revise the title, summary, themes or territories."""
    return execute(
        context,
        body,
        commands.ReviseProject(
            project_id=project_id,
            title=body.title,
            summary=body.summary,
            themes=body.themes,
            territories=[t.to_domain() for t in body.territories]
            if body.territories is not None
            else None,
            reason=body.reason,
        ),
    )


@router.post(
    "/{project_id}/phase",
    operation_id="enter_phase",
    response_model=CommandAnswer,
    responses=WRITE_ERRORS,
)
def enter_phase(
    project_id: WritableProject, body: EnterPhase, context: WriteContextDep
) -> JSONResponse:
    """Pass a phase gate: go to the next phase, or iterate back to an earlier one."""
    return execute(
        context,
        body,
        commands.EnterPhase(
            project_id=project_id, phase=body.phase, decision=body.decision, reason=body.reason
        ),
    )


@router.post(
    "/{project_id}/health",
    operation_id="assess_health",
    response_model=CommandAnswer,
    responses=WRITE_ERRORS,
)
def assess_health(
    project_id: WritableProject, body: AssessHealth, context: WriteContextDep
) -> JSONResponse:
    """Record how the project is doing: on track, at risk or off track."""
    return execute(
        context,
        body,
        commands.AssessHealth(project_id=project_id, health=body.health, reason=body.reason),
    )


@router.post(
    "/{project_id}/close",
    operation_id="close_project",
    response_model=CommandAnswer,
    responses=WRITE_ERRORS,
)
def close_project(
    project_id: WritableProject, body: CloseProject, context: WriteContextDep
) -> JSONResponse:
    """Close the project with its outcome, from any phase."""
    return execute(
        context,
        body,
        commands.CloseProject(project_id=project_id, outcome=body.outcome, reason=body.reason),
    )


@router.post(
    "/{project_id}/reopen",
    operation_id="reopen_project",
    response_model=CommandAnswer,
    responses=WRITE_ERRORS,
)
def reopen_project(
    project_id: WritableProject, body: ReopenProject, context: WriteContextDep
) -> JSONResponse:
    """Reopen a closed project in the phase it was closed in."""
    return execute(
        context,
        body,
        commands.ReopenProject(project_id=project_id, reason=body.reason),
    )


# -- finding projects -----------------------------------------------------------------


class TerritoryView(BaseModel):
    """A territory of a project, as registered, with its name in the COG of its year."""

    level: str = Field(examples=["commune"])
    code: str = Field(examples=["58194"])
    cog_year: int = Field(examples=[2024])
    name: str | None = Field(
        examples=["Nevers"], description="Null outside the shipped COG extract."
    )


def with_names(territories: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Territories with their names for their COG year (docs/territories.md)."""
    return [
        territory
        | {"name": territory_name(territory["level"], territory["code"], territory["cog_year"])}
        for territory in territories
    ]


class ProjectSummary(BaseModel):
    """A project as the portfolio read model has it (a few events behind at most)."""

    id: str
    lab: str = Field(examples=["lab-bfc"])
    title: str = Field(examples=["Villages du futur"])
    summary: str
    phase: Phase
    phase_since: date
    health: Health
    status: Status
    outcome: Outcome | None
    themes: list[str] = Field(examples=[["ruralité"]])
    territories: list[TerritoryView]
    started_on: date
    registered_on: date
    closed_on: date | None
    next_milestone_due_on: date | None
    last_activity_on: date | None
    version: int


class ProjectPage(BaseModel):
    """One page of projects in registration order; `next_after` is the next page's `after`."""

    items: list[ProjectSummary]
    total: int = Field(description="How many projects the filters keep, on every page.")
    next_after: str | None = Field(description="Send as `after` for the next page; null: last.")


def project_summary(row: RowMapping) -> ProjectSummary:
    return ProjectSummary(
        id=row.id,
        lab=row.lab,
        title=row.title,
        summary=row.summary,
        phase=Phase(row.phase),
        phase_since=row.phase_since,
        health=Health(row.health),
        status=Status(row.status),
        outcome=Outcome(row.outcome) if row.outcome else None,
        themes=list(row.themes),
        territories=[TerritoryView(**territory) for territory in with_names(row.territories)],
        started_on=row.started_on,
        registered_on=row.registered_on,
        closed_on=row.closed_on,
        next_milestone_due_on=row.next_milestone_due_on,
        last_activity_on=row.last_activity_on,
        version=row.version,
    )


Filter = Annotated[str | None, Query(min_length=1, max_length=200)]


@router.get(
    "",
    operation_id=negotiates("list_projects"),
    response_model=ProjectPage,
    responses={
        **problem_responses(401, 406, 422, 503),
        200: {"content": {XLSX: {}, ODS: {}}, "description": "JSON, or a spreadsheet."},
    },
)
def list_projects(
    request: Request,
    principal: CurrentPrincipal,
    services: ServicesDep,
    lab: Annotated[
        str | None,
        Query(
            max_length=64,
            description="A lab's slug; staff default to their own lab, `*` asks for every lab.",
        ),
    ] = None,
    phase: Phase | None = None,
    health: Health | None = None,
    status: Status | None = None,
    theme: Filter = None,
    territory: Annotated[
        str | None,
        Query(
            max_length=9, description="A COG code; a department's code also matches its communes."
        ),
    ] = None,
    text: Annotated[str | None, Query(max_length=200, description="Words in the title.")] = None,
    after: Annotated[
        str | None, Query(max_length=512, description="`next_after` of a page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=reads.MAX_PAGE)] = 20,
    format: Annotated[
        str | None,
        Query(
            description="json (default), xlsx or ods (or ask with Accept); a spreadsheet "
            "holds every project the filters keep, not one page."
        ),
    ] = None,
) -> Any:
    """Find projects: filters as on the dashboards, keyset pages in registration order;
    or every project the filters keep as a spreadsheet (`format=xlsx|ods`)."""
    chosen = negotiate(request, format, ["json", *WRITERS])
    if lab is None and principal.role is Role.STAFF:
        lab = principal.lab
    query = reads.ProjectQuery(
        lab=None if lab == "*" else lab,
        phase=phase.value if phase else None,
        health=health.value if health else None,
        status=status.value if status else None,
        theme=theme,
        territory=territory,
        text=text,
    )
    if chosen != "json":
        table = projects_table(services.read_engine, query)
        return spreadsheet_response([table], chosen, "projets", services.application.today())
    try:
        page = reads.project_page(services.read_engine, query, limit, after)
    except reads.BadInput:
        raise ProblemError(
            422,
            "after is not a cursor this API gave: send the next_after of a page",
            code="invalid-query",
            errors=[
                {
                    "loc": ["query", "after"],
                    "msg": "after: not a cursor this API gave",
                    "type": "cursor",
                }
            ],
        ) from None
    next_after = (
        reads.encode_cursor(page.rows[-1].registered_position)
        if page.has_next and page.rows
        else None
    )
    return ProjectPage(
        items=[project_summary(row) for row in page.rows], total=page.total, next_after=next_after
    )
