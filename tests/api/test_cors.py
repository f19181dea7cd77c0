"""CORS: a browser dashboard on an allowed origin (TRACKER_CORS_ORIGINS) may call GraphQL
and the API; other origins, and every origin by default, get no CORS headers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tracker.asgi import create_app
from tracker.config.settings import Settings

DASHBOARD = "https://tableau.example.fr"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


def preflight(settings: Settings, origin: str) -> tuple[int, dict[str, str]]:
    with TestClient(create_app(settings, run_projector=False)) as client:
        response = client.options("/graphql", headers=PREFLIGHT | {"Origin": origin})
    return response.status_code, dict(response.headers)


def test_a_preflight_from_an_allowed_origin_is_answered(database_url: str) -> None:
    settings = Settings(database_url=database_url, cors_origins=f"{DASHBOARD}, https://b.fr")
    status, headers = preflight(settings, DASHBOARD)
    assert status == 200
    assert headers["access-control-allow-origin"] == DASHBOARD
    assert "POST" in headers["access-control-allow-methods"]
    assert "authorization" in headers["access-control-allow-headers"].lower()


def test_a_preflight_from_another_origin_gets_no_cors_headers(database_url: str) -> None:
    settings = Settings(database_url=database_url, cors_origins=DASHBOARD)
    _, headers = preflight(settings, "https://ailleurs.example.com")
    assert "access-control-allow-origin" not in headers


def test_no_origin_is_allowed_by_default(database_url: str) -> None:
    _, headers = preflight(Settings(database_url=database_url), DASHBOARD)
    assert "access-control-allow-origin" not in headers


def test_an_allowed_origin_reads_the_answer_and_its_headers(database_url: str) -> None:
    settings = Settings(database_url=database_url, cors_origins=DASHBOARD)
    with TestClient(create_app(settings, run_projector=False)) as client:
        response = client.get("/api/v1/nothing-here", headers={"Origin": DASHBOARD})
    assert response.headers["access-control-allow-origin"] == DASHBOARD
    assert "Content-Language" in response.headers["access-control-expose-headers"]
