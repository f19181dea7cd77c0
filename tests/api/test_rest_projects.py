"""Projects over REST: register, read, revise, phase gates, health, close and reopen."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from fastapi.testclient import TestClient

from tests.api.conftest import TokenFactory, assert_problem, project_body
from tests.factories import unique_slug
from tracker.application.access import authenticate
from tracker.application.service import TrackerApplication


def test_staff_register_a_project_in_their_lab(
    client: TestClient, staff: dict[str, str], lab: str
) -> None:
    response = client.post("/api/v1/projects", json=project_body(lab), headers=staff)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "version", "position"}
    assert body["version"] == 1
    assert response.headers["Location"] == f"/api/v1/projects/{body['id']}"
    assert response.headers["ETag"] == '"1"'
    state = client.get(response.headers["Location"], headers=staff)
    assert state.status_code == 200
    assert state.headers["ETag"] == '"1"'
    assert state.json()["title"] == "Une médiathèque repensée"
    assert state.json()["territories"] == [
        {"level": "commune", "code": "21231", "cog_year": 2024, "name": "Dijon"}
    ]
    assert state.json()["phase"] == "framing"


def test_events_record_the_token_id_as_actor_and_the_request_id_as_correlation(
    client: TestClient,
    tokens: TokenFactory,
    lab: str,
    api_application: TrackerApplication,
) -> None:
    raw = tokens.token("staff", lab)
    response = client.post(
        "/api/v1/projects",
        json=project_body(lab),
        headers={"Authorization": f"Bearer {raw}", "X-Request-ID": "req-42.abc"},
    )
    assert response.headers["X-Request-ID"] == "req-42.abc"
    project_id = uuid.UUID(response.json()["id"])
    (event,) = api_application.events.get(project_id)
    principal = authenticate(tokens.services.engine, raw)
    assert principal is not None
    assert event.actor == principal.token_id  # type: ignore[attr-defined]
    assert raw not in repr(event)
    assert event.correlation_id == "req-42.abc"  # type: ignore[attr-defined]


def test_an_unknown_project_is_404(client: TestClient, staff: dict[str, str]) -> None:
    assert_problem(client.get(f"/api/v1/projects/{uuid.uuid4()}", headers=staff), 404)
    assert_problem(client.get("/api/v1/projects/not-a-uuid", headers=staff), 404)
    assert_problem(
        client.post(
            f"/api/v1/projects/{uuid.uuid4()}/health", json={"health": "at_risk"}, headers=staff
        ),
        404,
    )


def test_a_project_in_an_unregistered_lab_is_404(client: TestClient, tokens: TokenFactory) -> None:
    ghost = unique_slug("ghost")
    response = client.post(
        "/api/v1/projects", json=project_body(ghost), headers=tokens("staff", ghost)
    )
    assert assert_problem(response, 404)["type"].endswith("lab-not-found")


def test_project_fields_are_validated(client: TestClient, staff: dict[str, str], lab: str) -> None:
    future = (date.today() + timedelta(days=3)).isoformat()
    invalid = [
        {"title": ""},
        {"title": "x" * 201},
        {"themes": ["ok"] * 21},
        {"territories": [{"level": "commune", "code": "2154", "cog_year": 2024}]},
        {"territories": [{"level": "region", "code": "21231", "cog_year": 2024}]},
        {"territories": [{"level": "canton", "code": "21", "cog_year": 2024}]},
        {"territories": [{"level": "commune", "code": "21231", "cog_year": 1800}]},
        {"started_on": "01/09/2025"},
        {"started_on": 1700000000},
        {"started_on": future},
        {"occurred_on": future},
        {"unknown": True},
    ]
    for overrides in invalid:
        response = client.post(
            "/api/v1/projects", json=project_body(lab, **overrides), headers=staff
        )
        problem = assert_problem(response, 422)
        assert problem["errors"], overrides


def test_staff_revise_a_project(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    response = client.patch(
        f"/api/v1/projects/{project}",
        json={"summary": "Nouveau résumé", "themes": ["ruralité", "santé"], "reason": "cadrage"},
        headers=staff,
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    state = client.get(f"/api/v1/projects/{project}", headers=staff).json()
    assert state["summary"] == "Nouveau résumé"
    assert state["themes"] == ["ruralité", "santé"]


def test_a_revision_must_change_something(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    response = client.patch(f"/api/v1/projects/{project}", json={"reason": "rien"}, headers=staff)
    assert assert_problem(response, 422)["errors"]


def test_phases_go_forward_one_step_and_iterate_back_with_a_reason(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    url = f"/api/v1/projects/{project}/phase"
    assert (
        client.post(url, json={"phase": "discovery", "decision": "go"}, headers=staff).status_code
        == 200
    )
    skipped = client.post(url, json={"phase": "prototyping", "decision": "go"}, headers=staff)
    assert assert_problem(skipped, 409)["type"].endswith("phase-skipped")
    no_reason = client.post(url, json={"phase": "framing", "decision": "iterate"}, headers=staff)
    assert_problem(no_reason, 422)
    back = client.post(
        url, json={"phase": "framing", "decision": "iterate", "reason": "revoir"}, headers=staff
    )
    assert back.status_code == 200
    assert client.get(f"/api/v1/projects/{project}", headers=staff).json()["phase"] == "framing"
    assert_problem(
        client.post(url, json={"phase": "nowhere", "decision": "go"}, headers=staff), 422
    )


def test_health_is_assessed(client: TestClient, staff: dict[str, str], project: uuid.UUID) -> None:
    url = f"/api/v1/projects/{project}/health"
    response = client.post(url, json={"health": "off_track", "reason": "budget"}, headers=staff)
    assert response.status_code == 200
    assert client.get(f"/api/v1/projects/{project}", headers=staff).json()["health"] == "off_track"
    assert_problem(client.post(url, json={"health": "great"}, headers=staff), 422)


def test_a_closed_project_accepts_only_reopen(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    base = f"/api/v1/projects/{project}"
    assert_problem(client.post(f"{base}/close", json={"outcome": "scaled"}, headers=staff), 422)
    assert_problem(client.post(f"{base}/reopen", json={"reason": "x"}, headers=staff), 409)
    closed = client.post(
        f"{base}/close", json={"outcome": "scaled", "reason": "fin"}, headers=staff
    )
    assert closed.status_code == 200
    refused = client.post(f"{base}/health", json={"health": "at_risk"}, headers=staff)
    assert assert_problem(refused, 409)["type"].endswith("project-closed")
    assert_problem(client.post(f"{base}/reopen", json={}, headers=staff), 422)
    reopened = client.post(f"{base}/reopen", json={"reason": "relance"}, headers=staff)
    assert reopened.status_code == 200
    state = client.get(base, headers=staff).json()
    assert state["status"] == "active"
    assert state["outcome"] is None


def test_backdated_writes_are_accepted(
    client: TestClient,
    staff: dict[str, str],
    project: uuid.UUID,
    api_application: TrackerApplication,
) -> None:
    response = client.post(
        f"/api/v1/projects/{project}/health",
        json={"health": "at_risk", "occurred_on": "2025-02-03"},
        headers=staff,
    )
    assert response.status_code == 200
    assert list(api_application.events.get(project))[-1].occurred_on == date(2025, 2, 3)  # type: ignore[attr-defined]
