"""Finding projects over REST: GET /api/v1/projects with the dashboards' filters and keyset
pages, read from the portfolio read model (projections/queries.py, as GraphQL reads it)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from fastapi.testclient import TestClient

from domain.values import GateDecision, Phase, Territory
from projections.runner import PROJECTIONS, ProjectionWorker
from tests.api.conftest import TokenFactory, assert_problem
from tests.factories import unique_slug
from tracker.application.commands import EnterPhase, RegisterLab, RegisterProject
from tracker.application.service import TrackerApplication
from tracker.application.services import Services


def register(
    application: TrackerApplication, lab: str, title: str, territory: str, theme: str
) -> str:
    return str(
        application.execute(
            RegisterProject(
                lab=lab,
                title=title,
                summary="",
                themes=[theme],
                territories=[Territory("commune", territory, 2024)],
                started_on=date(2025, 1, 6),
            ),
            application.meta("tok_fixture", str(uuid.uuid4()), date(2025, 1, 6)),
        ).id
    )


def new_lab(application: TrackerApplication) -> str:
    slug = unique_slug()
    application.execute(
        RegisterLab(slug=slug, name="Laboratoire", region_code="27"),
        application.meta("tok_fixture", "fixture"),
    )
    return slug


def catch_up(services: Services) -> None:
    for projection in PROJECTIONS:
        ProjectionWorker(services, projection).run_until_caught_up()


@pytest.fixture
def portfolio(
    api_application: TrackerApplication, app_services: Services, lab: str
) -> dict[str, str]:
    """Three projects in `lab` (one in discovery), one in another lab; projections caught up."""
    ids = {
        "villages": register(api_application, lab, "Villages du futur", "58194", "ruralité"),
        "sante": register(api_application, lab, "Maison de santé", "21231", "santé"),
        "ecoles": register(api_application, lab, "Écoles ouvertes", "58062", "éducation"),
        "other": register(
            api_application, new_lab(api_application), "Villages voisins", "58194", "ruralité"
        ),
    }
    api_application.execute(
        EnterPhase(
            project_id=uuid.UUID(ids["sante"]), phase=Phase.DISCOVERY, decision=GateDecision.GO
        ),
        api_application.meta("tok_fixture", "fixture"),
    )
    catch_up(app_services)
    return ids


def ids_of(answer: dict[str, object]) -> list[str]:
    return [item["id"] for item in answer["items"]]  # type: ignore[attr-defined, index]


def test_staff_see_their_own_labs_projects_by_default(
    client: TestClient, staff: dict[str, str], portfolio: dict[str, str]
) -> None:
    answer = client.get("/api/v1/projects", headers=staff)
    assert answer.status_code == 200
    assert ids_of(answer.json()) == [portfolio["villages"], portfolio["sante"], portfolio["ecoles"]]
    assert answer.json()["total"] == 3


def test_any_role_lists_a_lab_and_reads_the_projects_fields(
    client: TestClient, tokens: TokenFactory, lab: str, portfolio: dict[str, str]
) -> None:
    answer = client.get("/api/v1/projects", params={"lab": lab}, headers=tokens("viewer"))
    first = answer.json()["items"][0]
    assert first["title"] == "Villages du futur"
    assert first["phase"] == "framing"
    assert first["territories"] == [
        {"level": "commune", "code": "58194", "cog_year": 2024, "name": "Nevers"}
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"phase": "discovery"}, ["sante"]),
        ({"text": "villages"}, ["villages"]),
        ({"theme": "santé"}, ["sante"]),
        ({"territory": "58"}, ["villages", "ecoles"]),
        ({"territory": "21231"}, ["sante"]),
        ({"health": "on_track", "status": "active"}, ["villages", "sante", "ecoles"]),
    ],
)
def test_the_filters_keep_the_matching_projects(
    client: TestClient,
    staff: dict[str, str],
    portfolio: dict[str, str],
    params: dict[str, str],
    expected: list[str],
) -> None:
    answer = client.get("/api/v1/projects", params=params, headers=staff)
    assert answer.status_code == 200, answer.text
    assert ids_of(answer.json()) == [portfolio[name] for name in expected]


def test_keyset_pages_walk_every_project_once(
    client: TestClient, staff: dict[str, str], portfolio: dict[str, str]
) -> None:
    seen: list[str] = []
    params: dict[str, str | int] = {"limit": 2}
    while True:
        page = client.get("/api/v1/projects", params=params, headers=staff).json()
        seen += ids_of(page)
        if page["next_after"] is None:
            break
        params["after"] = page["next_after"]
    assert seen == [portfolio["villages"], portfolio["sante"], portfolio["ecoles"]]


def test_a_forged_after_is_a_422_problem_in_french(
    client: TestClient, staff: dict[str, str], portfolio: dict[str, str]
) -> None:
    answer = client.get(
        "/api/v1/projects", params={"after": "WzExODA1OTE2MjA3MTc0MTEzMDM0MjRd"}, headers=staff
    )
    problem = assert_problem(answer, 422)
    assert problem["detail"].startswith("after n'est pas un curseur")


def test_an_unknown_phase_says_which_phases_exist(
    client: TestClient, staff: dict[str, str]
) -> None:
    problem = assert_problem(client.get("/api/v1/projects?phase=nope", headers=staff), 422)
    (error,) = problem["errors"]
    assert error["msg"].startswith("phase : une de ces valeurs est attendue : 'framing'")


def test_listing_projects_needs_a_token(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/projects"), 401)
