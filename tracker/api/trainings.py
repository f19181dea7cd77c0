"""Training actions of a lab: scheduled, revised, rescheduled, held or cancelled; listed.

Writes are for staff of the action's lab (as project writes); reads for any token. One
action is read from the event store (with its ETag), the list from the `training` read
model, in keyset pages (`next_after`). Auditors read an action's history and its state at
a version or an instant, as they read a project's.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Self
from uuid import UUID

from fastapi import Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from domain.errors import TrainingNotFoundError
from domain.values import (
    COG_FIRST_YEAR,
    COG_LAST_YEAR,
    ActivityMode,
    Audience,
    Territory,
    TrainingFormat,
    TrainingStatus,
)
from projections import queries as reads
from tracker.api.commands import CommandAnswer, CommandBody, IsoDate, Title, execute
from tracker.api.deps import (
    AppDep,
    AuditorPrincipal,
    CreateContextDep,
    CurrentPrincipal,
    ServicesDep,
    StaffPrincipal,
    WriteContextDep,
    require_own_lab,
)
from tracker.api.formats import negotiate, negotiates, spreadsheet_response
from tracker.api.problems import ProblemError, problem_responses
from tracker.api.routing import api_router
from tracker.application import commands
from tracker.application.service import TrackerApplication
from tracker.audit.history import MAX_PAGE, named
from tracker.audit.training import training_as_of, training_at_version, training_history
from tracker.exports.spreadsheets import ODS, WRITERS, XLSX
from tracker.exports.tables import training_tables

router = api_router(prefix="/api/v1", tags=["trainings"])

WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 503)
# A new training has no version yet for If-Match to name: no 412.
CREATE_ERRORS = problem_responses(400, 401, 403, 404, 409, 413, 422, 503)
Name = Annotated[str, Field(min_length=1, max_length=200, strict=True)]
Partners = Annotated[list[Name], Field(max_length=20)]
Audiences = Annotated[list[Audience], Field(max_length=len(Audience))]
Capacity = Annotated[int, Field(ge=1, le=100_000, strict=True)]
ProjectIds = Annotated[list[uuid.UUID], Field(max_length=50)]
CampaignSlug = Annotated[str, Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$", strict=True)]
LabSlug = Annotated[str, Path(max_length=64, description="The lab's slug.")]


class SessionBody(BaseModel):
    """One session of an action: its date."""

    model_config = ConfigDict(extra="forbid")

    date: IsoDate


Sessions = Annotated[list[SessionBody], Field(min_length=1, max_length=50)]


class PlaceBody(BaseModel):
    """Where an action in the room takes place: a commune's COG code and year."""

    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, Field(pattern=r"^(?:\d{2}|2[AB])\d{3}$", strict=True)] = Field(
        examples=["58194"]
    )
    cog_year: Annotated[int, Field(ge=COG_FIRST_YEAR, le=COG_LAST_YEAR, strict=True)] = Field(
        examples=[2020]
    )

    def to_domain(self) -> Territory:
        return Territory("commune", self.code, self.cog_year)


class ScheduleTraining(CommandBody):
    """A new training action of the lab: what, in which format, when, how, for whom."""

    title: Title = Field(examples=["Module 2 « Design de services : du test au déploiement »"])
    format: TrainingFormat
    sessions: Sessions
    mode: ActivityMode
    place: PlaceBody | None = None
    partners: Partners = Field(default_factory=list, examples=[["CNFPT"]])
    registration_ref: Annotated[str | None, Field(max_length=100, strict=True)] = None
    audiences: Audiences = Field(default_factory=list)
    capacity: Capacity | None = None
    project_ids: ProjectIds = Field(default_factory=list)
    campaign: CampaignSlug | None = None


class ReviseTraining(CommandBody):
    """New values for some of the details (absent fields stay as they are)."""

    title: Title | None = None
    partners: Partners | None = None
    audiences: Audiences | None = None
    capacity: Capacity | None = None
    project_ids: ProjectIds | None = None
    campaign: CampaignSlug | None = None


class RescheduleTraining(CommandBody):
    """The new sessions, and why (the reason is required)."""

    sessions: Sessions


class HoldTraining(CommandBody):
    """How many agents attended (never names), by audience when known; a reason is
    required when the attendance is above the capacity."""

    attendance: Annotated[int, Field(ge=0, le=100_000, strict=True)] = Field(examples=[42])
    attendance_by_audience: dict[Audience, Annotated[int, Field(ge=0, le=100_000)]] = Field(
        default_factory=dict
    )

    @model_validator(mode="after")
    def _by_audience_within_total(self) -> Self:
        if sum(self.attendance_by_audience.values()) > self.attendance:
            raise ValueError("the attendance by audience adds up to more than the attendance")
        return self


class CancelTraining(CommandBody):
    """Why the action is cancelled (the reason is required)."""


class TrainingPage(BaseModel):
    """A page of training actions, by first session; `next_after` asks for the next one."""

    items: list[dict[str, Any]]
    next_after: str | None


def training_url(training_id: uuid.UUID | str) -> str:
    return f"/api/v1/trainings/{training_id}"


