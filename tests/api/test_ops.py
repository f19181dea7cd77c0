"""`/healthz`, `/readyz` and `/metrics` through the real ASGI app, on each database.

Readiness depends on the whole store (projection lag, migrations), so these tests run on
fresh databases of their own rather than on the session's shared one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from projections.runner import PROJECTIONS, ProjectionWorker
from tracker.application.access import Role, create_token
from tracker.application.services import Services
from tracker.asgi import create_app
from tracker.config.settings import Settings
from tracker.store import migrate

from ..conftest import create_postgres_database, drop_postgres_database

OpenClient = Callable[..., Any]


@pytest.fixture
def fresh_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new, unmigrated database of this test's own."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'ops.db'}"
        return
    server = request.getfixturevalue("postgres_server_url")
    url = create_postgres_database(server, prefix="tracker_ops")
    try:
        yield url
    finally:
        drop_postgres_database(server, url)


@contextmanager
def running_client(url: str, **overrides: Any) -> Iterator[TestClient]:
    settings = Settings(database_url=url, **overrides)
    with TestClient(create_app(settings, run_projector=False)) as client:
        yield client


def services_of(client: TestClient) -> Services:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    return services


def admin_token(client: TestClient) -> str:
    """An admin token (its TokenCreated is an event of the log, like any other)."""
    return create_token(services_of(client).application, Role.ADMIN, name="ops test")[1]


def register_a_lab(client: TestClient, admin: str) -> None:
    answer = client.post(
        "/api/v1/labs",
        json={"slug": f"lab-{uuid.uuid4().hex[:8]}", "name": "Lab", "region_code": "27"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert answer.status_code == 201, answer.text


def catch_up(client: TestClient) -> None:
    for projection in PROJECTIONS:
        ProjectionWorker(services_of(client), projection).run_until_caught_up()


def test_healthz_answers_without_a_token(database_url: str) -> None:
    with running_client(database_url) as client:
        answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_readyz_is_ready_on_a_migrated_store_whose_projections_are_caught_up(
    fresh_url: str,
) -> None:
    migrate.upgrade(Settings(database_url=fresh_url))
    with running_client(fresh_url) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"]["current"] == migrate.head_revision(
        Settings(database_url=fresh_url)
    )


def test_readyz_is_not_ready_before_migrations(fresh_url: str) -> None:
    migrate.upgrade(Settings(database_url=fresh_url), "0003_read_models")
    with running_client(fresh_url) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 503
    assert "0003_read_models" in problem["detail"]
    assert "tracker migrate" in problem["detail"]


def test_readyz_is_not_ready_while_a_projection_lags_then_ready_once_caught_up(
    fresh_url: str,
) -> None:
    migrate.upgrade(Settings(database_url=fresh_url))
    with running_client(fresh_url, readiness_max_lag_events=1) as client:
        admin = admin_token(client)
        catch_up(client)
        register_a_lab(client, admin)
        assert client.get("/readyz").status_code == 200  # 1 event behind: within the limit
        register_a_lab(client, admin)

        lagging = client.get("/readyz")
        catch_up(client)
        caught_up = client.get("/readyz")

    assert lagging.status_code == 503
    assert "is 2 events behind (at most 1 allowed)" in lagging.json()["detail"]
    assert lagging.json()["checks"]["projections"]["portfolio"]["lag_events"] == 2
    assert caught_up.status_code == 200
    assert caught_up.json()["checks"]["projections"]["portfolio"]["lag_events"] == 0


def test_readyz_is_not_ready_when_the_database_is_gone(
    backend: str, request: pytest.FixtureRequest
) -> None:
    if backend != "postgresql":
        pytest.skip("a SQLite file cannot be taken away from a process that has it open")
    server = request.getfixturevalue("postgres_server_url")
    url = create_postgres_database(server, prefix="tracker_gone")
    migrate.upgrade(Settings(database_url=url))
    try:
        with running_client(url) as client:
            assert client.get("/readyz").status_code == 200
            drop_postgres_database(server, url)
            answer = client.get("/readyz")
            assert client.get("/healthz").status_code == 200  # alive, not ready
    finally:
        drop_postgres_database(server, url)
    assert answer.status_code == 503
    assert answer.json()["detail"].startswith("the database is unreachable")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page, keyed by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_requests_commands_events_and_projection_lag(fresh_url: str) -> None:
    migrate.upgrade(Settings(database_url=fresh_url))
    with running_client(fresh_url) as client:
        client.get("/healthz")
        client.get("/healthz")
        client.get("/no/such/page")
        admin = admin_token(client)
        register_a_lab(client, admin)
        register_a_lab(client, admin)
        refused = client.post("/api/v1/labs", json={"slug": "x"}, headers={})
        page = client.get("/metrics")

    assert refused.status_code == 401
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/plain")
    values = samples(page.text)

    def value(name: str, **labels: str) -> float:
        return values[(name, tuple(sorted(labels.items())))]

    assert value("tracker_http_requests_total", method="GET", route="/healthz", status="200") == 2
    assert value("tracker_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert value("tracker_http_request_duration_seconds_count", method="GET", route="/healthz") == 2
    assert value("tracker_commands_total", command="register_lab", result="ok") == 2
    assert value("tracker_commands_total", command="register_lab", result="refused") == 1
    assert value("tracker_events_appended_total") == 4  # the admin log opened, a token, two labs
    assert value("tracker_database_up") == 1
    assert value("tracker_projection_position", projection="portfolio") == 0
    assert value("tracker_projection_lag_events", projection="portfolio") == 4
    assert not any("no/such/page" in str(key) for key in values)


def test_readyz_logs_no_alembic_lines(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    with running_client(database_url) as client:
        catch_up(client)
        caplog.clear()
        assert client.get("/readyz").status_code in {200, 503}
        assert client.get("/readyz").status_code in {200, 503}
    assert [r.getMessage() for r in caplog.records if r.name.startswith("alembic")] == []
