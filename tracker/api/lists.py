"""Lists managers read, in JSON or as spreadsheets (`?format=xlsx|ods` or `Accept`):
the milestones, by due date (docs/spreadsheets.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request

from projections.queries import BadInput, MilestoneQuery, ProjectQuery
from tracker.api.deps import CurrentPrincipal, ServicesDep
from tracker.api.formats import negotiate, negotiates, spreadsheet_response
from tracker.api.problems import ProblemError, problem_responses
from tracker.api.routing import api_router
from tracker.audit.history import plain
from tracker.exports.spreadsheets import ODS, WRITERS, XLSX
from tracker.exports.tables import milestones_table

router = api_router(prefix="/api/v1", tags=["lists"])


@router.get(
    "/milestones",
    operation_id=negotiates("list_milestones"),
    responses={
        **problem_responses(401, 406, 422, 503),
        200: {"content": {XLSX: {}, ODS: {}}, "description": "JSON, or a spreadsheet."},
    },
)
def list_milestones(
    request: Request,
    _principal: CurrentPrincipal,
    services: ServicesDep,
    lab: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(pattern="^(planned|achieved|cancelled)$")] = None,
    overdue: bool | None = None,
    slipped: bool | None = None,
    due_within_days: Annotated[int | None, Query(ge=0, le=3660)] = None,
    format: Annotated[
        str | None, Query(description="json (default), xlsx or ods (or ask with Accept).")
    ] = None,
) -> Any:
    """Milestones by due date: overdue, due soon, slipped… as JSON or a spreadsheet."""
    chosen = negotiate(request, format, ["json", *WRITERS])
    application = services.application
    query = MilestoneQuery(
        projects=ProjectQuery(lab=lab) if lab else None,
        status=status,
        overdue=overdue,
        slipped=slipped,
        due_within_days=due_within_days,
    )
    try:
        table = milestones_table(services.read_engine, query, application.today())
    except BadInput as error:
        raise ProblemError(422, str(error), code="invalid-query") from None
    if chosen != "json":
        return spreadsheet_response([table], chosen, "jalons", application.today())
    return [{k: plain(v) for k, v in row.items()} for row in table.rows]
