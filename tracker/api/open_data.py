"""Open data: the Frictionless Data Package of the labs that chose to publish, public
(no token), CSV resources in UTF-8 beside its `datapackage.json` (docs/open-data.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from tracker.api.deps import ServicesDep
from tracker.api.formats import negotiates, require_accepted
from tracker.api.problems import ProblemError, problem_responses
from tracker.exports.open_data import descriptor, resource_csv, resource_named

router = APIRouter(prefix="/api/v1/open-data", tags=["open data"])


@router.get(
    "/datapackage.json",
    operation_id="get_open_data_package",
    responses=problem_responses(503),
)
def get_open_data_package(services: ServicesDep) -> dict[str, Any]:
    """The Data Package descriptor: resources, Table Schemas (French), licence."""
    return descriptor(services.application.today())


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
    request: Request, resource: Annotated[str, Path(max_length=64)], services: ServicesDep
) -> Response:
    """One resource of the package as CSV (UTF-8), for the labs that publish."""
    require_accepted(request, "csv")
    found = resource_named(resource)
    if found is None:
        raise ProblemError(404, f"no open-data resource {resource!r}", code="not-found")
    return Response(resource_csv(services, found), media_type="text/csv; charset=utf-8")
