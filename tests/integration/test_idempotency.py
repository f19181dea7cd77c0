"""Idempotency-Key, through the API on both databases: replays, refusals, concurrency,
crash recovery and expiry."""

# The API fixtures are imported from tests/api/conftest.py; test arguments "redefine" them.
# ruff: noqa: F811

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from domain.values import Health
from tests.api.conftest import (  # noqa: F401  (fixtures)
    TokenFactory,
    api_application,
    app,
    app_services,
    assert_problem,
    client,
    lab,
    project,
    staff,
    tokens,
)
from tracker.application.commands import AssessHealth
from tracker.application.idempotency import (
    CompletionWrite,
    IdempotencyStore,
    Reservation,
    ReservationLostError,
    StoredResponse,
    fingerprint,
)
from tracker.application.service import ApplicationError, TrackerApplication, WriteOptions
from tracker.application.services import Services
from tracker.config.settings import Settings
from tracker.schema.access import idempotency_keys

MILESTONE = {"title": "Restitution", "due_on": "2026-05-01", "phase": "discovery"}


def _plan(
    client: TestClient, project: uuid.UUID, headers: dict[str, str], key: str, **body: Any
) -> httpx.Response:
    return client.post(
        f"/api/v1/projects/{project}/milestones",
        json=MILESTONE | body,
        headers=headers | {"Idempotency-Key": key},
    )


def _row(services: Services, key: str) -> Any:
    with services.engine.connect() as connection:
        return connection.execute(
            sa.select(idempotency_keys).where(idempotency_keys.c.idempotency_key == key)
        ).first()


def test_a_retry_replays_the_first_answer_and_writes_nothing(
    client: TestClient,
    staff: dict[str, str],
    project: uuid.UUID,
    api_application: TrackerApplication,
) -> None:
    first = _plan(client, project, staff, "key-1")
    assert first.status_code == 201
    assert "Idempotency-Replayed" not in first.headers
    again = _plan(client, project, staff, "key-1")
    assert again.status_code == 201
    assert again.headers["Idempotency-Replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Location"] == first.headers["Location"]
    assert len(api_application.get_project(project).milestones) == 1


