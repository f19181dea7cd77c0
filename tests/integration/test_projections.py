"""The projections on a real event store, on SQLite and PostgreSQL: catch-up, exactly-once,
crash and resume, two projectors on one projection, live following, status, rebuilds.

The session's database is shared by every test, so each test looks at its own project's
rows, and catches the projections up first so that it starts from the log's head.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from eventsourcing.persistence import Tracking

from domain.project import Project
from domain.values import ActivityKind, Health
from projections.activity import ActivityProjection
from projections.portfolio import PortfolioProjection
from projections.reading import read_engine
from projections.runner import (
    PROJECTIONS,
    ProjectionWorker,
    committed_positions,
    head_position,
    rebuild,
    rebuild_all,
    start_background_projector,
    status,
    wait_for_position,
)
from tests.factories import registered_lab, registered_project
from tracker.application.commands import AssessHealth, CommitFunding, LogActivity
from tracker.application.service import TrackerApplication
from tracker.application.services import Services
from tracker.schema.read_models import activity_feed, projects

DAY = date(2026, 3, 2)
TRACKER = Path(sys.executable).parent / "tracker"


def catch_up(services: Services) -> None:
    for projection in PROJECTIONS:
        ProjectionWorker(services, projection).run_until_caught_up()


def project_row(services: Services, project_id: UUID) -> dict[str, Any]:
    with read_engine(services).connect() as connection:
        row = connection.execute(
            sa.select(projects).where(projects.c.id == str(project_id))
        ).mappings()
        return dict(row.one())


def log_activity(application: TrackerApplication, project_id: UUID, participants: int) -> int:
    meta = application.meta("tok_test", str(uuid.uuid4()), DAY)
    return application.execute(
        LogActivity(
            project_id=project_id,
            kind=ActivityKind.WORKSHOP,
            title="Atelier",
            held_on=DAY,
            participants=participants,
        ),
        meta,
    ).position


class Boom(RuntimeError):
    pass


def test_catch_up_projects_every_event_up_to_the_head(
    services: Services, application: TrackerApplication
) -> None:
    project_id = registered_project(application)
    log_activity(application, project_id, 12)
    position = log_activity(application, project_id, 8)
    catch_up(services)
    row = project_row(services, project_id)
    assert (row["activities"], row["participants"], row["version"]) == (2, 20, 3)
    with read_engine(services).connect() as connection:
        feed = connection.scalar(
            sa.select(sa.func.count())
            .select_from(activity_feed)
            .where(activity_feed.c.project_id == str(project_id))
        )
    assert feed == 3
    positions = committed_positions(services)
    assert all(p >= position for p in positions.values())


def test_running_again_applies_nothing_twice(
    services: Services, application: TrackerApplication
) -> None:
    project_id = registered_project(application)
    log_activity(application, project_id, 5)
    catch_up(services)
    assert ProjectionWorker(services, PortfolioProjection).run_until_caught_up() == 0
    log_activity(application, project_id, 7)
    assert ProjectionWorker(services, PortfolioProjection).run_until_caught_up() == 1
    assert project_row(services, project_id)["participants"] == 12


def test_a_batch_failing_midway_commits_nothing_and_the_rerun_converges(
    services: Services, application: TrackerApplication
) -> None:
    project_id = registered_project(application)
    catch_up(services)
    before = committed_positions(services)["portfolio"]
    log_activity(application, project_id, 10)
    log_activity(application, project_id, 20)
    application.execute(
        CommitFunding(
            project_id=project_id, source="Région", amount_cents=50_000, fiscal_year=2026
        ),
        application.meta("t", "c"),
    )

    class FailingOnFunding(PortfolioProjection):
        name = PortfolioProjection.name  # the library names subclasses after themselves

        def process_event(self, domain_event: Any, tracking: Tracking) -> None:  # type: ignore[override]
            if isinstance(domain_event, Project.FundingCommitted):
                raise Boom("the database went away")
            super().process_event(domain_event, tracking)

    with pytest.raises(Boom):
        ProjectionWorker(services, FailingOnFunding).run_until_caught_up()
    # The two activities came before the failure in the same batch: rolled back with it.
    assert project_row(services, project_id)["participants"] == 0
    assert committed_positions(services)["portfolio"] == before

    ProjectionWorker(services, PortfolioProjection).run_until_caught_up()
    row = project_row(services, project_id)
    assert (row["participants"], row["funding_cents"]) == (30, 50_000)
    assert rebuild(services, PortfolioProjection, check=True).differences == []


def test_a_projector_killed_mid_catch_up_resumes_with_nothing_lost_or_doubled(
    services: Services, application: TrackerApplication, database_url: str
) -> None:
    lab = registered_lab(application)
    project_id = registered_project(application, lab)
    catch_up(services)
    start = committed_positions(services)["portfolio"]
    # Many events in one save, so the worker has hundreds of small batches to commit.
    project = application.get_project(project_id)
    meta = application.meta("tok_test", "bulk", DAY)
    for _ in range(1500):
        project.log_activity(ActivityKind.WEBINAR, "Webinaire", DAY, 1, meta)
    application.save(project)
    head = head_position(services)

    worker = subprocess.Popen(
        [str(TRACKER), "projector"],
        env={
            **os.environ,
            "TRACKER_DATABASE_URL": database_url,
            "TRACKER_PROJECTION_BATCH_SIZE": "10",
            "TRACKER_LOG_LEVEL": "WARNING",
        },
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while committed_positions(services)["portfolio"] == start:
            assert worker.poll() is None, "the projector exited before projecting"
            assert time.monotonic() < deadline, "the projector never committed a batch"
            threading.Event().wait(0.002)
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.kill()
        worker.wait()
    killed_at = committed_positions(services)["portfolio"]
    assert start < killed_at < head, "killed too late to test a resume"
    row = project_row(services, project_id)
    assert row["participants"] == row["activities"]  # each committed batch is whole

    catch_up(services)
    assert project_row(services, project_id)["participants"] == 1500
    assert rebuild(services, PortfolioProjection, check=True).differences == []


def test_two_projectors_never_both_apply_an_event_and_the_second_waits(
    services: Services, application: TrackerApplication
) -> None:
    project_id = registered_project(application)
    catch_up(services)
    log_activity(application, project_id, 7)
    application.execute(
        AssessHealth(project_id=project_id, health=Health.AT_RISK), application.meta("t", "c")
    )
    inside_batch, release, second_waits = threading.Event(), threading.Event(), threading.Event()

    class HoldingTheBatch(PortfolioProjection):
        name = PortfolioProjection.name  # the library names subclasses after themselves

        def process_event(self, domain_event: Any, tracking: Tracking) -> None:  # type: ignore[override]
            super().process_event(domain_event, tracking)
            if isinstance(domain_event, Project.HealthAssessed):
                inside_batch.set()
                assert release.wait(30)

    applied: dict[str, int] = {}
    first = ProjectionWorker(services, HoldingTheBatch)
    second = ProjectionWorker(services, PortfolioProjection, on_wait=second_waits.set)
    first_thread = threading.Thread(
        target=lambda: applied.update(first=first.run_until_caught_up())
    )
    second_thread = threading.Thread(
        target=lambda: applied.update(second=second.run_until_caught_up())
    )
    first_thread.start()
    try:
        assert inside_batch.wait(30)
        second_thread.start()
        assert second_waits.wait(30), "the second projector did not wait for the lock"
        assert project_row(services, project_id)["participants"] == 0
    finally:
        release.set()
        first_thread.join()
    second_thread.join()
    assert applied == {"first": 2, "second": 0}
    row = project_row(services, project_id)
    assert (row["participants"], row["health"]) == (7, "at_risk")


def test_check_reports_a_corrupted_row_and_a_rebuild_repairs_it(
    services: Services, application: TrackerApplication
) -> None:
    project_id = registered_project(application)
    catch_up(services)
    with services.engine.begin() as connection:
        connection.execute(
            sa.update(projects).where(projects.c.id == str(project_id)).values(title="Corrompu")
        )
    differences = rebuild(services, PortfolioProjection, check=True).differences
    assert [(d.table, d.key) for d in differences] == [("rm_projects", (str(project_id),))]
    assert "title: live='Corrompu' rebuilt='Villages du futur'" in differences[0].describe()

    result = rebuild(services, PortfolioProjection)
    assert result.swapped
    assert project_row(services, project_id)["title"] == "Villages du futur"
    assert rebuild(services, PortfolioProjection, check=True).differences == []
    assert committed_positions(services)["portfolio"] == result.position


def test_a_rebuild_replayed_in_two_processes_finds_what_the_live_projections_hold(
    services: Services, application: TrackerApplication
) -> None:
    # On PostgreSQL the activity feed and the training projections replay in a spawned
    # process while this one replays the portfolio and the timeline it feeds; then each
    # is compared (and, second time round, swapped) here. SQLite replays in one process.
    project_id = registered_project(application)
    log_activity(application, project_id, 4)
    catch_up(services)
    head = head_position(services)
    checked = rebuild_all(services, check=True, processes=2)
    assert [d.describe() for r in checked for d in r.differences] == []
    assert [r.position for r in checked] == [head] * len(PROJECTIONS)
    swapped = rebuild_all(services, processes=2)
    assert [(r.name, r.position, r.swapped) for r in swapped] == [
        (p.name, head, True) for p in PROJECTIONS
    ]
    assert project_row(services, project_id)["participants"] == 4
    assert committed_positions(services) == {p.name: head for p in PROJECTIONS}


def test_a_rebuild_swaps_in_while_a_live_projector_keeps_following(
    services: Services, application: TrackerApplication
) -> None:
    project_id = registered_project(application)
    projector = start_background_projector(services)
    try:
        result = rebuild(services, ActivityProjection)
        position = log_activity(application, project_id, 3)
        assert wait_for_position(services, position, 10, projector)
    finally:
        projector.stop()
    assert result.position >= 1
    assert project_row(services, project_id)["participants"] == 3
    assert rebuild(services, ActivityProjection, check=True).differences == []


def test_status_reports_lag_in_events_and_seconds(
    services: Services, application: TrackerApplication
) -> None:
    project_id = registered_project(application)
    catch_up(services)
    assert {s.lag_events for s in status(services)} == {0}
    for participants in (1, 2, 3):
        log_activity(application, project_id, participants)
    lagging = {s.name: s for s in status(services)}
    assert {s.lag_events for s in lagging.values()} == {3}
    assert all(s.lag_seconds >= 0 and s.position < s.head for s in lagging.values())
    catch_up(services)
    assert {(s.lag_events, s.lag_seconds) for s in status(services)} == {(0, 0.0)}


def test_the_background_projector_follows_writes_live(
    services: Services, application: TrackerApplication
) -> None:
    project_id = registered_project(application)
    projector = start_background_projector(services)
    try:
        position = log_activity(application, project_id, 4)
        assert wait_for_position(services, position, 10, projector)
        assert project_row(services, project_id)["participants"] == 4
    finally:
        projector.stop()


def test_waiting_for_a_position_nobody_projects_gives_up_at_the_timeout(
    services: Services,
) -> None:
    started = time.monotonic()
    assert not wait_for_position(services, head_position(services) + 1_000, timeout=0.2)
    assert 0.2 <= time.monotonic() - started < 5
