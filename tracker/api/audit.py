"""Auditor reads: a project's history, its state at a version or instant, the log, verify.

Every route needs an `auditor` token and reads the event store (never the projections).
`GET /api/v1/events` answers JSON pages, or streams NDJSON (the lines of
`tracker events export`) when asked with `Accept: application/x-ndjson`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from tracker.api.deps import AppDep, AuditorPrincipal, ProjectIdPath, RequestIdDep, ServicesDep
from tracker.api.formats import negotiate, negotiates, spreadsheet_response
from tracker.api.problems import ProblemError, problem_responses
from tracker.application.commands import RecordAuditVerified
from tracker.audit.export import canonical_json, export_records
from tracker.audit.history import (
    MAX_PAGE,
    admin_history,
    project_as_of,
    project_at_version,
    project_history,
)
from tracker.audit.verify import verify
from tracker.exports.spreadsheets import ODS, WRITERS, XLSX
from tracker.exports.tables import project_history_tables

router = APIRouter(prefix="/api/v1", tags=["audit"])

NDJSON = "application/x-ndjson"
READ_ERRORS = problem_responses(401, 403, 404, 422, 503)
After = Annotated[int, Query(ge=0, le=2**62, description="Start after this version.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"At most {MAX_PAGE}.")]


def _page(entries: list[dict[str, Any]], next_after: int | None) -> dict[str, Any]:
    return {"items": entries, "next_after": next_after}


@router.get(
    "/projects/{project_id}/events",
    operation_id=negotiates("get_project_events"),
    responses={
        **READ_ERRORS,
        **problem_responses(406),
        200: {"content": {XLSX: {}, ODS: {}}, "description": "JSON page, or a spreadsheet."},
    },
)
def get_project_events(
    request: Request,
    _principal: AuditorPrincipal,
    project_id: ProjectIdPath,
    services: ServicesDep,
    after: After = 0,
    limit: Limit = 100,
    format: Annotated[
        str | None, Query(description="json (default), xlsx or ods (or ask with Accept).")
    ] = None,
) -> Any:
    """The project's recorded events in order, with metadata and hashes, paged by version;
    as a spreadsheet (`?format=xlsx|ods`), its whole history and its funding."""
    application = services.application
    chosen = negotiate(request, format, ["json", *WRITERS])
    if chosen != "json":
        tables = project_history_tables(application, services.read_engine, project_id)
        return spreadsheet_response(tables, chosen, "historique-projet", application.today())
    page = project_history(application, project_id, after, limit)
    return _page([e.as_dict() for e in page.entries], page.next_after)


@router.get(
    "/projects/{project_id}/state",
    operation_id="get_project_state",
    responses=READ_ERRORS,
)
def get_project_state(
    _principal: AuditorPrincipal,
    project_id: ProjectIdPath,
    application: AppDep,
    version: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    as_of: Annotated[datetime | None, Query(description="An ISO 8601 instant.")] = None,
) -> dict[str, Any]:
    """The project replayed to `version`, or as it was known at the instant `as_of`."""
    if (version is None) == (as_of is None):
        raise ProblemError(
            422,
            "give exactly one of version=N or as_of=<ISO 8601 instant>",
            code="invalid-query",
            errors=[{"loc": ["query"], "msg": "version or as_of", "type": "invalid-query"}],
        )
    if version is not None:
        return project_at_version(application, project_id, version).as_dict()
    assert as_of is not None
    return project_as_of(application, project_id, as_of).as_dict() | {"as_of": as_of.isoformat()}


@router.get(
    "/events",
    operation_id=negotiates("get_events"),
    responses=problem_responses(401, 403, 422, 503),
)
def get_events(
    _principal: AuditorPrincipal,
    application: AppDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="Start after this position.")] = 0,
    limit: Annotated[
        int | None, Query(ge=1, le=MAX_PAGE, description="At most this many (JSON: 100).")
    ] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Any:
    """The global log in position order: JSON pages, or an NDJSON stream on request."""
    stop = application.recorder.max_notification_id() or 0
    if accept is not None and NDJSON in accept:

        def lines() -> Iterator[bytes]:
            for record in export_records(application, stop, after=after, limit=limit):
                yield canonical_json(record) + b"\n"

        return StreamingResponse(lines(), media_type=NDJSON)
    records = list(export_records(application, stop, after=after, limit=limit or 100))
    more = bool(records) and records[-1]["position"] < stop
    return _page(records, records[-1]["position"] if more else None)


@router.get(
    "/audit/verify",
    operation_id="verify_log",
    responses=problem_responses(401, 403, 503),
)
def verify_log(
    principal: AuditorPrincipal, application: AppDep, request_id: RequestIdDep
) -> dict[str, Any]:
    """Recompute every hash and checkpoint of the log; the findings (recorded as AuditVerified)."""
    report = verify(application)
    application.execute(
        RecordAuditVerified(
            events=report.events,
            last_position=report.last_position,
            findings=len(report.findings),
        ),
        application.meta(principal.token_id, request_id or str(uuid.uuid4())),
    )
    return report.as_dict() | {"summary": report.summary()}


@router.get(
    "/audit/admin-log",
    operation_id="get_admin_log",
    responses=problem_responses(401, 403, 422, 503),
)
def get_admin_log(
    _principal: AuditorPrincipal, application: AppDep, after: After = 0, limit: Limit = 100
) -> dict[str, Any]:
    """Administrative actions (tokens, rebuilds, imports, verifications, erasures), paged."""
    page = admin_history(application, after, limit)
    return _page([e.as_dict() for e in page.entries], page.next_after)
