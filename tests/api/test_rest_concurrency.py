"""If-Match: a stale version is refused with 412 and nothing is written; without it,
concurrent writers to one project all succeed."""

from __future__ import annotations

import threading
import uuid

import httpx
from fastapi.testclient import TestClient

from tests.api.conftest import assert_problem
from tracker.application.service import TrackerApplication


def test_a_write_with_the_current_version_succeeds(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    etag = client.get(f"/api/v1/projects/{project}", headers=staff).headers["ETag"]
    response = client.post(
        f"/api/v1/projects/{project}/health",
        json={"health": "at_risk"},
        headers=staff | {"If-Match": etag},
    )
    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'


def test_a_stale_version_is_412_and_writes_nothing(
    client: TestClient,
    staff: dict[str, str],
    project: uuid.UUID,
    api_application: TrackerApplication,
) -> None:
    url = f"/api/v1/projects/{project}/health"
    assert client.post(url, json={"health": "at_risk"}, headers=staff).status_code == 200
    stale = client.post(url, json={"health": "off_track"}, headers=staff | {"If-Match": '"1"'})
    assert assert_problem(stale, 412)["type"].endswith("stale-version")
    assert stale.headers["ETag"] == '"2"'
    project_now = api_application.get_project(project)
    assert project_now.version == 2
    assert project_now.health.value == "at_risk"


def test_if_match_star_applies_to_the_latest_version(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    response = client.post(
        f"/api/v1/projects/{project}/health",
        json={"health": "at_risk"},
        headers=staff | {"If-Match": "*"},
    )
    assert response.status_code == 200


def test_a_malformed_if_match_is_400(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    for value in ['W/"1"', '"one"', '"1", "2"']:
        response = client.post(
            f"/api/v1/projects/{project}/health",
            json={"health": "at_risk"},
            headers=staff | {"If-Match": value},
        )
        assert assert_problem(response, 400)["type"].endswith("malformed-if-match")


def test_concurrent_writers_without_if_match_all_succeed(
    client: TestClient,
    staff: dict[str, str],
    project: uuid.UUID,
    api_application: TrackerApplication,
) -> None:
    writers = 6
    barrier = threading.Barrier(writers)
    responses: list[httpx.Response] = []
    lock = threading.Lock()

    def write(index: int) -> None:
        barrier.wait()
        response = client.post(
            f"/api/v1/projects/{project}/activities",
            json={
                "kind": "workshop",
                "title": f"Atelier {index}",
                "held_on": "2025-03-01",
                "participants": index,
            },
            headers=staff,
        )
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for r in responses) == [201] * writers
    assert sorted(r.json()["version"] for r in responses) == list(range(2, 2 + writers))
    assert len(api_application.get_project(project).activities) == writers
