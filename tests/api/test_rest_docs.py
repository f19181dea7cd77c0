"""OpenAPI and /docs: documented routes, stable operation ids, assets served locally."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tracker.asgi import create_app
from tracker.config.settings import Settings

EXPECTED_OPERATIONS = {
    "register_lab",
    "list_labs",
    "get_lab",
    "register_project",
    "get_project",
    "revise_project",
    "enter_phase",
    "assess_health",
    "plan_milestone",
    "reschedule_milestone",
    "achieve_milestone",
    "cancel_milestone",
    "add_partner",
    "remove_partner",
    "define_indicator",
    "measure_indicator",
    "log_activity",
    "record_decision",
    "commit_funding",
    "close_project",
    "reopen_project",
}


def test_every_api_route_has_an_operation_id_a_description_and_its_errors(
    client: TestClient,
) -> None:
    schema = client.get("/openapi.json").json()
    operations = {
        operation["operationId"]: operation
        for path, methods in schema["paths"].items()
        if path.startswith("/api/v1/")
        for operation in methods.values()
    }
    assert set(operations) >= EXPECTED_OPERATIONS
    for operation_id in EXPECTED_OPERATIONS:
        operation = operations[operation_id]
        assert operation["description"].strip(), operation_id
        assert "\n" not in operation["description"].strip(), operation_id
        assert "401" in operation["responses"], operation_id
        assert "application/problem+json" in operation["responses"]["401"]["content"]
    assert "bearer" in str(schema["components"]["securitySchemes"]).lower()


def test_docs_load_nothing_from_outside_the_server(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:href|src)=["']([^"']+)["']""", page.text)
    assert urls
    assert all(url.startswith("/") for url in urls), urls
    assert "cdn" not in page.text.lower()
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_docs_and_openapi_are_off_in_production(settings: Settings) -> None:
    production = settings.model_copy(update={"env": "production"})
    with TestClient(create_app(production, run_projector=False)) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/openapi.json").status_code == 404
        assert client.get("/docs/assets/swagger-ui.css").status_code == 404
