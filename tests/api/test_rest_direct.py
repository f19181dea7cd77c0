"""Writes answered without FastAPI's dependency solver (tracker/api/routing.py): which routes
are, and that FastAPI's own handler still answers whatever is not plain success."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.conftest import assert_problem
from tracker.api.formats import json_only
from tracker.api.problems import ProblemError
from tracker.api.routes import routers
from tracker.api.routing import DirectRoute

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def test_every_write_route_answers_a_regular_request_directly() -> None:
    writes = [
        route
        for router in routers()
        for route in router.routes
        if WRITE_METHODS & set(getattr(route, "methods", ()))
    ]
    assert len(writes) >= 29
    for route in writes:
        assert isinstance(route, DirectRoute), route
        assert route.direct_plan() is not None, f"{route.methods} {route.path}"


def test_a_route_that_serialises_a_model_is_left_to_fastapi() -> None:
    reads = {route.path: route for router in routers() for route in router.routes}
    route = reads["/api/v1/labs"]
    assert isinstance(route, DirectRoute)
    assert route.direct_plan() is None  # it returns a list of models, not a Response


def test_a_write_with_a_regular_request_is_answered(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    response = client.post(
        f"/api/v1/projects/{project}/health",
        json={"health": "at_risk"},
        headers={**staff, "If-Match": '"1"', "Idempotency-Key": "direct-1"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    replay = client.post(
        f"/api/v1/projects/{project}/health",
        json={"health": "at_risk"},
        headers={**staff, "Idempotency-Key": "direct-1"},
    )
    assert replay.json() == response.json()
    assert replay.headers["Idempotency-Replayed"] == "true"


def test_dependency_overrides_are_honoured(
    app: FastAPI, client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    async def refuse() -> None:
        raise ProblemError(409, "overridden", code="overridden")

    app.dependency_overrides[json_only] = refuse
    try:
        response = client.post(
            f"/api/v1/projects/{project}/health", json={"health": "at_risk"}, headers=staff
        )
    finally:
        app.dependency_overrides.clear()
    assert assert_problem(response, 409)["detail"] == "overridden"
