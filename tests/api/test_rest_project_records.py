"""Milestones, partners, indicators, activities, decisions and funding over REST."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import assert_problem


def _state(client: TestClient, project: uuid.UUID, headers: dict[str, str]) -> dict[str, Any]:
    state: dict[str, Any] = client.get(f"/api/v1/projects/{project}", headers=headers).json()
    return state


def _plan(client: TestClient, project: uuid.UUID, staff: dict[str, str]) -> str:
    response = client.post(
        f"/api/v1/projects/{project}/milestones",
        json={"title": "Atelier de restitution", "due_on": "2026-03-01", "phase": "discovery"},
        headers=staff,
    )
    assert response.status_code == 201, response.text
    milestone_id: str = response.json()["milestone_id"]
    return milestone_id


def test_a_planned_milestone_is_named_in_the_answer(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    milestone_id = _plan(client, project, staff)
    (milestone,) = _state(client, project, staff)["milestones"]
    assert milestone["milestone_id"] == milestone_id
    assert milestone["status"] == "planned"


def test_a_milestone_is_rescheduled_with_a_reason(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    milestone_id = _plan(client, project, staff)
    url = f"/api/v1/projects/{project}/milestones/{milestone_id}/reschedule"
    assert_problem(client.post(url, json={"due_on": "2026-04-01"}, headers=staff), 422)
    same = client.post(url, json={"due_on": "2026-03-01", "reason": "x"}, headers=staff)
    assert assert_problem(same, 409)["type"].endswith("reschedule-to-same-date")
    moved = client.post(url, json={"due_on": "2026-04-01", "reason": "report"}, headers=staff)
    assert moved.status_code == 200
    (milestone,) = _state(client, project, staff)["milestones"]
    assert milestone["due_on"] == "2026-04-01"
    assert milestone["days_slipped"] == 31


def test_a_cancelled_milestone_cannot_be_achieved(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    milestone_id = _plan(client, project, staff)
    base = f"/api/v1/projects/{project}/milestones/{milestone_id}"
    assert_problem(client.post(f"{base}/cancel", json={}, headers=staff), 422)
    assert (
        client.post(f"{base}/cancel", json={"reason": "abandon"}, headers=staff).status_code == 200
    )
    refused = client.post(f"{base}/achieve", json={"achieved_on": "2025-06-01"}, headers=staff)
    assert assert_problem(refused, 409)["type"].endswith("milestone-not-planned")


def test_a_milestone_is_achieved_with_evidence(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    milestone_id = _plan(client, project, staff)
    url = f"/api/v1/projects/{project}/milestones/{milestone_id}/achieve"
    assert_problem(client.post(url, json={"achieved_on": "2999-01-01"}, headers=staff), 422)
    response = client.post(
        url, json={"achieved_on": "2025-06-01", "evidence": "compte rendu"}, headers=staff
    )
    assert response.status_code == 200
    (milestone,) = _state(client, project, staff)["milestones"]
    assert milestone["status"] == "achieved"


@pytest.mark.parametrize("action", ["reschedule", "achieve", "cancel"])
def test_an_unknown_milestone_is_404(
    client: TestClient, staff: dict[str, str], project: uuid.UUID, action: str
) -> None:
    body = {"due_on": "2026-01-01", "achieved_on": "2025-01-01", "reason": "x"}
    fields = {"reschedule": ["due_on", "reason"], "achieve": ["achieved_on"], "cancel": ["reason"]}
    response = client.post(
        f"/api/v1/projects/{project}/milestones/{uuid.uuid4()}/{action}",
        json={key: body[key] for key in fields[action]},
        headers=staff,
    )
    assert assert_problem(response, 404)["type"].endswith("milestone-not-found")


def test_partners_join_and_leave(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    url = f"/api/v1/projects/{project}/partners"
    joined = client.post(url, json={"name": "Commune de Dijon", "role": "porteur"}, headers=staff)
    assert joined.status_code == 201
    partner_id = joined.json()["partner_id"]
    again = client.post(url, json={"name": "commune de dijon", "role": "autre"}, headers=staff)
    assert assert_problem(again, 409)["type"].endswith("partner-already-joined")
    left = client.request(
        "DELETE", f"{url}/{partner_id}", json={"reason": "fin de convention"}, headers=staff
    )
    assert left.status_code == 200
    assert _state(client, project, staff)["partners"] == []
    assert_problem(client.delete(f"{url}/{partner_id}", headers=staff), 404)


def test_a_partner_leaves_without_a_body(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    url = f"/api/v1/projects/{project}/partners"
    partner_id = client.post(
        url, json={"name": "Région", "role": "financeur"}, headers=staff
    ).json()["partner_id"]
    assert client.delete(f"{url}/{partner_id}", headers=staff).status_code == 200


def test_indicators_are_defined_and_measured(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    url = f"/api/v1/projects/{project}/indicators"
    defined = client.post(
        url,
        json={"name": "Usagers", "unit": "personnes", "baseline": 0, "target": 500},
        headers=staff,
    )
    assert defined.status_code == 201
    indicator_id = defined.json()["indicator_id"]
    measured = client.post(
        f"{url}/{indicator_id}/measurements",
        json={"value": 120.5, "measured_on": "2025-05-01"},
        headers=staff,
    )
    assert measured.status_code == 200
    (indicator,) = _state(client, project, staff)["indicators"]
    assert indicator["value"] == 120.5
    missing = client.post(
        f"{url}/{uuid.uuid4()}/measurements",
        json={"value": 1, "measured_on": "2025-05-01"},
        headers=staff,
    )
    assert assert_problem(missing, 404)["type"].endswith("indicator-not-found")


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "unit": "", "baseline": 0, "target": 1},
        {"name": "x", "unit": "u", "baseline": "zero", "target": 1},
        {"name": "x", "unit": "u", "baseline": 0, "target": 1e300},
        {"name": "x", "unit": "u", "baseline": 0},
    ],
)
def test_indicator_fields_are_validated(
    client: TestClient, staff: dict[str, str], project: uuid.UUID, body: dict[str, Any]
) -> None:
    response = client.post(f"/api/v1/projects/{project}/indicators", json=body, headers=staff)
    assert assert_problem(response, 422)["errors"]


def test_a_non_finite_measurement_is_refused(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    url = f"/api/v1/projects/{project}/indicators"
    indicator_id = client.post(
        url, json={"name": "n", "unit": "u", "baseline": 0, "target": 1}, headers=staff
    ).json()["indicator_id"]
    response = client.post(
        f"{url}/{indicator_id}/measurements",
        content=b'{"value": NaN, "measured_on": "2025-05-01"}',
        headers=staff | {"Content-Type": "application/json"},
    )
    assert assert_problem(response, 422)["errors"][0]["loc"] == ["body", "value"]


def test_activities_are_logged_with_participant_counts(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    url = f"/api/v1/projects/{project}/activities"
    body = {
        "kind": "user_test",
        "title": "Test usagers",
        "held_on": "2025-05-02",
        "participants": 8,
    }
    response = client.post(url, json=body, headers=staff)
    assert response.status_code == 201
    (activity,) = _state(client, project, staff)["activities"]
    assert activity["activity_id"] == response.json()["activity_id"]
    for invalid in [
        {"participants": -1},
        {"participants": 2.5},
        {"participants": "8"},
        {"kind": "party"},
    ]:
        assert_problem(client.post(url, json=body | invalid, headers=staff), 422)


def test_decisions_are_recorded(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    url = f"/api/v1/projects/{project}/decisions"
    body = {"title": "Pivot", "decision": "On teste en mairie", "rationale": "Retours usagers"}
    response = client.post(url, json=body, headers=staff)
    assert response.status_code == 201
    assert (
        _state(client, project, staff)["decisions"][0]["decision_id"]
        == response.json()["decision_id"]
    )
    assert_problem(client.post(url, json=body | {"rationale": "x" * 2001}, headers=staff), 422)


def test_funding_is_committed_in_euro_cents(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    url = f"/api/v1/projects/{project}/funding"
    body = {"source": "FTAP", "amount_cents": 2_500_000, "fiscal_year": 2025}
    response = client.post(url, json=body, headers=staff)
    assert response.status_code == 201
    assert _state(client, project, staff)["funding"][0]["amount_cents"] == 2_500_000
    for invalid in [{"amount_cents": 10.5}, {"amount_cents": -1}, {"fiscal_year": 1999}]:
        assert_problem(client.post(url, json=body | invalid, headers=staff), 422)