async def parse_training_id(training_id: Annotated[str, Path(max_length=64)]) -> UUID:
    """A training id from the path; anything that is not a UUID names no action (404)."""
    try:
        return UUID(training_id)
    except ValueError:
        raise ProblemError(
            404, f"no training action {training_id}", code="training-not-found"
        ) from None


TrainingIdPath = Annotated[UUID, Depends(parse_training_id)]


def _training_lab(application: TrackerApplication, training_id: UUID) -> str:
    try:
        return application.get_training(training_id).lab
    except TrainingNotFoundError as error:
        raise ProblemError(404, str(error), code="training-not-found") from None


async def writable_training(
    principal: StaffPrincipal, training_id: TrainingIdPath, services: ServicesDep
) -> UUID:
    """An action the caller may write: it exists (404) and belongs to their lab (403).

    Safe to check before the command: no command moves an action to another lab.
    """
    lab = await run_in_threadpool(_training_lab, services.application, training_id)
    require_own_lab(principal, lab)
    return training_id


WritableTraining = Annotated[UUID, Depends(writable_training)]


@router.post(
    "/labs/{slug}/trainings",
    operation_id="schedule_training",
    status_code=201,
    response_model=CommandAnswer,
    responses=CREATE_ERRORS,
)
def schedule_training(
    slug: LabSlug, body: ScheduleTraining, principal: StaffPrincipal, context: CreateContextDep
) -> JSONResponse:
    """Schedule a training action of the lab (staff of that lab); the answer's `training_id`
    names it."""
    require_own_lab(principal, slug)
    training_id = str(uuid.uuid4())
    return execute(
        context,
        body,
        commands.ScheduleTraining(
            training_id=training_id,
            lab=slug,
            title=body.title,
            format=body.format,
            session_dates=[s.date for s in body.sessions],
            mode=body.mode,
            place=body.place.to_domain() if body.place else None,
            partners=body.partners,
            registration_ref=body.registration_ref,
            audiences=[a.value for a in body.audiences],
            capacity=body.capacity,
            project_ids=[str(p) for p in body.project_ids],
            campaign=body.campaign,
            reason=body.reason,
        ),
        status_code=201,
        location=training_url(training_id),
    )


TRAINING_FORMATS = [f.value for f in TrainingFormat]


