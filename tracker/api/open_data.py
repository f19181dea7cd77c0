"""Open data: the Frictionless Data Package of the labs that chose to publish, public
(no token), CSV resources in UTF-8 beside its `datapackage.json` (docs/open-data.md).

Both take `on` (a business date) and `as_known_at` (an instant), as a project's `/state`
does: the published state on that date as known then."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import Response

from tracker.api.commands import IsoDate, IsoInstant
from tracker.api.deps import ServicesDep
from tracker.api.formats import negotiates, require_accepted
from tracker.api.problems import ProblemError, problem_responses
from tracker.api.routing import api_router
from tracker.exports.open_data import Moment, descriptor, resource_csv, resource_named

router = api_router(prefix="/api/v1/open-data", tags=["open data"])

OnQuery = Annotated[
    IsoDate | None,
    Query(description="A business date: the state on that date (events dated on or before)."),
]
AsKnownAtQuery = Annotated[
    IsoInstant | None,
    Query(description="An ISO 8601 instant: only what was recorded by then (naive: UTC)."),
]


@router.get(
    "/datapackage.json",
    operation_id="get_open_data_package",
    responses=problem_responses(422, 503),
)
def get_open_data_package(
    services: ServicesDep, on: OnQuery = None, as_known_at: AsKnownAtQuery = None
) -> dict[str, Any]:
    """The Data Package descriptor: resources, Table Schemas (French), licence; at a
    business date `on` as known at `as_known_at` when given (its resource paths carry them)."""
    moment = Moment(on, as_known_at)
    return descriptor(services.application.today(), moment, moment.query())


@router.get(
    "/{resource}.csv",
    operation_id=negotiates("get_open_data_resource"),
    response_class=Response,
    responses={
        **problem_responses(404, 422, 503),
        200: {
            "description": "The resource, UTF-8 CSV with a header row.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
    },
)
def get_open_data_resource(
    request: Request,
    resource: Annotated[str, Path(max_length=64)],
    services: ServicesDep,
    on: OnQuery = None,
    as_known_at: AsKnownAtQuery = None,
) -> Response:
    """One resource of the package as CSV (UTF-8), for the labs that publish; at a business
    date `on` as known at `as_known_at` when given."""
    require_accepted(request, "csv")
    found = resource_named(resource)
    if found is None:
        raise ProblemError(404, f"no open-data resource {resource!r}", code="not-found")
    moment = Moment(on, as_known_at)
    return Response(resource_csv(services, found, moment), media_type="text/csv; charset=utf-8")
