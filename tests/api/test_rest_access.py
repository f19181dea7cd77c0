"""Who may write what: every write route × every role × own or other lab.

Table-driven: each write route is described once (how to arrange the project, the request,
the success status); each case is one principal. Only staff of the project's lab may write
projects; only admins register labs; viewers, auditors and anonymous callers never write.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.values import Outcome, Phase
from tests.api.conftest import TokenFactory, assert_problem, project_body, register_project
from tests.factories import registered_campaign, scheduled_training, unique_slug
from tracker.application.commands import (
    AddPartner,
    CloseProject,
    DefineIndicator,
    PlanMilestone,
    RegisterLab,
)
from tracker.application.service import TrackerApplication


@dataclass(frozen=True)
class Arranged:
    project: uuid.UUID
    milestone: str = ""
    partner: str = ""
    indicator: str = ""
    training: uuid.UUID | None = None
    campaign: str = ""


def _meta(application: TrackerApplication) -> Any:
    return application.meta("tok_arrange", "arrange", date(2025, 2, 1))


def arrange(application: TrackerApplication, lab: str, closed: bool = False) -> Arranged:
    project = register_project(application, lab)
    milestone = application.execute(
        PlanMilestone(
            project_id=project, title="Atelier", due_on=date(2026, 3, 1), phase=Phase.DISCOVERY
        ),
        _meta(application),
    ).created_id
    partner = application.execute(
        AddPartner(project_id=project, name="Commune", role="porteur"), _meta(application)
    ).created_id
    indicator = application.execute(
        DefineIndicator(
            project_id=project, name="Usagers", unit="personnes", baseline=0, target=100
        ),
        _meta(application),
    ).created_id
    if closed:
        application.execute(
            CloseProject(project_id=project, outcome=Outcome.ABANDONED, reason="fin"),
            _meta(application),
        )
    assert milestone
    assert partner
    assert indicator
    training = scheduled_training(application, lab)
    return Arranged(
        project, milestone, partner, indicator, training, registered_campaign(application)
    )


@dataclass(frozen=True)
class WriteRoute:
    name: str
    method: str
    path: Callable[[Arranged], str]
    body: dict[str, Any] | None
    success: int
    closed: bool = False


P = "/api/v1/projects"
WRITE_ROUTES = [
    WriteRoute("revise", "PATCH", lambda a: f"{P}/{a.project}", {"title": "Nouveau titre"}, 200),
    WriteRoute(
        "phase",
        "POST",
        lambda a: f"{P}/{a.project}/phase",
        {"phase": "discovery", "decision": "go"},
        200,
    ),
    WriteRoute(
        "health",
        "POST",
        lambda a: f"{P}/{a.project}/health",
        {"health": "at_risk", "reason": "retard"},
        200,
    ),
    WriteRoute(
        "plan_milestone",
        "POST",
        lambda a: f"{P}/{a.project}/milestones",
        {"title": "Restitution", "due_on": "2026-05-01", "phase": "discovery"},
        201,
    ),
    WriteRoute(
        "reschedule",
        "POST",
        lambda a: f"{P}/{a.project}/milestones/{a.milestone}/reschedule",
        {"due_on": "2026-04-01", "reason": "report"},
        200,
    ),
    WriteRoute(
        "achieve",
        "POST",
        lambda a: f"{P}/{a.project}/milestones/{a.milestone}/achieve",
        {"achieved_on": "2025-03-01", "evidence": "compte rendu"},
        200,
    ),
    WriteRoute(
        "cancel",
        "POST",
        lambda a: f"{P}/{a.project}/milestones/{a.milestone}/cancel",
        {"reason": "abandon"},
        200,
    ),
    WriteRoute(
        "add_partner",
        "POST",
        lambda a: f"{P}/{a.project}/partners",
        {"name": "Département", "role": "financeur"},
        201,
    ),
    WriteRoute(
        "remove_partner", "DELETE", lambda a: f"{P}/{a.project}/partners/{a.partner}", None, 200
    ),
    WriteRoute(
        "define_indicator",
        "POST",
        lambda a: f"{P}/{a.project}/indicators",
        {"name": "Satisfaction", "unit": "%", "baseline": 40, "target": 80},
        201,
    ),
    WriteRoute(
        "measure",
        "POST",
        lambda a: f"{P}/{a.project}/indicators/{a.indicator}/measurements",
        {"value": 12, "measured_on": "2025-04-01"},
        200,
    ),
    WriteRoute(
        "activity",
        "POST",
        lambda a: f"{P}/{a.project}/activities",
        {"kind": "workshop", "title": "Atelier", "held_on": "2025-04-02", "participants": 12},
        201,
    ),
    WriteRoute(
        "decision",
        "POST",
        lambda a: f"{P}/{a.project}/decisions",
        {"title": "Pivot", "decision": "On teste", "rationale": "Les retours"},
        201,
    ),
    WriteRoute(
        "funding",
        "POST",
        lambda a: f"{P}/{a.project}/funding",
        {"source": "FTAP", "amount_cents": 1500000, "fiscal_year": 2025},
        201,
    ),
    WriteRoute(
        "close",
        "POST",
        lambda a: f"{P}/{a.project}/close",
        {"outcome": "deployed", "reason": "fini"},
        200,
    ),
    WriteRoute(
        "reopen", "POST", lambda a: f"{P}/{a.project}/reopen", {"reason": "relance"}, 200, True
    ),
]

T = "/api/v1/trainings"
TRAINING_WRITE_ROUTES = [
    WriteRoute("revise_training", "PATCH", lambda a: f"{T}/{a.training}", {"capacity": 40}, 200),
    WriteRoute(
        "reschedule_training",
        "POST",
        lambda a: f"{T}/{a.training}/reschedule",
        {"sessions": [{"date": "2025-12-07"}], "reason": "report"},
        200,
    ),
    WriteRoute(
        "hold_training",
        "POST",
        lambda a: f"{T}/{a.training}/hold",
        {"attendance": 12, "attendance_by_audience": {"communes_epci": 10}},
        200,
    ),
    WriteRoute(
        "cancel_training",
        "POST",
        lambda a: f"{T}/{a.training}/cancel",
        {"reason": "formateur absent"},
        200,
    ),
]

# Who calls, and the status expected of a project write (None: the route's success).
PRINCIPALS: dict[str, int | None] = {
    "staff_own_lab": None,
    "staff_other_lab": 403,
    "admin": 403,
    "viewer": 403,
    "auditor": 403,
    "anonymous": 401,
    "revoked": 401,
}


def headers_for(
    principal: str, tokens: TokenFactory, lab: str, client: TestClient
) -> dict[str, str]:
    if principal == "anonymous":
        return {}
    if principal == "staff_own_lab":
        return tokens("staff", lab)
    if principal == "staff_other_lab":
        return tokens("staff", unique_slug("other"))
    if principal == "revoked":
        from tracker.application.access import revoke_token

        raw = tokens.token("staff", lab)
        revoke_token(tokens.services.application, tokens.services.engine, raw.split(".")[0])
        return {"Authorization": f"Bearer {raw}"}
    return tokens(principal)


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("route", WRITE_ROUTES, ids=lambda r: r.name)
def test_project_write_routes_admit_only_staff_of_the_projects_lab(
    client: TestClient,
    api_application: TrackerApplication,
    tokens: TokenFactory,
    lab: str,
    route: WriteRoute,
    principal: str,
) -> None:
    arranged = arrange(api_application, lab, closed=route.closed)
    before = api_application.get_project(arranged.project).version
    response = client.request(
        route.method,
        route.path(arranged),
        json=route.body,
        headers=headers_for(principal, tokens, lab, client),
    )
    expected = PRINCIPALS[principal]
    after = api_application.get_project(arranged.project).version
    if expected is None:
        assert response.status_code == route.success, response.text
        assert response.json()["version"] == after == before + 1
        assert response.headers["ETag"] == f'"{after}"'
    else:
        assert_problem(response, expected)
        assert after == before


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("route", TRAINING_WRITE_ROUTES, ids=lambda r: r.name)
def test_training_write_routes_admit_only_staff_of_the_actions_lab(
    client: TestClient,
    api_application: TrackerApplication,
    tokens: TokenFactory,
    lab: str,
    route: WriteRoute,
    principal: str,
) -> None:
    arranged = arrange(api_application, lab)
    assert arranged.training is not None
    before = api_application.get_training(arranged.training).version
    response = client.request(
        route.method,
        route.path(arranged),
        json=route.body,
        headers=headers_for(principal, tokens, lab, client),
    )
    expected = PRINCIPALS[principal]
    after = api_application.get_training(arranged.training).version
    if expected is None:
        assert response.status_code == route.success, response.text
        assert response.json()["version"] == after == before + 1
    else:
        assert_problem(response, expected)
        assert after == before


def training_body() -> dict[str, Any]:
    return {
        "title": "Atelier Crash Test",
        "format": "workshop",
        "sessions": [{"date": "2025-11-30"}],
        "mode": "remote",
    }


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_scheduling_a_training_needs_staff_of_that_lab(
    client: TestClient, tokens: TokenFactory, lab: str, principal: str
) -> None:
    response = client.post(
        f"/api/v1/labs/{lab}/trainings",
        json=training_body(),
        headers=headers_for(principal, tokens, lab, client),
    )
    expected = PRINCIPALS[principal]
    if expected is None:
        assert response.status_code == 201, response.text
    else:
        assert_problem(response, expected)


def campaign_body() -> dict[str, Any]:
    return {
        "slug": unique_slug("campagne"),
        "name": "Mois de l'innovation publique",
        "starts_on": "2025-11-02",
        "ends_on": "2025-11-30",
        "organiser": "DITP",
    }


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ("admin", 201),
        ("staff_own_lab", 403),
        ("viewer", 403),
        ("auditor", 403),
        ("anonymous", 401),
        ("revoked", 401),
    ],
)
def test_only_admins_register_campaigns(
    client: TestClient, tokens: TokenFactory, lab: str, principal: str, expected: int
) -> None:
    response = client.post(
        "/api/v1/campaigns",
        json=campaign_body(),
        headers=headers_for(principal, tokens, lab, client),
    )
    if expected == 201:
        assert response.status_code == 201, response.text
    else:
        assert_problem(response, expected)


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_registering_a_project_needs_staff_of_that_lab(
    client: TestClient, tokens: TokenFactory, lab: str, principal: str
) -> None:
    response = client.post(
        "/api/v1/projects",
        json=project_body(lab),
        headers=headers_for(principal, tokens, lab, client),
    )
    expected = PRINCIPALS[principal]
    if expected is None:
        assert response.status_code == 201, response.text
    else:
        assert_problem(response, expected)


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ("admin", 201),
        ("staff_own_lab", 403),
        ("viewer", 403),
        ("auditor", 403),
        ("anonymous", 401),
        ("revoked", 401),
    ],
)
def test_only_admins_register_labs(
    client: TestClient, tokens: TokenFactory, lab: str, principal: str, expected: int
) -> None:
    response = client.post(
        "/api/v1/labs",
        json={"slug": unique_slug(), "name": "Lab", "region_code": "53"},
        headers=headers_for(principal, tokens, lab, client),
    )
    if expected == 201:
        assert response.status_code == 201, response.text
    else:
        assert_problem(response, expected)


@pytest.mark.parametrize("role", ["admin", "staff", "viewer", "auditor"])
def test_every_role_reads_labs_and_projects(
    client: TestClient, tokens: TokenFactory, lab: str, project: uuid.UUID, role: str
) -> None:
    headers = tokens(role, lab if role == "staff" else None)
    assert client.get("/api/v1/labs", headers=headers).status_code == 200
    assert client.get(f"/api/v1/projects/{project}", headers=headers).status_code == 200


@pytest.mark.parametrize("role", ["admin", "staff", "viewer", "auditor"])
def test_every_role_reads_trainings_and_campaigns(
    client: TestClient,
    api_application: TrackerApplication,
    tokens: TokenFactory,
    lab: str,
    role: str,
) -> None:
    headers = tokens(role, lab if role == "staff" else None)
    training = scheduled_training(api_application, lab)
    campaign = registered_campaign(api_application)
    assert client.get(f"/api/v1/trainings/{training}", headers=headers).status_code == 200
    assert client.get("/api/v1/trainings", headers=headers).status_code == 200
    assert client.get(f"/api/v1/campaigns/{campaign}", headers=headers).status_code == 200


def test_a_staff_token_cannot_register_a_project_for_another_lab(
    client: TestClient, staff: dict[str, str], api_application: TrackerApplication
) -> None:
    other = unique_slug()
    api_application.execute(
        RegisterLab(slug=other, name="Autre", region_code="84"), api_application.meta("t", "c")
    )
    problem = assert_problem(
        client.post("/api/v1/projects", json=project_body(other), headers=staff), 403
    )
    assert problem["type"].endswith("forbidden-lab")


def test_a_bad_token_gets_401_with_a_bearer_challenge(client: TestClient) -> None:
    for value in ["Bearer nope", "Bearer tok_0000000000000000.xxx", "Basic dXNlcjpwYXNz", ""]:
        response = client.get("/api/v1/labs", headers={"Authorization": value})
        assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_reads_need_a_token(client: TestClient, project: uuid.UUID) -> None:
    assert_problem(client.get("/api/v1/labs"), 401)
    assert_problem(client.get(f"/api/v1/projects/{project}"), 401)
