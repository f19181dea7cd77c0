"""The training programme over REST: staff schedule, reschedule, hold and cancel actions;
admins register campaigns; everyone reads them, and lists actions by lab, format, campaign
and period."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from projections.runner import PROJECTIONS, ProjectionWorker
from tests.api.conftest import TokenFactory, assert_problem, register_project
from tests.factories import unique_slug
from tracker.application.commands import RegisterLab
from tracker.application.services import Services

NOVEMBER = {"starts_on": "2020-11-02", "ends_on": "2020-11-30"}


def module_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Module 2 « Design de services : du test au déploiement »",
        "format": "module",
        "sessions": [{"date": "2020-11-23"}, {"date": "2020-11-24"}],
        "mode": "in_person",
        "place": {"code": "58194", "cog_year": 2020},
        "partners": ["CNFPT"],
        "audiences": ["communes_epci", "state"],
        "capacity": 20,
    }
    return body | overrides


def schedule(client: TestClient, lab: str, staff: dict[str, str], **overrides: Any) -> str:
    response = client.post(
        f"/api/v1/labs/{lab}/trainings", json=module_body(**overrides), headers=staff
    )
    assert response.status_code == 201, response.text
    training_id: str = response.json()["training_id"]
    assert response.headers["Location"] == f"/api/v1/trainings/{training_id}"
    return training_id


def register_campaign(client: TestClient, tokens: TokenFactory) -> str:
    slug = unique_slug("mois")
    response = client.post(
        "/api/v1/campaigns",
        json={
            "slug": slug,
            "name": "Mois de l'innovation publique 2020",
            "theme": "la transformation publique au cœur des territoires",
            "organiser": "DITP",
            **NOVEMBER,
        },
        headers=tokens("admin"),
    )
    assert response.status_code == 201, response.text
    return slug


def catch_up(services: Services) -> None:
    for projection in PROJECTIONS:
        ProjectionWorker(services, projection).run_until_caught_up()


def test_staff_schedule_an_action_and_read_it_back(
    client: TestClient, lab: str, staff: dict[str, str], tokens: TokenFactory
) -> None:
    training_id = schedule(client, lab, staff, registration_ref="L3C10001")
    response = client.get(f"/api/v1/trainings/{training_id}", headers=tokens("viewer"))
    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    action = response.json()
    assert (action["lab"], action["format_label"], action["status"]) == (
        lab,
        "Module de formation",
        "scheduled",
    )
    assert action["sessions"] == [{"date": "2020-11-23"}, {"date": "2020-11-24"}]
    assert action["registration_ref"] == "L3C10001"


def test_staff_of_another_lab_cannot_schedule(
    client: TestClient, lab: str, tokens: TokenFactory
) -> None:
    response = client.post(
        f"/api/v1/labs/{lab}/trainings",
        json=module_body(),
        headers=tokens("staff", unique_slug("other")),
    )
    assert_problem(response, 403)


def test_an_action_in_person_without_a_place_is_refused(
    client: TestClient, lab: str, staff: dict[str, str]
) -> None:
    response = client.post(
        f"/api/v1/labs/{lab}/trainings", json=module_body(place=None), headers=staff
    )
    assert assert_problem(response, 422)["type"].endswith("place-required")


def test_sessions_out_of_order_are_refused(
    client: TestClient, lab: str, staff: dict[str, str]
) -> None:
    sessions = [{"date": "2020-11-24"}, {"date": "2020-11-23"}]
    response = client.post(
        f"/api/v1/labs/{lab}/trainings", json=module_body(sessions=sessions), headers=staff
    )
    assert assert_problem(response, 422)["type"].endswith("dates-out-of-order")


def test_an_unknown_campaign_is_refused(
    client: TestClient, lab: str, staff: dict[str, str]
) -> None:
    response = client.post(
        f"/api/v1/labs/{lab}/trainings",
        json=module_body(campaign=unique_slug("nulle")),
        headers=staff,
    )
    assert assert_problem(response, 404)["type"].endswith("campaign-not-found")


def test_a_project_of_another_lab_is_refused(
    client: TestClient, lab: str, staff: dict[str, str], app_services: Services
) -> None:
    other = unique_slug("other")
    application = app_services.application
    application.execute(
        RegisterLab(slug=other, name="Autre", region_code="84"), application.meta("t", "c")
    )
    project = register_project(application, other)
    response = client.post(
        f"/api/v1/labs/{lab}/trainings",
        json=module_body(project_ids=[str(project)]),
        headers=staff,
    )
    assert assert_problem(response, 409)["type"].endswith("project-of-another-lab")


def test_reschedule_then_hold_with_attendance_by_audience(
    client: TestClient, lab: str, staff: dict[str, str]
) -> None:
    training_id = schedule(client, lab, staff)
    url = f"/api/v1/trainings/{training_id}"
    moved = client.post(
        f"{url}/reschedule",
        json={"sessions": [{"date": "2020-11-30"}], "reason": "confinement"},
        headers=staff,
    )
    assert moved.status_code == 200, moved.text
    held = client.post(
        f"{url}/hold",
        json={"attendance": 18, "attendance_by_audience": {"communes_epci": 12, "state": 4}},
        headers={**staff, "If-Match": '"2"', "Idempotency-Key": str(uuid.uuid4())},
    )
    assert held.status_code == 200, held.text
    action = client.get(url, headers=staff).json()
    assert (action["status"], action["attendance"], action["version"]) == ("held", 18, 3)
    assert action["reschedules"][0]["previous_dates"] == ["2020-11-23", "2020-11-24"]


def test_rescheduling_without_a_reason_is_refused(
    client: TestClient, lab: str, staff: dict[str, str]
) -> None:
    training_id = schedule(client, lab, staff)
    response = client.post(
        f"/api/v1/trainings/{training_id}/reschedule",
        json={"sessions": [{"date": "2020-11-30"}]},
        headers=staff,
    )
    assert assert_problem(response, 422)["type"].endswith("reason-required")


def test_holding_above_capacity_without_a_reason_is_refused(
    client: TestClient, lab: str, staff: dict[str, str]
) -> None:
    training_id = schedule(client, lab, staff)
    response = client.post(
        f"/api/v1/trainings/{training_id}/hold", json={"attendance": 25}, headers=staff
    )
    assert assert_problem(response, 422)["type"].endswith("attendance-above-capacity")


def test_holding_a_cancelled_action_is_a_conflict(
    client: TestClient, lab: str, staff: dict[str, str]
) -> None:
    training_id = schedule(client, lab, staff)
    url = f"/api/v1/trainings/{training_id}"
    cancelled = client.post(f"{url}/cancel", json={"reason": "formateur absent"}, headers=staff)
    assert cancelled.status_code == 200, cancelled.text
    response = client.post(f"{url}/hold", json={"attendance": 5}, headers=staff)
    problem = assert_problem(response, 409)
    assert problem["type"].endswith("training-cancelled")
    assert problem["detail"] == (
        f"l'action de formation {training_id} a été annulée : elle ne peut plus être tenue"
    )


def test_a_stale_if_match_writes_nothing(
    client: TestClient, lab: str, staff: dict[str, str]
) -> None:
    training_id = schedule(client, lab, staff)
    response = client.patch(
        f"/api/v1/trainings/{training_id}",
        json={"capacity": 30},
        headers={**staff, "If-Match": '"7"'},
    )
    assert_problem(response, 412)


def test_an_unknown_training_is_404(client: TestClient, staff: dict[str, str]) -> None:
    assert_problem(client.get(f"/api/v1/trainings/{uuid.uuid4()}", headers=staff), 404)
    assert_problem(client.get("/api/v1/trainings/pas-un-uuid", headers=staff), 404)


def test_only_admins_register_campaigns(
    client: TestClient, tokens: TokenFactory, staff: dict[str, str]
) -> None:
    body = {"slug": unique_slug("mois"), "name": "Mois", "organiser": "DITP", **NOVEMBER}
    assert_problem(client.post("/api/v1/campaigns", json=body, headers=staff), 403)


def test_a_campaign_ending_before_it_starts_is_refused(
    client: TestClient, tokens: TokenFactory
) -> None:
    body = {
        "slug": unique_slug("mois"),
        "name": "Mois",
        "organiser": "DITP",
        "starts_on": "2020-11-30",
        "ends_on": "2020-11-02",
    }
    response = client.post("/api/v1/campaigns", json=body, headers=tokens("admin"))
    assert assert_problem(response, 422)["type"].endswith("dates-out-of-order")


def test_a_campaign_slug_is_registered_once(client: TestClient, tokens: TokenFactory) -> None:
    slug = register_campaign(client, tokens)
    body = {"slug": slug, "name": "Encore", "organiser": "DITP", **NOVEMBER}
    response = client.post("/api/v1/campaigns", json=body, headers=tokens("admin"))
    assert assert_problem(response, 409)["type"].endswith("campaign-already-registered")


def test_the_list_finds_a_campaigns_actions_across_labs(
    client: TestClient,
    lab: str,
    staff: dict[str, str],
    tokens: TokenFactory,
    app_services: Services,
) -> None:
    campaign = register_campaign(client, tokens)
    first = schedule(client, lab, staff, campaign=campaign)
    schedule(client, lab, staff, campaign=campaign, sessions=[{"date": "2020-11-27"}])
    schedule(client, lab, staff)
    catch_up(app_services)
    viewer = tokens("viewer")
    page = client.get(
        "/api/v1/trainings", params={"campaign": campaign, "limit": 1}, headers=viewer
    ).json()
    assert [item["id"] for item in page["items"]] == [first]
    rest = client.get(
        "/api/v1/trainings",
        params={"campaign": campaign, "limit": 1, "after": page["next_after"]},
        headers=viewer,
    ).json()
    assert [item["sessions"] for item in rest["items"]] == [[{"date": "2020-11-27"}]]
    assert rest["next_after"] is None
    by_period = client.get(
        "/api/v1/trainings",
        params={"lab": lab, "format": "module", "from": "2020-11-25", "to": "2020-11-30"},
        headers=viewer,
    ).json()
    assert len(by_period["items"]) == 1
    read = client.get(f"/api/v1/campaigns/{campaign}", headers=viewer).json()
    assert (read["organiser"], read["starts_on"]) == ("DITP", "2020-11-02")


def test_auditors_read_an_actions_history_and_its_state_at_a_version(
    client: TestClient, lab: str, staff: dict[str, str], tokens: TokenFactory
) -> None:
    training_id = schedule(client, lab, staff)
    url = f"/api/v1/trainings/{training_id}"
    client.post(f"{url}/hold", json={"attendance": 15}, headers=staff).raise_for_status()
    auditor = tokens("auditor")

    history = client.get(f"{url}/events", headers=auditor).json()
    assert [e["type"] for e in history["items"]] == ["TrainingScheduled", "TrainingHeld"]
    assert all(e["hash"] for e in history["items"])
    first = client.get(f"{url}/state", params={"version": 1}, headers=auditor).json()
    assert (first["version"], first["status"]) == (1, "scheduled")
    now = client.get(f"{url}/state", params={"as_of": "2100-01-01T00:00:00Z"}, headers=auditor)
    assert now.json()["status"] == "held"


def test_only_auditors_read_an_actions_history(
    client: TestClient, lab: str, staff: dict[str, str]
) -> None:
    training_id = schedule(client, lab, staff)
    assert_problem(client.get(f"/api/v1/trainings/{training_id}/events", headers=staff), 403)


def test_a_project_is_not_a_training_action_to_auditors(
    client: TestClient, project: uuid.UUID, tokens: TokenFactory
) -> None:
    response = client.get(f"/api/v1/trainings/{project}/events", headers=tokens("auditor"))
    assert_problem(response, 404)
