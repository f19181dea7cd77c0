"""Web fixtures: the real app (projector running) on the parametrised database, a signed-in
browser-like client, and a lab with a project whose projections are caught up."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from domain.values import Territory
from projections.runner import wait_for_position
from tests.factories import unique_slug
from tracker.application.access import Role, create_token
from tracker.application.commands import RegisterLab, RegisterProject
from tracker.application.service import TrackerApplication
from tracker.application.services import Services
from tracker.asgi import create_app
from tracker.config.settings import Settings

BASE_URL = "http://tracker.test"


@pytest.fixture
def web(settings: Settings) -> Iterator[TestClient]:
    """The whole app with its projector, a fixed session secret, and no redirects followed."""
    app = create_app(settings.model_copy(update={"session_secret": SecretStr("s" * 48)}))
    with TestClient(app, base_url=BASE_URL, follow_redirects=False) as client:
        yield client


@pytest.fixture(scope="module")
def shared_web(database_url: str) -> Iterator[TestClient]:
    """One app per test module and back end, for modules whose tests each sign in first
    (starting the app and its projector per test is most of a web test's time)."""
    settings = Settings(
        database_url=database_url, snapshot_interval=50, session_secret=SecretStr("s" * 48)
    )
    with TestClient(create_app(settings), base_url=BASE_URL, follow_redirects=False) as client:
        yield client


@pytest.fixture
def shared(shared_web: TestClient) -> TestClient:
    """The module's app, signed out."""
    shared_web.cookies.clear()
    return shared_web


@pytest.fixture
def web_services(web: TestClient) -> Services:
    """The services the running app opened."""
    running: Services = web.app.state.services  # type: ignore[attr-defined]
    return running


def caught_up(web: TestClient, position: int) -> None:
    """Wait (bounded) until the app's projector has applied `position`."""
    services: Services = web.app.state.services  # type: ignore[attr-defined]
    assert wait_for_position(services, position, 10.0, web.app.state.projector)  # type: ignore[attr-defined]


def sign_in(web: TestClient, token: str, next_path: str = "/") -> str:
    """Post the sign-in form as the browser would; returns the session cookie's value."""
    response = web.post(
        "/connexion",
        data={"jeton": token, "suite": next_path},
        headers={"Origin": BASE_URL},
    )
    assert response.status_code == 303, response.text
    cookie = web.cookies.get("tracker_session")
    assert cookie
    return cookie


def new_token(services: Services, role: Role = Role.VIEWER, lab: str | None = None) -> str:
    return create_token(services.application, role, lab=lab, name=f"web {role.value}")[1]


def register(application: TrackerApplication, title: str) -> tuple[str, uuid.UUID, int]:
    """A new lab and one project titled `title`: (lab, project id, position)."""
    slug = unique_slug()
    meta = application.meta("tok_fixture", str(uuid.uuid4()), date(2025, 1, 6))
    application.execute(RegisterLab(slug=slug, name=f"Lab {slug}", region_code="27"), meta)
    result = application.execute(
        RegisterProject(
            lab=slug,
            title=title,
            summary="Construire avec les habitants.",
            themes=["ruralité"],
            territories=[Territory("department", "71", 2024)],
            started_on=date(2025, 1, 6),
        ),
        application.meta("tok_fixture", str(uuid.uuid4()), date(2025, 1, 6)),
    )
    return slug, result.id, result.position
