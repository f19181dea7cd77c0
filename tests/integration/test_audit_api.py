"""The auditor's REST routes, through the real ASGI app, on both stores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from domain.values import Health
from tests.factories import registered_project
from tracker.application.access import Role, create_token
from tracker.application.commands import AssessHealth
from tracker.application.service import TrackerApplication
from tracker.application.services import Services
from tracker.asgi import create_app
from tracker.audit.export import canonical_json, export_records
from tracker.config.settings import Settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, run_projector=False)) as test_client:
        yield test_client


@pytest.fixture
def services(client: TestClient) -> Services:  # the app's own services
    opened: Services = client.app.state.services  # type: ignore[attr-defined]
    return opened


@pytest.fixture
def application(services: Services) -> TrackerApplication:
    return services.application


def _headers(services: Services, role: Role = Role.AUDITOR) -> dict[str, str]:
    lab = "lab-any" if role is Role.STAFF else None
    return {"Authorization": f"Bearer {create_token(services.application, role, lab=lab)[1]}"}


@pytest.fixture
def auditor(services: Services) -> dict[str, str]:
    return _headers(services)


@pytest.fixture
def project_id(application: TrackerApplication) -> UUID:
    project_id = registered_project(application)
    for health in (Health.AT_RISK, Health.OFF_TRACK):
        application.execute(
            AssessHealth(project_id=project_id, health=health, reason="r"),
            application.meta("tok_s", "c"),
        )
    return project_id


def test_a_projects_history_is_listed_and_paged(
    client: TestClient, auditor: dict[str, str], project_id: UUID
) -> None:
    first = client.get(f"/api/v1/projects/{project_id}/events?limit=2", headers=auditor)
    assert first.status_code == 200, first.text
    body = first.json()
    assert [e["version"] for e in body["items"]] == [1, 2]
    assert body["next_after"] == 2
    assessed = body["items"][1]
    assert set(assessed) == {
        "position", "originator_id", "version", "type", "occurred_on", "recorded_at",
        "actor", "actor_name", "actor_name_erased", "reason", "correlation_id", "data", "hash",
    }  # fmt: skip
    assert (assessed["type"], assessed["actor"], assessed["reason"]) == (
        "HealthAssessed",
        "tok_s",
        "r",
    )
    assert len(assessed["hash"]) == 64
    rest = client.get(f"/api/v1/projects/{project_id}/events?after=2", headers=auditor).json()
    assert [e["version"] for e in rest["items"]] == [3]
    assert rest["next_after"] is None


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ADMIN, Role.STAFF])
def test_only_auditors_read_the_history(
    client: TestClient, services: Services, project_id: UUID, role: Role
) -> None:
    answer = client.get(f"/api/v1/projects/{project_id}/events", headers=_headers(services, role))
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/audit/verify").status_code == 401


def test_an_unknown_project_is_404(client: TestClient, auditor: dict[str, str]) -> None:
    answer = client.get(f"/api/v1/projects/{uuid4()}/events", headers=auditor)
    assert answer.status_code == 404
    assert answer.json()["status"] == 404


def test_state_at_a_version_and_as_of_an_instant(
    client: TestClient, auditor: dict[str, str], application: TrackerApplication, project_id: UUID
) -> None:
    at_two = client.get(f"/api/v1/projects/{project_id}/state?version=2", headers=auditor)
    assert at_two.status_code == 200, at_two.text
    assert (at_two.json()["version"], at_two.json()["health"]) == (2, "at_risk")
    events: list[Any] = list(application.events.get(project_id))
    instant = events[0].timestamp.isoformat()
    as_of = client.get(
        f"/api/v1/projects/{project_id}/state", params={"as_of": instant}, headers=auditor
    )
    assert as_of.status_code == 200, as_of.text
    assert (as_of.json()["version"], as_of.json()["health"]) == (1, "on_track")
    now = client.get(
        f"/api/v1/projects/{project_id}/state",
        params={"as_of": datetime.now(UTC).isoformat()},
        headers=auditor,
    )
    assert now.json()["version"] == 3
    before = client.get(
        f"/api/v1/projects/{project_id}/state",
        params={"as_of": "2000-01-01T00:00:00Z"},
        headers=auditor,
    )
    assert before.status_code == 404


@pytest.mark.parametrize(
    "query", ["", "?version=1&as_of=2026-01-01T00:00:00Z", "?version=0", "?as_of=yesterday"]
)
def test_state_needs_exactly_one_valid_version_or_instant(
    client: TestClient, auditor: dict[str, str], project_id: UUID, query: str
) -> None:
    answer = client.get(f"/api/v1/projects/{project_id}/state{query}", headers=auditor)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_version_beyond_the_last_is_404(
    client: TestClient, auditor: dict[str, str], project_id: UUID
) -> None:
    answer = client.get(f"/api/v1/projects/{project_id}/state?version=9", headers=auditor)
    assert answer.status_code == 404


def test_the_global_log_pages_in_json_and_streams_ndjson(
    client: TestClient,
    auditor: dict[str, str],
    services: Services,
    application: TrackerApplication,
    project_id: UUID,
) -> None:
    head = application.recorder.max_notification_id() or 0
    after = head - 3
    page = client.get(f"/api/v1/events?after={after}&limit=2", headers=auditor).json()
    assert [e["position"] for e in page["items"]] == [after + 1, after + 2]
    assert page["next_after"] == after + 2
    streamed = client.get(
        f"/api/v1/events?after={after}", headers=auditor | {"Accept": "application/x-ndjson"}
    )
    assert streamed.status_code == 200
    assert streamed.headers["content-type"].startswith("application/x-ndjson")
    expected = b"".join(
        canonical_json(r) + b"\n"
        for r in export_records(application, head, after=after, engine=services.read_engine)
    )
    assert streamed.content == expected
    assert [json.loads(line)["position"] for line in streamed.content.splitlines()] == [
        after + 1,
        after + 2,
        after + 3,
    ]


def test_verify_answers_the_report_and_records_it(
    client: TestClient, auditor: dict[str, str], project_id: UUID
) -> None:
    answer = client.get("/api/v1/audit/verify", headers=auditor)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["intact"] is True, report["findings"]
    assert report["findings"] == []
    log = client.get("/api/v1/audit/admin-log?after=0&limit=1000", headers=auditor).json()
    recorded = [e for e in log["items"] if e["type"] == "AuditVerified"][-1]
    assert recorded["data"]["last_position"] == report["last_position"]