@router.get(
    "/trainings",
    operation_id=negotiates("list_trainings"),
    response_model=TrainingPage,
    responses={
        **problem_responses(400, 401, 406, 503),
        200: {"content": {XLSX: {}, ODS: {}}, "description": "JSON, or a spreadsheet."},
    },
)
def list_trainings(
    request: Request,
    _principal: CurrentPrincipal,
    services: ServicesDep,
    lab: Annotated[str | None, Query(max_length=64)] = None,
    format: Annotated[
        str | None,
        Query(
            max_length=32,
            description="A training format (" + ", ".join(TRAINING_FORMATS) + ") keeps the "
            "actions of that format; json, xlsx or ods chooses the answer's format instead "
            "(to do both, filter here and ask for the spreadsheet with Accept).",
        ),
    ] = None,
    mode: ActivityMode | None = None,
    status: TrainingStatus | None = None,
    campaign: Annotated[str | None, Query(max_length=64)] = None,
    place: Annotated[
        str | None,
        Query(
            pattern=r"^(?:\d{2}|2[AB])\d{3}$",
            description="A commune's INSEE code: the actions held there.",
        ),
    ] = None,
    starts_on: Annotated[
        date | None, Query(alias="from", description="Actions with a session on or after.")
    ] = None,
    ends_on: Annotated[
        date | None, Query(alias="to", description="Actions with a session on or before.")
    ] = None,
    after: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=reads.MAX_PAGE)] = 50,
) -> Any:
    """Training actions by first session date, from the read model, in keyset pages; or
    the programme as a spreadsheet (every action kept and the roll-ups, `format=xlsx|ods`)."""
    training_format = format if format in TRAINING_FORMATS else None
    chosen = negotiate(request, None if training_format else format, ["json", *WRITERS])
    query = reads.TrainingQuery(
        lab=lab,
        format=training_format,
        mode=mode.value if mode else None,
        status=status.value if status else None,
        campaign=campaign,
        place=place,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    if chosen != "json":
        tables = training_tables(services.read_engine, query)
        return spreadsheet_response(tables, chosen, "formations", services.application.today())
    try:
        page, attendance = reads.training_page_with(services.read_engine, query, limit, after)
    except reads.BadInput as error:
        raise ProblemError(400, str(error), code="malformed-cursor") from None
    items = [training_row(row, attendance.get(row["id"], [])) for row in page.rows]
    next_after = reads.training_cursor(page.rows[-1]) if page.has_next and page.rows else None
    return TrainingPage(items=items, next_after=next_after)


def training_row(row: Any, attendance: list[tuple[str, int]]) -> dict[str, Any]:
    """An action of the list, as the read model holds it."""
    return {
        "id": row["id"],
        "lab": row["lab"],
        "title": row["title"],
        "format": row["format"],
        "format_label": TrainingFormat(row["format"]).label,
        "mode": row["mode"],
        "status": row["status"],
        "sessions": [{"date": d} for d in row["sessions"]],
        "place": {"code": row["place_code"], "cog_year": row["place_cog_year"]}
        if row["place_code"]
        else None,
        "partners": list(row["partners"]),
        "audiences": list(row["audiences"]),
        "capacity": row["capacity"],
        "campaign": row["campaign"],
        "attendance": row["attendance"],
        "attendance_by_audience": dict(attendance),
        "reschedules": row["reschedules"],
        "version": row["version"],
    }


@router.get(
    "/trainings/{training_id}",
    operation_id="get_training",
    responses=problem_responses(401, 404, 503),
)
def get_training(
    _principal: CurrentPrincipal,
    training_id: TrainingIdPath,
    application: AppDep,
    response: Response,
) -> dict[str, Any]:
    """The action's current state, replayed from the event store, with its ETag."""
    training = application.get_training(training_id)
    response.headers["ETag"] = f'"{training.version}"'
    return training.as_dict()


@router.patch(
    "/trainings/{training_id}",
    operation_id="revise_training",
    response_model=CommandAnswer,
    responses=WRITE_ERRORS,
)
def revise_training(
    training_id: WritableTraining, body: ReviseTraining, context: WriteContextDep
) -> JSONResponse:
    """Revise the title, partners, audiences, capacity, projects or campaign."""
    return execute(
        context,
        body,
        commands.ReviseTraining(
            training_id=training_id,
            title=body.title,
            partners=body.partners,
            audiences=[a.value for a in body.audiences] if body.audiences is not None else None,
            capacity=body.capacity,
            project_ids=[str(p) for p in body.project_ids]
            if body.project_ids is not None
            else None,
            campaign=body.campaign,
            reason=body.reason,
        ),
    )


@router.post(
    "/trainings/{training_id}/reschedule",
    operation_id="reschedule_training",
    response_model=CommandAnswer,
    responses=WRITE_ERRORS,
)
def reschedule_training(
    training_id: WritableTraining, body: RescheduleTraining, context: WriteContextDep
) -> JSONResponse:
    """Move a scheduled action's sessions to other dates, saying why."""
    return execute(
        context,
        body,
        commands.RescheduleTraining(
            training_id=training_id,
            session_dates=[s.date for s in body.sessions],
            reason=body.reason,
        ),
    )


@router.post(
    "/trainings/{training_id}/hold",
    operation_id="hold_training",
    response_model=CommandAnswer,
    responses=WRITE_ERRORS,
)
def hold_training(
    training_id: WritableTraining, body: HoldTraining, context: WriteContextDep
) -> JSONResponse:
    """Record that the action was held, with its attendance (a count, never names)."""
    return execute(
        context,
        body,
        commands.HoldTraining(
            training_id=training_id,
            attendance=body.attendance,
            attendance_by_audience={a.value: n for a, n in body.attendance_by_audience.items()},
            reason=body.reason,
        ),
    )


@router.post(
    "/trainings/{training_id}/cancel",
    operation_id="cancel_training",
    response_model=CommandAnswer,
    responses=WRITE_ERRORS,
)
def cancel_training(
    training_id: WritableTraining, body: CancelTraining, context: WriteContextDep
) -> JSONResponse:
    """Cancel a scheduled action, saying why."""
    return execute(
        context, body, commands.CancelTraining(training_id=training_id, reason=body.reason)
    )


# -- auditors ---------------------------------------------------------------------------------


@router.get(
    "/trainings/{training_id}/events",
    operation_id="get_training_events",
    tags=["audit"],
    responses=problem_responses(401, 403, 404, 422, 503),
)
def get_training_events(
    _principal: AuditorPrincipal,
    training_id: TrainingIdPath,
    services: ServicesDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="Start after this version.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """The action's recorded events in order, with metadata, hashes and actors' names,
    paged by version."""
    page = training_history(services.application, training_id, after, limit)
    entries = named(services.read_engine, page.entries)
    return {"items": [e.as_dict() for e in entries], "next_after": page.next_after}


@router.get(
    "/trainings/{training_id}/state",
    operation_id="get_training_state",
    tags=["audit"],
    responses=problem_responses(401, 403, 404, 422, 503),
)
def get_training_state(
    _principal: AuditorPrincipal,
    training_id: TrainingIdPath,
    application: AppDep,
    version: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    as_of: Annotated[datetime | None, Query(description="An ISO 8601 instant.")] = None,
) -> dict[str, Any]:
    """The action replayed to `version`, or as it was known at the instant `as_of`."""
    if (version is None) == (as_of is None):
        raise ProblemError(
            422,
            "give exactly one of version=N or as_of=<ISO 8601 instant>",
            code="invalid-query",
            errors=[{"loc": ["query"], "msg": "version or as_of", "type": "invalid-query"}],
        )
    if version is not None:
        return training_at_version(application, training_id, version).as_dict()
    assert as_of is not None
    return training_as_of(application, training_id, as_of).as_dict() | {"as_of": as_of.isoformat()}
