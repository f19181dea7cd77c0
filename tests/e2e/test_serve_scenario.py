"""A real `tracker serve` process on PostgreSQL, driven over HTTP like a lab's script would:
a lab, a project walked through its phases and milestones, and every mistake's status."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import httpx
import pytest

from tests.conftest import create_postgres_database, drop_postgres_database
from tests.reliability.harness import client_mistakes_with_tracebacks

pytestmark = pytest.mark.e2e

TRACKER = str(Path(sys.executable).parent / "tracker")
START_DEADLINE_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def database_env(postgres_server_url: str) -> Iterator[dict[str, str]]:
    """The environment of a server on a fresh PostgreSQL database."""
    url = create_postgres_database(postgres_server_url, prefix="tracker_e2e")
    try:
        yield {**os.environ, "TRACKER_DATABASE_URL": url, "TRACKER_LOG_FORMAT": "json"}
    finally:
        drop_postgres_database(postgres_server_url, url)


def _tracker(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [TRACKER, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def server(database_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`tracker serve --no-projector` on a free port; yields its URL and its log file."""
    port = _free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [TRACKER, "serve", "--port", str(port), "--no-projector"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=database_env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited ({process.returncode}):\n{log_path.read_text()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                # Not listening yet: wait on the process itself, briefly and bounded.
                with suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=0.1)
            if time.monotonic() > deadline:
                pytest.fail(f"/healthz did not answer within {START_DEADLINE_SECONDS} s")
        yield url, log_path
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    mistakes = client_mistakes_with_tracebacks(log_path.read_text(errors="replace"))
    assert not mistakes, f"a traceback logged at ERROR for an answer below 500: {mistakes}"


def test_a_lab_walks_a_project_through_its_life_over_http(
    server: tuple[str, Path], database_env: dict[str, str]
) -> None:
    url, log_path = server
    admin_token = _tracker(database_env, "token", "create", "--role", "admin")
    viewer_token = _tracker(database_env, "token", "create", "--role", "viewer")
    admin = {"Authorization": f"Bearer {admin_token}"}
    viewer = {"Authorization": f"Bearer {viewer_token}"}

    with httpx.Client(base_url=url, timeout=10) as http:
        lab = http.post(
            "/api/v1/labs",
            json={"slug": "lab-e2e", "name": "Lab de bout en bout", "region_code": "27"},
            headers=admin,
        )
        assert lab.status_code == 201, lab.text
        assert [entry["slug"] for entry in http.get("/api/v1/labs", headers=viewer).json()] == [
            "lab-e2e"
        ]
        # A staff token names a lab that exists: created once the lab is registered.
        staff_token = _tracker(
            database_env, "token", "create", "--role", "staff", "--lab", "lab-e2e", "--name", "E2E"
        )
        staff = {"Authorization": f"Bearer {staff_token}"}

        body = {
            "lab": "lab-e2e",
            "title": "Guichet unique",
            "summary": "Simplifier les démarches.",
            "themes": ["services publics"],
            "territories": [{"level": "department", "code": "21", "cog_year": 2024}],
            "started_on": "2025-01-15",
        }
        created = http.post(
            "/api/v1/projects",
            json=body,
            headers=staff | {"Idempotency-Key": "create-1", "X-Request-ID": "e2e-create"},
        )
        assert created.status_code == 201, created.text
        assert created.headers["X-Request-ID"] == "e2e-create"
        replay = http.post(
            "/api/v1/projects", json=body, headers=staff | {"Idempotency-Key": "create-1"}
        )
        assert replay.headers["Idempotency-Replayed"] == "true"
        assert replay.json() == created.json()
        project = created.headers["Location"]

        for phase in ("discovery", "ideation"):
            step = http.post(
                f"{project}/phase", json={"phase": phase, "decision": "go"}, headers=staff
            )
            assert step.status_code == 200, step.text
        milestone = http.post(
            f"{project}/milestones",
            json={"title": "Prototype testé", "due_on": "2026-06-30", "phase": "prototyping"},
            headers=staff,
        )
        assert milestone.status_code == 201
        milestone_url = f"{project}/milestones/{milestone.json()['milestone_id']}"
        etag = http.get(project, headers=viewer).headers["ETag"]
        moved = http.post(
            f"{milestone_url}/reschedule",
            json={"due_on": "2026-09-30", "reason": "retard fournisseur"},
            headers=staff | {"If-Match": etag},
        )
        assert moved.status_code == 200

        mistakes = [
            (
                http.post(
                    f"{project}/phase", json={"phase": "scaling", "decision": "go"}, headers=staff
                ),
                409,
            ),
            (
                http.post(
                    f"{milestone_url}/reschedule",
                    json={"due_on": "2026-10-30"},
                    headers=staff | {"If-Match": etag},
                ),
                412,
            ),
            (http.post(f"{project}/health", json={"health": "fine"}, headers=staff), 422),
            (
                http.post(
                    f"{project}/health",
                    content=b"{",
                    headers=staff | {"Content-Type": "application/json"},
                ),
                400,
            ),
            (http.post(f"{project}/health", json={"health": "at_risk"}, headers=viewer), 403),
            (http.post(f"{project}/health", json={"health": "at_risk"}), 401),
            (http.post(f"{project}/health", json={"reason": "x" * 70_000}, headers=staff), 413),
            (
                http.get("/api/v1/projects/00000000-0000-0000-0000-000000000000", headers=viewer),
                404,
            ),
            (
                http.post(
                    "/api/v1/projects",
                    json=body,
                    headers=staff
                    | {"Idempotency-Key": "create-1", "If-Match": "*"}
                    | {"X-Other": "1"},
                ),
                201,
            ),
            (
                http.post(
                    "/api/v1/projects",
                    json=body | {"title": "Autre"},
                    headers=staff | {"Idempotency-Key": "create-1"},
                ),
                422,
            ),
            (http.delete("/api/v1/labs", headers=admin), 405),
        ]
        for response, status in mistakes:
            assert response.status_code == status, (response.request.url, response.text)
            if status >= 400:
                assert response.headers["content-type"].startswith("application/problem+json")

        achieved = http.post(
            f"{milestone_url}/achieve",
            json={"achieved_on": "2025-06-01", "evidence": "rapport"},
            headers=staff,
        )
        assert achieved.status_code == 200
        closed = http.post(
            f"{project}/close", json={"outcome": "deployed", "reason": "en service"}, headers=staff
        )
        assert closed.status_code == 200
        state = http.get(project, headers=viewer)
        assert state.json()["status"] == "closed"
        assert state.json()["phase"] == "ideation"
        assert state.headers["ETag"] == f'"{closed.json()["version"]}"'

    log_lines = [
        json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")
    ]
    access = [line for line in log_lines if line.get("event") == "request"]
    assert any(line["request_id"] == "e2e-create" for line in access)
    assert all(line["status"] < 500 for line in access)
    assert staff_token.split(".")[1] not in log_path.read_text()
