"""GraphQL tells the clients' mistakes from the server's faults: forged cursors are
BAD_USER_INPUT (never an internal error), client mistakes are logged at INFO without a
traceback, faults at ERROR with one."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from projections import queries
from tracker.application.access import Role, create_token
from tracker.asgi import create_app
from tracker.config.settings import Settings


def forged(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode()


def traceback_of(record: logging.LogRecord) -> Any:
    """The exception a log line carries (structlog passes it in its event dict)."""
    if record.exc_info:
        return record.exc_info[1]
    return record.msg.get("exc_info") if isinstance(record.msg, dict) else None


@pytest.fixture
def graphql(database_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        services = client.app.state.services  # type: ignore[attr-defined]
        token = create_token(services.application, Role.VIEWER, name="errors")[1]
        yield client, {"Authorization": f"Bearer {token}"}


def first_error(graphql: tuple[TestClient, dict[str, str]], query: str, **variables: Any) -> Any:
    client, headers = graphql
    response = client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    errors = response.json()["errors"]
    return errors[0]


@pytest.mark.parametrize(
    ("field", "cursor"),
    [
        ("projects", forged(2**70)),
        ("projects", forged(-1)),
        ("projects", forged(True)),
        ("projects", forged({"a": 1})),
        ("activity", forged(2**70)),
        ("activity", forged("12")),
        ("milestones", forged("2024-01-01", {"a": 1}, 1)),
        ("milestones", forged(["2024-01-01"], "p", "m")),
        ("milestones", forged("2024-13-01", "p", "m")),
        ("milestones", "A" * 10_000),
    ],
)
def test_a_forged_cursor_is_bad_user_input(
    graphql: tuple[TestClient, dict[str, str]], field: str, cursor: str
) -> None:
    error = first_error(
        graphql,
        f"query($after: String) {{ {field}(after: $after) {{ totalCount }} }}",
        after=cursor,
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_client_mistake_is_logged_at_info_without_a_traceback(
    graphql: tuple[TestClient, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    error = first_error(graphql, "{ projects(first: 1000) { totalCount } }")
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    graphql_records = [r for r in caplog.records if "graphql" in r.name]
    assert graphql_records
    assert all(r.levelno == logging.INFO and not traceback_of(r) for r in graphql_records)
    assert not [r for r in caplog.records if r.name.startswith("strawberry")]


@pytest.mark.server_fault
def test_a_server_fault_is_logged_at_error_with_its_traceback(
    graphql: tuple[TestClient, dict[str, str]],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("bug-in-labs")

    monkeypatch.setattr(queries, "all_labs", broken)
    error = first_error(graphql, "{ labs { slug } }")
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "bug-in-labs" not in error["message"]
    (logged,) = [r for r in caplog.records if r.levelno == logging.ERROR and traceback_of(r)]
    assert isinstance(traceback_of(logged), RuntimeError)
