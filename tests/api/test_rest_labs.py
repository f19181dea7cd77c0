"""POST/GET /api/v1/labs."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import TokenFactory, assert_problem
from tests.factories import unique_slug


def test_an_admin_registers_a_lab(client: TestClient, tokens: TokenFactory) -> None:
    slug = unique_slug()
    response = client.post(
        "/api/v1/labs",
        json={"slug": slug, "name": "Lab Bretagne", "region_code": "53", "reason": "ouverture"},
        headers=tokens("admin"),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "version", "position"}
    assert body["version"] == 1
    assert body["position"] > 0
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/api/v1/labs/{slug}"
    lab = client.get(response.headers["Location"], headers=tokens("viewer")).json()
    assert lab["slug"] == slug
    assert lab["name"] == "Lab Bretagne"
    assert lab["region_code"] == "53"


def test_a_slug_is_registered_once(client: TestClient, tokens: TokenFactory, lab: str) -> None:
    response = client.post(
        "/api/v1/labs",
        json={"slug": lab, "name": "Encore", "region_code": "27"},
        headers=tokens("admin"),
    )
    assert assert_problem(response, 409)["type"].endswith("lab-already-registered")


def test_lab_fields_are_validated(client: TestClient, tokens: TokenFactory) -> None:
    for body in [
        {"slug": "Pas Un Slug", "name": "x", "region_code": "27"},
        {"slug": unique_slug(), "name": "", "region_code": "27"},
        {"slug": unique_slug(), "name": "x", "region_code": "2A"},
        {"slug": unique_slug(), "name": "x", "region_code": "27", "extra": 1},
        {"slug": unique_slug(), "name": "x"},
        {"slug": unique_slug(), "name": "x", "region_code": 27},
        {"slug": unique_slug(), "name": "a\u0000b", "region_code": "27"},
        {"slug": unique_slug(), "name": "x", "region_code": "27", "reason": "\u001b[31m"},
    ]:
        problem = assert_problem(
            client.post("/api/v1/labs", json=body, headers=tokens("admin")), 422
        )
        assert problem["errors"], body


def test_labs_are_listed_for_any_token(client: TestClient, tokens: TokenFactory, lab: str) -> None:
    response = client.get("/api/v1/labs", headers=tokens("auditor"))
    assert response.status_code == 200
    assert lab in [entry["slug"] for entry in response.json()]


def test_an_unknown_lab_is_404(client: TestClient, tokens: TokenFactory) -> None:
    response = client.get(f"/api/v1/labs/{unique_slug()}", headers=tokens("viewer"))
    assert assert_problem(response, 404)["type"].endswith("lab-not-found")
