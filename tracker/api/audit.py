"""Auditor reads: a project's history, its state at a version or instant, the log, verify.

Every route needs an `auditor` token (but a project's history and past states, which staff
read for their own lab's projects, and `GET /api/v1/audit/keys`, public) and reads the
event store (never the projections).
`GET /api/v1/events` answers JSON pages, or streams NDJSON (the lines of
`tracker events export`) when asked with `Accept: application/x-ndjson`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import StreamingResponse

from tracker.api.deps import (
    AppDep,
    AuditorPrincipal,
    HistoryProject,
    RequestIdDep,
    ServicesDep,
)
from tracker.api.formats import NDJSON, negotiate, negotiates, spreadsheet_response
from tracker.api.problems import ProblemError, problem_responses
from tracker.api.routing import api_router
from tracker.application.commands import RecordAuditVerified
from tracker.audit.export import canonical_json, export_records
from tracker.audit.history import (
    MAX_PAGE,
    admin_history,
    named,
    project_as_of,
    project_at_version,
    project_history,
    project_on,
)
from tracker.audit.verify import verify
from tracker.exports.spreadsheets import ODS, WRITERS, XLSX
from tracker.exports.tables import project_history_tables
from tracker.store.signing import SIGNED_HEAD_RULE

router = api_router(prefix="/api/v1", tags=["audit"])

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
    project_id: HistoryProject,
    services: ServicesDep,
    after: After = 0,
    limit: Limit = 100,
    format: Annotated[
        str | None, Query(description="json (default), xlsx or ods (or ask with Accept).")
    ] = None,
) -> Any:
    """The project's recorded events in order, with metadata, hashes and actors' names, paged
    by version; as a spreadsheet (`?format=xlsx|ods`), its whole history and its funding."""
    application = services.application
    chosen = negotiate(request, format, ["json", *WRITERS])
    if chosen != "json":
        tables = project_history_tables(application, services.read_engine, project_id)
        return spreadsheet_response(tables, chosen, "historique-projet", application.today())
    page = project_history(application, project_id, after, limit)
    entries = named(services.read_engine, page.entries)
    return _page([e.as_dict() for e in entries], page.next_after)


@router.get(
    "/projects/{project_id}/state",
    operation_id="get_project_state",
    responses=READ_ERRORS,
)
def get_project_state(
    project_id: HistoryProject,
    application: AppDep,
    version: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    on: Annotated[
        date | None, Query(description="A business date: the events dated on or before it.")
    ] = None,
    as_known_at: Annotated[
        datetime | None,
        Query(description="An ISO 8601 instant: the events recorded up to then."),
    ] = None,
    as_of: Annotated[
        datetime | None, Query(description="An alias of as_known_at (kept for older clients).")
    ] = None,
) -> dict[str, Any]:
    """The project replayed to `version`, or on the business date `on` as known at the
    instant `as_known_at` (either or both; `as_of` is an alias of `as_known_at`)."""
    if as_of is not None and as_known_at is not None and as_of != as_known_at:
        raise ProblemError(
            422,
            "as_of is an alias of as_known_at: give one of them",
            code="invalid-query",
            errors=[{"loc": ["query", "as_of"], "msg": "alias", "type": "invalid-query"}],
        )
    known_at = as_known_at if as_known_at is not None else as_of
    if (version is None) == (on is None and known_at is None):
        raise ProblemError(
            422,
            "give version=N, or on=<date> and/or as_known_at=<ISO 8601 instant>",
            code="invalid-query",
            errors=[
                {"loc": ["query"], "msg": "version, or on/as_known_at", "type": "invalid-query"}
            ],
        )
    if version is not None:
        return project_at_version(application, project_id, version).as_dict()
    if on is None:
        assert known_at is not None
        state = project_as_of(application, project_id, known_at).as_dict()
    else:
        state = project_on(application, project_id, on, known_at).as_dict()
    answer = {"on": on.isoformat()} if on is not None else {}
    if known_at is not None:
        answer |= {"as_known_at": known_at.isoformat(), "as_of": known_at.isoformat()}
    return state | answer


@router.get(
    "/events",
    operation_id=negotiates("get_events"),
    responses={
        **problem_responses(401, 403, 406, 422, 503),
        200: {
            "description": "A JSON page, or with `Accept: application/x-ndjson` a stream of "
            "the log's records, one JSON object a line (the lines of `tracker events export`).",
            "content": {NDJSON: {"schema": {"type": "string"}}},
        },
    },
)
def get_events(
    request: Request,
    _principal: AuditorPrincipal,
    services: ServicesDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="Start after this position.")] = 0,
    limit: Annotated[
        int | None, Query(ge=1, le=MAX_PAGE, description="At most this many (JSON: 100).")
    ] = None,
) -> Any:
    """The global log in position order: JSON pages, or an NDJSON stream on request."""
    application, engine = services.application, services.read_engine
    stop = application.recorder.max_notification_id() or 0
    if negotiate(request, None, ["json", "ndjson"]) == "ndjson":

        def lines() -> Iterator[bytes]:
            for record in export_records(
                application, stop, after=after, limit=limit, engine=engine
            ):
                yield canonical_json(record) + b"\n"

        return StreamingResponse(lines(), media_type=NDJSON)
    records = list(
        export_records(application, stop, after=after, limit=limit or 100, engine=engine)
    )
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
    "/audit/keys",
    operation_id="get_signing_keys",
    responses=problem_responses(503),
)
def get_signing_keys(application: AppDep) -> dict[str, Any]:
    """The public Ed25519 keys that sign the log's heads (public: anyone may check them)."""
    signer = application.signer
    return {
        "algorithm": "ed25519",
        "rule": SIGNED_HEAD_RULE,
        "current": signer.key_id if signer is not None else None,
        "keys": [
            {"key_id": key_id, "public_key": public_key}
            for key_id, public_key in sorted(application.signing_keys().items())
        ],
    }


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