def test_the_same_key_with_another_body_is_422(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    assert _plan(client, project, staff, "key-2").status_code == 201
    other = _plan(client, project, staff, "key-2", title="Autre chose")
    assert assert_problem(other, 422)["type"].endswith("idempotency-key-reused")
    elsewhere = client.post(
        f"/api/v1/projects/{project}/health",
        json={"health": "at_risk"},
        headers=staff | {"Idempotency-Key": "key-2"},
    )
    assert_problem(elsewhere, 422)


def test_keys_belong_to_their_token(
    client: TestClient, tokens: TokenFactory, lab: str, project: uuid.UUID
) -> None:
    alice, bob = tokens("staff", lab), tokens("staff", lab)
    assert _plan(client, project, alice, "shared").status_code == 201
    for_bob = _plan(client, project, bob, "shared")
    assert for_bob.status_code == 201
    assert "Idempotency-Replayed" not in for_bob.headers


def test_a_refused_command_releases_its_key(
    client: TestClient,
    staff: dict[str, str],
    project: uuid.UUID,
    app_services: Services,
) -> None:
    url = f"/api/v1/projects/{project}/phase"
    headers = staff | {"Idempotency-Key": "key-refused"}
    refused = client.post(url, json={"phase": "ideation", "decision": "go"}, headers=headers)
    assert_problem(refused, 409)
    assert _row(app_services, "key-refused") is None
    assert_problem(
        client.post(url, json={"phase": "ideation", "decision": "go"}, headers=headers), 409
    )


def test_a_malformed_key_is_400(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    for key in ["", "x" * 256, "has space"]:
        assert_problem(_plan(client, project, staff, key), 400)


def test_a_key_in_progress_is_409_then_usable_once_released(
    client: TestClient,
    tokens: TokenFactory,
    lab: str,
    project: uuid.UUID,
    app_services: Services,
) -> None:
    raw = tokens.token("staff", lab)
    headers = {"Authorization": f"Bearer {raw}"}
    store: IdempotencyStore = client.app.state.idempotency  # type: ignore[attr-defined]
    path = f"/api/v1/projects/{project}/milestones"
    body = {"occurred_on": None, "reason": None} | MILESTONE
    # What a first request holds while its command runs:
    reservation = store.reserve(
        app_services.engine, raw.split(".")[0], "busy", fingerprint("POST", path, body)
    )
    assert isinstance(reservation, Reservation)
    in_progress = _plan(client, project, headers, "busy")
    assert assert_problem(in_progress, 409)["type"].endswith("idempotency-key-in-progress")
    store.release(app_services.engine, reservation)
    assert _plan(client, project, headers, "busy").status_code == 201


def test_concurrent_requests_with_one_key_run_the_command_once(
    client: TestClient,
    staff: dict[str, str],
    project: uuid.UUID,
    api_application: TrackerApplication,
) -> None:
    callers = 8
    barrier = threading.Barrier(callers)
    responses: list[httpx.Response] = []
    lock = threading.Lock()

    def call() -> None:
        barrier.wait()
        response = _plan(client, project, staff, "together")
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ran = [r for r in responses if r.status_code == 201 and "Idempotency-Replayed" not in r.headers]
    assert len(ran) == 1
    for response in responses:
        if response.status_code == 201:
            assert response.json() == ran[0].json()
        else:
            assert_problem(response, 409)
    assert len(api_application.get_project(project).milestones) == 1


def test_while_the_first_request_waits_on_the_store_a_second_gets_409(
    backend: str,
    settings: Settings,
    client: TestClient,
    staff: dict[str, str],
    project: uuid.UUID,
    api_application: TrackerApplication,
) -> None:
    if backend != "postgresql":
        pytest.skip("holds PostgreSQL's events-table lock; SQLite has one lock for the file")
    conninfo = make_url(settings.database_url).set(drivername="postgresql")
    first: list[httpx.Response] = []
    with psycopg.connect(conninfo.render_as_string(hide_password=False)) as blocker:
        blocker.execute("LOCK TABLE tracker_events IN EXCLUSIVE MODE")
        thread = threading.Thread(target=lambda: first.append(_plan(client, project, staff, "k")))
        thread.start()
        deadline = time.monotonic() + 20
        with psycopg.connect(
            conninfo.render_as_string(hide_password=False), autocommit=True
        ) as watcher:
            while True:
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                    " WHERE c.relname = 'tracker_events' AND NOT l.granted"
                ).fetchone()
                if waiting and waiting[0] > 0:
                    break
                assert time.monotonic() < deadline, "the first request never reached the store"
                time.sleep(0.01)  # polling a condition with a deadline, not a timing guess
        second = _plan(client, project, staff, "k")
        assert_problem(second, 409)
        blocker.rollback()
    thread.join(timeout=30)
    assert first[0].status_code == 201
    assert len(api_application.get_project(project).milestones) == 1


def test_a_reservation_left_by_a_crash_is_taken_over_after_its_lease(
    client: TestClient,
    tokens: TokenFactory,
    lab: str,
    project: uuid.UUID,
    app_services: Services,
    api_application: TrackerApplication,
) -> None:
    raw = tokens.token("staff", lab)
    headers = {"Authorization": f"Bearer {raw}"}
    token_id = raw.split(".")[0]
    store: IdempotencyStore = client.app.state.idempotency  # type: ignore[attr-defined]
    path = f"/api/v1/projects/{project}/milestones"
    crashed = store.reserve(
        app_services.engine,
        token_id,
        "crashed",
        fingerprint("POST", path, {"occurred_on": None, "reason": None} | MILESTONE),
    )
    assert isinstance(crashed, Reservation)
    with app_services.engine.begin() as connection:
        connection.execute(
            idempotency_keys.update()
            .where(idempotency_keys.c.idempotency_key == "crashed")
            .values(reserved_at=datetime.now(UTC) - store.lease - timedelta(seconds=1))
        )
    retried = _plan(client, project, headers, "crashed")
    assert retried.status_code == 201
    assert "Idempotency-Replayed" not in retried.headers
    # Were the crashed request still alive, its completion would abort its own write.
    version = api_application.get_project(project).version

    def render(aggregate_id: str, version: int, position: int) -> StoredResponse:
        return StoredResponse(200, {"id": aggregate_id}, {})

    with pytest.raises((ApplicationError, ReservationLostError)):
        api_application.execute(
            AssessHealth(project_id=project, health=Health.AT_RISK),
            api_application.meta(token_id, "late", date(2025, 3, 1)),
            WriteOptions(side_writes=[CompletionWrite(crashed, render)]),
        )
    assert api_application.get_project(project).version == version


def test_expired_keys_are_forgotten_and_purged(
    client: TestClient,
    staff: dict[str, str],
    project: uuid.UUID,
    app_services: Services,
) -> None:
    assert _plan(client, project, staff, "old").status_code == 201
    with app_services.engine.begin() as connection:
        connection.execute(
            idempotency_keys.update()
            .where(idempotency_keys.c.idempotency_key == "old")
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    fresh = _plan(client, project, staff, "old", title="Nouvelle étape")
    assert fresh.status_code == 201
    assert "Idempotency-Replayed" not in fresh.headers
    with app_services.engine.begin() as connection:
        connection.execute(
            idempotency_keys.update()
            .where(idempotency_keys.c.idempotency_key == "old")
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    store: IdempotencyStore = client.app.state.idempotency  # type: ignore[attr-defined]
    assert store.purge_expired(app_services.engine) >= 1
    assert _row(app_services, "old") is None


def test_a_key_lives_for_the_configured_ttl(
    client: TestClient, staff: dict[str, str], project: uuid.UUID, app_services: Services
) -> None:
    before = datetime.now(UTC)
    assert _plan(client, project, staff, "ttl").status_code == 201
    row = _row(app_services, "ttl")
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    ttl = timedelta(hours=app_services.settings.idempotency_ttl_hours)
    assert before + ttl <= expires <= datetime.now(UTC) + ttl
    assert row.state == "completed"
