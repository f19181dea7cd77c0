"""GraphQL `projectHistory` and `projectAsOf`: auditors only, read from the event store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from domain.values import Health
from tests.factories import registered_project
from tracker.application.access import Role, create_token
from tracker.application.commands import AssessHealth
from tracker.application.services import Services
from tracker.asgi import create_app
from tracker.config.settings import Settings

HISTORY = """query($id: ID!) { projectHistory(id: $id) {
  position version type occurredOn recordedAt actor reason correlationId data hash } }"""
AS_OF = """query($id: ID!, $asOf: DateTime, $version: Int) {
  projectAsOf(id: $id, asOf: $asOf, version: $version) { id version health state } }"""


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, run_projector=False)) as test_client:
        yield test_client


@pytest.fixture
def services(client: TestClient) -> Services:
    opened: Services = client.app.state.services  # type: ignore[attr-defined]
    return opened


def _post(client: TestClient, services: Services, query: str, role: Role, **variables: Any) -> Any:
    token = create_token(services.application, role)[1]
    answer = client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    return answer.json()


@pytest.fixture
def project_id(services: Services) -> UUID:
    application = services.application
    project_id = registered_project(application)
    application.execute(
        AssessHealth(project_id=project_id, health=Health.AT_RISK, reason="r"),
        application.meta("tok_s", "c"),
    )
    return project_id


def test_project_history_lists_the_recorded_events(
    client: TestClient, services: Services, project_id: UUID
) -> None:
    body = _post(client, services, HISTORY, Role.AUDITOR, id=str(project_id))
    assert "errors" not in body, body
    events = body["data"]["projectHistory"]
    assert [(e["version"], e["type"]) for e in events] == [
        (1, "ProjectRegistered"),
        (2, "HealthAssessed"),
    ]
    assert (events[1]["actor"], events[1]["reason"], events[1]["data"]) == (
        "tok_s",
        "r",
        {"health": "at_risk"},
    )
    assert len(events[1]["hash"]) == 64


def test_project_as_of_a_version_and_an_instant(
    client: TestClient, services: Services, project_id: UUID
) -> None:
    by_version = _post(client, services, AS_OF, Role.AUDITOR, id=str(project_id), version=1)
    assert by_version["data"]["projectAsOf"]["health"] == "on_track"
    events: list[Any] = list(services.application.events.get(project_id))
    instant = events[1].timestamp.isoformat()
    by_instant = _post(client, services, AS_OF, Role.AUDITOR, id=str(project_id), asOf=instant)
    state = by_instant["data"]["projectAsOf"]
    assert (state["version"], state["health"], state["state"]["health"]) == (
        2,
        "at_risk",
        "at_risk",
    )
    before = _post(
        client, services, AS_OF, Role.AUDITOR, id=str(project_id), asOf="2000-01-01T00:00:00Z"
    )
    assert before["data"]["projectAsOf"] is None
    neither = _post(client, services, AS_OF, Role.AUDITOR, id=str(project_id))
    assert neither["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ADMIN])
def test_only_auditors_read_history_in_graphql(
    client: TestClient, services: Services, project_id: UUID, role: Role
) -> None:
    body = _post(client, services, HISTORY, role, id=str(project_id))
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
