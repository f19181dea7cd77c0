"""`tracker serve --workers 2`: both workers take writes, one runs the projector, the other
takes its role over when it dies, and the read models equal a rebuild (docs/cli.md)."""

from __future__ import annotations

import json
import os
import signal
from typing import Any

import httpx

from tests.reliability.harness import (
    START_DEADLINE_SECONDS,
    Deployment,
    Process,
    arrange_lab_and_projects,
    wait_until,
)

# Writes sent, each on a new connection, until both workers have answered some: the kernel
# hands each connection to whichever worker accepts first, so a bound, not a count.
MAX_WRITES = 200
HEALTHS = ("on_track", "at_risk", "off_track")


def _lines(server: Process, event: str) -> list[dict[str, Any]]:
    found = []
    for line in server.log().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("event") == event:
                found.append(record)
    return found


def _write_pids(server: Process) -> set[int]:
    return {
        r["pid"]
        for r in _lines(server, "request")
        if r["method"] == "POST" and r["route"].endswith("/health") and r["status"] == 200
    }


def _role_holders(server: Process) -> list[int]:
    return [r["pid"] for r in _lines(server, "background_role_taken")]


def _assess(url: str, staff: str, project: str, serial: int) -> dict[str, Any]:
    # A new connection per write: `Connection: close`.
    response = httpx.post(
        f"{url}/api/v1/projects/{project}/health",
        json={"health": HEALTHS[serial % 3], "reason": f"r{serial}"},
        headers={"Authorization": f"Bearer {staff}", "Connection": "close"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _health_read_at(url: str, staff: str, project: str, position: int) -> str:
    response = httpx.post(
        f"{url}/graphql",
        json={
            "query": "query($id: ID!) { project(id: $id) { health } }",
            "variables": {"id": project},
        },
        headers={"Authorization": f"Bearer {staff}", "X-Min-Position": str(position)},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    health: str = response.json()["data"]["project"]["health"]
    return health.lower()


def test_two_workers_share_writes_and_one_projector_that_another_takes_over(
    deployment: Deployment,
) -> None:
    server = deployment.serve(workers=2)
    assert server.url
    try:
        wait_until(
            lambda: len({r["pid"] for r in _lines(server, "started")}) == 2,
            START_DEADLINE_SECONDS,
            "both workers to start",
        )
        wait_until(lambda: len(_role_holders(server)) == 1, 30, "a worker to take the role")
        admin, staff = deployment.token("admin"), deployment.token("staff", "lab-workers")
        [project] = arrange_lab_and_projects(server.url, admin, staff, "lab-workers", 1)

        serial, written = 0, None
        while len(_write_pids(server)) < 2:
            assert serial < MAX_WRITES, f"one worker answered all {serial} writes"
            written = _assess(server.url, staff, project, serial)
            serial += 1
        assert written is not None
        # Read your write through either worker: the projector runs in one of them only.
        for _ in range(4):
            health = _health_read_at(server.url, staff, project, written["position"])
            assert health == HEALTHS[(serial - 1) % 3]

        # The role's holder dies: another worker takes it over, the projector goes on.
        [holder] = _role_holders(server)
        os.kill(holder, signal.SIGKILL)
        wait_until(
            lambda: any(pid != holder for pid in _role_holders(server)),
            30,
            "another worker to take the role over",
        )
        written = _assess(server.url, staff, project, serial)
        health = _health_read_at(server.url, staff, project, written["position"])
        assert health == HEALTHS[serial % 3]
        wait_until(deployment.projections_caught_up, 60, "projections to catch up")
        # uvicorn replaces the dead worker; stopping while it starts would wait for it.
        wait_until(
            lambda: len({r["pid"] for r in _lines(server, "started")}) == 3,
            START_DEADLINE_SECONDS,
            "the dead worker's replacement to start",
        )
    finally:
        server.stop()
    assert not server.alive()
    deployment.assert_projections_equal_a_rebuild()
