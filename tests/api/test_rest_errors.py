"""Every error is problem+json: unknown routes, wrong methods, malformed and oversized
bodies, storage failures and bugs; the request id is accepted or made, and echoed."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
import sqlalchemy.exc
from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.conftest import assert_problem
from tracker.config.settings import Settings


def test_an_unknown_route_is_a_404_problem(client: TestClient) -> None:
    problem = assert_problem(client.get("/api/v1/nothing-here"), 404)
    assert problem["instance"] == "/api/v1/nothing-here"


def test_a_wrong_method_is_a_405_problem_allowing_every_method_of_the_path(
    client: TestClient,
) -> None:
    response = client.put("/api/v1/labs")
    assert_problem(response, 405)
    # RFC 9110: every method of the path, not only those of the first route matching it.
    assert response.headers["Allow"] == "GET, POST"


def test_malformed_json_is_400(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    response = client.post(
        f"/api/v1/projects/{project}/health",
        content=b'{"health": "at_risk",',
        headers=staff | {"Content-Type": "application/json"},
    )
    assert assert_problem(response, 400)["type"].endswith("malformed-json")


def test_a_body_that_is_not_an_object_is_422(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    for content in [b"[]", b'"text"', b"null", b"42"]:
        response = client.post(
            f"/api/v1/projects/{project}/health",
            content=content,
            headers=staff | {"Content-Type": "application/json"},
        )
        assert_problem(response, 422)


def test_a_body_over_the_limit_is_413(
    client: TestClient, staff: dict[str, str], project: uuid.UUID, settings: Settings
) -> None:
    padding = "x" * settings.max_body_bytes
    response = client.post(
        f"/api/v1/projects/{project}/health",
        json={"health": "at_risk", "reason": padding},
        headers=staff,
    )
    assert_problem(response, 413)


def test_a_streamed_body_over_the_limit_is_413(
    client: TestClient, staff: dict[str, str], project: uuid.UUID, settings: Settings
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"health": "at_risk", "reason": "'
        for _ in range(settings.max_body_bytes // 1024 + 2):
            yield b"x" * 1024
        yield b'"}'

    response = client.post(
        f"/api/v1/projects/{project}/health",
        content=chunks(),
        headers=staff | {"Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413)


def test_a_body_just_under_the_limit_is_read(
    client: TestClient, staff: dict[str, str], project: uuid.UUID, settings: Settings
) -> None:
    response = client.post(
        f"/api/v1/projects/{project}/decisions",
        json={"title": "t", "decision": "d", "rationale": "r", "reason": "x" * 1500},
        headers=staff,
    )
    assert response.status_code == 201


def test_a_valid_request_id_is_echoed_and_an_invalid_one_replaced(client: TestClient) -> None:
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123_x.y"}).headers["X-Request-ID"]
        == "abc-123_x.y"
    )
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id!" + "x" * 200})
    assert replaced.headers["X-Request-ID"] != "bad id"
    assert 1 <= len(replaced.headers["X-Request-ID"]) <= 128
    made = client.get("/healthz").headers["X-Request-ID"]
    assert made
    assert made != client.get("/healthz").headers["X-Request-ID"]


def test_problems_carry_the_request_id(client: TestClient) -> None:
    response = client.get("/api/v1/nowhere", headers={"X-Request-ID": "trace-1"})
    assert assert_problem(response, 404)["request_id"] == "trace-1"


@pytest.fixture
def failing_app(app: FastAPI) -> FastAPI:
    """The real app plus routes that raise what a broken database or a bug would raise."""
    failures: dict[str, Exception] = {
        "psycopg": psycopg.OperationalError("connection refused"),
        "store-operational": OperationalError("server closed the connection"),
        "store-interface": InterfaceError("connection already closed"),
        "sqlalchemy": sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("gone")),
        "bug": RuntimeError("secret internals /etc/passwd"),
    }

    def failing(error: Exception) -> Callable[[], None]:
        def fail() -> None:
            raise error

        return fail

    for name, error in failures.items():
        app.add_api_route(f"/test-failures/{name}", failing(error), methods=["GET"])
    return app


@pytest.mark.parametrize("name", ["psycopg", "store-operational", "store-interface", "sqlalchemy"])
def test_storage_unavailable_is_503(failing_app: FastAPI, name: str) -> None:
    with TestClient(failing_app) as client:
        response = client.get(f"/test-failures/{name}")
    assert assert_problem(response, 503)["type"].endswith("storage-unavailable")
    assert "Retry-After" in response.headers


def test_an_unexpected_exception_is_a_generic_problem_without_internals(
    failing_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(failing_app) as client:
        response = client.get("/test-failures/bug", headers={"X-Request-ID": "bug-7"})
    problem = assert_problem(response, 500)
    assert "passwd" not in response.text
    assert problem["request_id"] == "bug-7"
    (logged,) = [r for r in caplog.records if r.exc_info and "bug-7" in str(r.msg)]
    assert logged.exc_info is not None
    assert isinstance(logged.exc_info[1], RuntimeError)
