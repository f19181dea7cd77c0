"""The whole suite's log check (tests/reliability/harness.py, tests/conftest.py): a client's
mistake must never be logged with a traceback, a server's fault may be."""

from __future__ import annotations

import json

import pytest

from tests.reliability.harness import client_mistakes_with_tracebacks

pytestmark = pytest.mark.reliability


def _log(*entries: dict[str, object]) -> str:
    return (
        "\n".join(json.dumps(entry) for entry in entries) + "\nuvicorn: a line that is not JSON\n"
    )


def _request(request_id: str, status: int) -> dict[str, object]:
    return {
        "event": "request",
        "logger": "tracker.access",
        "request_id": request_id,
        "status": status,
    }


def _traceback(request_id: str, event: str) -> dict[str, object]:
    return {
        "event": event,
        "level": "error",
        "logger": "tracker.graphql",
        "request_id": request_id,
        "exception": "Traceback (most recent call last): ...",
    }


def test_a_traceback_for_an_answer_below_500_is_found() -> None:
    log = _log(_traceback("r1", "graphql_error"), _request("r1", 200), _request("r2", 404))
    assert client_mistakes_with_tracebacks(log) == [
        "r1 answered 200: tracker.graphql: graphql_error"
    ]


def test_a_traceback_for_a_server_fault_is_not_a_clients_mistake() -> None:
    log = _log(_traceback("r1", "unhandled_error"), _request("r1", 500), _request("r2", 422))
    assert client_mistakes_with_tracebacks(log) == []
