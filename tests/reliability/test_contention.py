"""Contention: 32 concurrent clients on the same 5 projects and 3 training actions, through
real server processes.

Afterwards every acknowledged command's event is in the log exactly once (matched by its
answer's position and version, and by the X-Request-ID sent as correlation id), versions are
gap-free per project, nothing answered 5xx, every refusal is a documented problem (409 for a
domain rule, 412 for a stale If-Match), and the projections equal a rebuild.
"""

from __future__ import annotations

import pytest

from tests.reliability.harness import (
    Deployment,
    Load,
    arrange_lab_and_projects,
    arrange_trainings,
    assert_clean_answers,
    assert_nothing_lost,
    bound,
    read_log,
    wait_until,
)

pytestmark = pytest.mark.reliability

CLIENTS = 32
PROJECTS = 5
TRAININGS = 3


def test_concurrent_clients_on_five_projects_lose_nothing(deployment: Deployment) -> None:
    server = deployment.serve()
    assert server.url
    admin, staff = deployment.token("admin"), deployment.token("staff", "lab-charge")
    auditor = deployment.token("auditor")
    projects = arrange_lab_and_projects(server.url, admin, staff, "lab-charge", PROJECTS)
    trainings = arrange_trainings(server.url, staff, "lab-charge", TRAININGS)

    load = Load(
        [server.url],
        staff,
        projects,
        clients=CLIENTS,
        per_client=bound(6, 60),
        seed=1,
        trainings=trainings,
    ).run()

    acknowledged = load.acknowledged()
    assert_clean_answers(load.sent)
    assert all(s.status is not None for s in load.sent), "a request got no answer"
    assert len(acknowledged) > len(load.sent) // 2, load.statuses()
    assert {s.command for s in acknowledged} >= {"training-reschedule"}, load.statuses()
    assert_nothing_lost(read_log(server.url, auditor), load.sent, [*projects, *trainings])
    wait_until(lambda: deployment.projections_caught_up(), 60, "projections to catch up")
    deployment.assert_projections_equal_a_rebuild()
    print(f"contention: {len(load.sent)} sent, {len(acknowledged)} acknowledged, {load.statuses()}")


def test_two_servers_and_a_projector_on_postgresql_lose_nothing(
    postgres_deployment: Deployment,
) -> None:
    deployment = postgres_deployment
    servers = [deployment.serve(projector=False), deployment.serve(projector=False)]
    projector = deployment.projector()
    urls = [s.url for s in servers if s.url]
    admin, staff = deployment.token("admin"), deployment.token("staff", "lab-charge")
    auditor = deployment.token("auditor")
    projects = arrange_lab_and_projects(urls[0], admin, staff, "lab-charge", PROJECTS)
    trainings = arrange_trainings(urls[0], staff, "lab-charge", TRAININGS)

    load = Load(
        urls,
        staff,
        projects,
        clients=CLIENTS,
        per_client=bound(6, 60),
        seed=2,
        trainings=trainings,
    ).run()

    acknowledged = load.acknowledged()
    assert_clean_answers(load.sent)
    assert all(s.status is not None for s in load.sent), "a request got no answer"
    assert len(acknowledged) > len(load.sent) // 2, load.statuses()
    assert_nothing_lost(read_log(urls[1], auditor), load.sent, [*projects, *trainings])
    wait_until(lambda: deployment.projections_caught_up(), 60, "the projector to catch up")
    assert projector.alive(), projector.log()
    deployment.assert_projections_equal_a_rebuild()
    print(f"two servers: {len(load.sent)} sent, {len(acknowledged)} acked, {load.statuses()}")
