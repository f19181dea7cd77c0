"""Group commit: concurrent commands share transactions and keep their own answers."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

from domain.values import Health
from tests.factories import registered_lab, registered_project
from tracker.application.commands import AssessHealth
from tracker.application.service import CommandResult, TrackerApplication

THREADS = 16


def _run_concurrently(
    application: TrackerApplication, project_ids: list[UUID]
) -> list[CommandResult]:
    barrier = threading.Barrier(len(project_ids))

    def command(project_id: UUID) -> CommandResult:
        barrier.wait()
        return application.execute(
            AssessHealth(project_id=project_id, health=Health.AT_RISK),
            application.meta("tok", str(project_id)),
        )

    with ThreadPoolExecutor(max_workers=len(project_ids)) as pool:
        return list(pool.map(command, project_ids))


def test_concurrent_commands_on_different_projects_each_get_their_own_answer(
    application: TrackerApplication,
) -> None:
    lab = registered_lab(application)
    project_ids = [registered_project(application, lab) for _ in range(THREADS)]
    results = _run_concurrently(application, project_ids)
    assert [r.id for r in results] == project_ids
    assert all(r.version == 2 for r in results)
    assert len({r.position for r in results}) == THREADS
    for result in results:
        stored = application.recorder.select_notifications(start=result.position, limit=1)
        assert stored[0].originator_id == result.id


def test_concurrent_commands_on_one_project_all_apply_with_gap_free_versions(
    application: TrackerApplication,
) -> None:
    project_id = registered_project(application)
    results = _run_concurrently(application, [project_id] * THREADS)
    assert sorted(r.version for r in results) == list(range(2, THREADS + 2))
    versions = [e.originator_version for e in application.events.get(project_id)]
    assert versions == list(range(1, THREADS + 2))
