"""API fixtures: the real ASGI app on the parametrised database, tokens, a lab, a project.

`client` is a `TestClient` over `create_app(settings)` with its lifespan run (so
`client.app.state.services` is open); `tokens` makes bearer tokens of any role.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from domain.values import Territory
from tests.factories import unique_slug
from tracker.application.access import Role, create_token
from tracker.application.commands import RegisterLab, RegisterProject
from tracker.application.service import TrackerApplication
from tracker.application.services import Services
from tracker.asgi import create_app
from tracker.config.settings import Settings


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    """The whole ASGI app (REST, GraphQL, operations), without the background projector."""
    return create_app(settings, run_projector=False)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client driving the app in-process, lifespan included."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def app_services(client: TestClient) -> Services:
    """The services the running app opened (same engine, same application)."""
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    return services


@pytest.fixture
def api_application(app_services: Services) -> TrackerApplication:
    """The running app's event-sourced application, for arranging state directly."""
    return app_services.application


class TokenFactory:
    """Creates bearer tokens in the app's database."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def token(self, role: Role | str, lab: str | None = None, name: str = "test") -> str:
        """A new raw bearer token."""
        return create_token(self.services.application, Role(role), lab=lab, name=name)[1]

    def headers(self, role: Role | str, lab: str | None = None) -> dict[str, str]:
        """`Authorization` headers for a new token of this role (and lab, for staff)."""
        return {"Authorization": f"Bearer {self.token(role, lab)}"}

    def __call__(self, role: Role | str, lab: str | None = None) -> dict[str, str]:
        return self.headers(role, lab)


@pytest.fixture
def tokens(app_services: Services) -> TokenFactory:
    """Make tokens: `tokens("staff", lab)` gives headers, `tokens.token(...)` the raw token."""
    return TokenFactory(app_services)


@pytest.fixture
def lab(api_application: TrackerApplication) -> str:
    """A registered lab's slug, unique to the test."""
    slug = unique_slug()
    api_application.execute(
        RegisterLab(slug=slug, name="Laboratoire d'innovation", region_code="27"),
        api_application.meta("tok_fixture", "fixture"),
    )
    return slug


@pytest.fixture
def staff(tokens: TokenFactory, lab: str) -> dict[str, str]:
    """Headers of a staff token of `lab`."""
    return tokens("staff", lab)


def register_project(application: TrackerApplication, lab: str) -> uuid.UUID:
    """Register a project in `lab` through the application; returns its id."""
    return application.execute(
        RegisterProject(
            lab=lab,
            title="Villages du futur",
            summary="Construire avec les habitants.",
            themes=["ruralité"],
            territories=[Territory("department", "71", 2024)],
            started_on=date(2025, 1, 6),
        ),
        application.meta("tok_fixture", str(uuid.uuid4()), date(2025, 1, 6)),
    ).id


@pytest.fixture
def project(api_application: TrackerApplication, lab: str) -> uuid.UUID:
    """A registered project of `lab`."""
    return register_project(api_application, lab)


def project_body(lab: str, **overrides: Any) -> dict[str, Any]:
    """A valid body for POST /api/v1/projects."""
    body: dict[str, Any] = {
        "lab": lab,
        "title": "Une médiathèque repensée",
        "summary": "Avec les habitants.",
        "themes": ["culture"],
        "territories": [{"level": "commune", "code": "21231", "cog_year": 2024}],
        "started_on": "2025-09-01",
    }
    body.update(overrides)
    return body


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["type"].startswith("urn:tracker:problem:")
    assert problem["title"]
    assert problem["detail"]
    return problem
