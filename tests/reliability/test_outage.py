"""Database outages: PostgreSQL connections terminated under load, then the database closed
to connections for a while; SQLite: two servers and a projector writing one file.

While the database is gone the API answers 503 problem responses (never 500), it recovers by
itself when the database is back, and nothing it acknowledged is lost. Requests answered 503
(or not at all) have an unknown outcome for the client: they are sent again with their
Idempotency-Key, and each key writes at most once.
"""

from __future__ import annotations

import threading

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.reliability.harness import (
    PROBLEM_JSON,
    Deployment,
    Load,
    Sent,
    arrange_lab_and_projects,
    assert_clean_answers,
    assert_nothing_lost,
    assert_once_per_key,
    bound,
    read_log,
    retry_unanswered,
    wait_until,
)

pytestmark = pytest.mark.reliability

TERMINATE = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE datname = %s AND pid <> pg_backend_pid()"
)
UNAVAILABLE = {"urn:tracker:problem:storage-unavailable", "urn:tracker:problem:write-contention"}


class Postgres:
    """An administrator's connection to the test database's server (not to that database)."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self.database = url.database
        self.conninfo = url.set(drivername="postgresql", database="postgres").render_as_string(
            hide_password=False
        )

    def terminate_backends(self) -> int:
        with psycopg.connect(self.conninfo, autocommit=True) as connection:
            return len(connection.execute(TERMINATE, (self.database,)).fetchall())

    def allow_connections(self, allowed: bool) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as connection:
            connection.execute(
                f'ALTER DATABASE "{self.database}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}'
            )


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["type"] in UNAVAILABLE, response.text
    assert "Retry-After" in response.headers


def test_postgresql_connections_terminated_under_load_answer_503_and_recover(
    postgres_deployment: Deployment,
) -> None:
    deployment = postgres_deployment
    postgres = Postgres(deployment.database_url)
    server = deployment.serve()
    url = server.url or ""
    admin, staff = deployment.token("admin"), deployment.token("staff", "lab-panne")
    auditor = deployment.token("auditor")
    projects = arrange_lab_and_projects(url, admin, staff, "lab-panne", 5)
    staff_headers = {"Authorization": f"Bearer {staff}"}

    # 1. Connections killed again and again while 32 clients write.
    load = Load(
        [url], staff, projects, clients=32, per_client=bound(4, 40), seed=4, idempotent=True
    )
    runner = threading.Thread(target=load.run)
    runner.start()
    terminated = 0
    try:
        for round_ in range(bound(3, 20)):
            wait_until(
                lambda n=round_: load.answered(25 * (n + 1)) or not runner.is_alive(),
                120,
                "answers between terminations",
            )
            if not runner.is_alive():
                break
            terminated += postgres.terminate_backends()
    finally:
        runner.join(timeout=300)
    assert not runner.is_alive()
    assert terminated > 0

    # 2. The database refuses connections for a while: reads and writes answer 503.
    postgres.allow_connections(False)
    try:
        postgres.terminate_backends()
        # Bounded, not short: a write retries its connection (the store's retry times the
        # pool's 5 s connect timeout) before it answers 503.
        with httpx.Client(base_url=url, timeout=120) as http:
            assert_unavailable(
                http.post(
                    f"/api/v1/projects/{projects[0]}/health",
                    json={"health": "at_risk"},
                    headers=staff_headers,
                )
            )
            assert_unavailable(http.get(f"/api/v1/projects/{projects[0]}", headers=staff_headers))
            assert_unavailable(http.get("/api/v1/labs", headers=staff_headers))
            assert http.get("/healthz").status_code == 200
            assert http.get("/readyz").status_code == 503
    finally:
        postgres.allow_connections(True)

    # 3. It recovers by itself: a write passes again within a bounded time.
    def writes_again() -> bool:
        response = httpx.post(
            f"{url}/api/v1/projects/{projects[1]}/health",
            json={"health": "on_track"},
            headers=staff_headers,
            timeout=120,
        )
        assert response.status_code in (200, 503), response.text
        return response.status_code == 200

    wait_until(writes_again, 60, "writes to pass after the outage")

    sent: list[Sent] = [*load.sent, *retry_unanswered(url, staff, load.sent)]
    assert_clean_answers(sent, allowed={409, 412, 503})
    for s in sent:
        if s.status == 503:
            assert s.body["type"] in UNAVAILABLE, s.body
    assert "unhandled_error" not in server.log()
    log = read_log(url, auditor)
    assert_nothing_lost(log, sent, projects)
    assert_once_per_key(log, sent)
    wait_until(lambda: deployment.projections_caught_up(), 90, "the projector to recover")
    deployment.assert_projections_equal_a_rebuild()
    statuses = load.statuses()
    print(
        f"outage: {terminated} connections terminated, {len(load.sent)} sent {dict(statuses)}, "
        f"{sum(1 for s in sent if s.acknowledged)} acknowledged after retries"
    )


def test_two_servers_and_a_projector_on_one_sqlite_file_never_say_locked(
    sqlite_deployment: Deployment,
) -> None:
    deployment = sqlite_deployment
    servers = [deployment.serve(projector=False), deployment.serve(projector=False)]
    projector = deployment.projector()
    urls = [s.url or "" for s in servers]
    admin, staff = deployment.token("admin"), deployment.token("staff", "lab-fichier")
    auditor = deployment.token("auditor")
    projects = arrange_lab_and_projects(urls[0], admin, staff, "lab-fichier", 5)

    load = Load(urls, staff, projects, clients=32, per_client=bound(5, 60), seed=5).run()

    assert_clean_answers(load.sent)
    assert all(s.status is not None for s in load.sent)
    assert "database is locked" not in deployment.logs()
    assert_nothing_lost(read_log(urls[1], auditor), load.sent, projects)
    wait_until(lambda: deployment.projections_caught_up(), 60, "the projector to catch up")
    assert projector.alive(), projector.log()
    deployment.assert_projections_equal_a_rebuild()
    print(f"sqlite, two servers: {len(load.sent)} sent {dict(load.statuses())}")
