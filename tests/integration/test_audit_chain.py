"""Every save chains its events' hashes, in the events' own transaction, on both stores."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from eventsourcing.sqlite import SQLiteCursor
from psycopg import Cursor
from psycopg.rows import DictRow

from domain.admin import ADMIN_LOG_ID
from domain.values import Health
from tests.factories import registered_lab, registered_project
from tracker.application.commands import AssessHealth, RecordTokenRevoked
from tracker.application.service import TrackerApplication, WriteOptions
from tracker.application.services import Services
from tracker.audit.verify import verify
from tracker.config.settings import Settings
from tracker.schema.audit import people
from tracker.store import chain, migrate


def _recorded_chain_is_valid(application: TrackerApplication, project_id: uuid.UUID) -> None:
    prev = chain.GENESIS
    stored = application.recorder.select_stream(project_id)  # type: ignore[attr-defined]
    assert stored, "the stream has events"
    for item in stored:
        event = item.stored_event
        expected = chain.event_hash(
            prev, event.originator_id, event.originator_version, event.topic, event.state
        )
        assert item.hash == expected
        prev = expected


def test_every_saved_event_gets_a_hash_chained_to_its_stream(
    application: TrackerApplication,
) -> None:
    project_id = registered_project(application)
    for health in (Health.AT_RISK, Health.OFF_TRACK, Health.ON_TRACK):
        application.execute(
            AssessHealth(project_id=project_id, health=health), application.meta("tok", "c")
        )
    _recorded_chain_is_valid(application, project_id)


def test_hash_rows_chain_the_running_hash_over_positions(application: TrackerApplication) -> None:
    registered_project(application)
    rows = application.recorder.select_hash_rows(0, 100_000)  # type: ignore[attr-defined]
    running = chain.GENESIS
    for row in rows:
        running = chain.running_hash(running, row.position, row.hash)
        assert row.running_hash == running


def test_a_checkpoint_is_written_each_time_positions_cross_the_interval(
    application: TrackerApplication,
) -> None:
    project_id = registered_project(application)
    project = application.get_project(project_id)
    for index in range(chain.CHECKPOINT_INTERVAL + 1):
        project.record_decision(f"Décision {index}", "oui", "parce que", application.meta("t", "c"))
    application.save(project)  # one transaction: the checkpoint is computed inside the batch
    rows = {r.position: r for r in application.recorder.select_hash_rows(0, 100_000)}  # type: ignore[attr-defined]
    checkpoints = application.recorder.select_checkpoints()  # type: ignore[attr-defined]
    assert checkpoints
    for checkpoint in checkpoints:
        assert rows[checkpoint.position].running_hash == checkpoint.running_hash
    positions = sorted(rows)
    expected = [
        p
        for previous, p in zip([0, *positions], positions, strict=False)
        if chain.crosses_checkpoint(previous, p)
    ]
    assert [c.position for c in checkpoints] == expected


class _PersonRow:
    """A side write that records a row of its own, to show it shares the events' transaction."""

    def __init__(self, person_id: str, fail: bool = False) -> None:
        self.person_id = person_id
        self.fail = fail
        self.positions: list[int] = []

    def _params(self, positions: Sequence[int]) -> tuple[Any, ...]:
        self.positions = list(positions)
        if self.fail:
            raise RuntimeError("the side write fails")
        return (self.person_id, f"p{positions[-1]}", datetime.now(UTC).isoformat())

    def write_sqlite(self, cursor: SQLiteCursor, positions: Sequence[int]) -> None:
        cursor.execute(
            "INSERT INTO tracker_people (person_id, display_name, created_at) VALUES (?, ?, ?)",
            self._params(positions),
        )

    def write_postgres(self, cursor: Cursor[DictRow], positions: Sequence[int]) -> None:
        cursor.execute(
            "INSERT INTO tracker_people (person_id, display_name, created_at) VALUES (%s, %s, %s)",
            self._params(positions),
        )


def test_side_writes_still_run_with_the_positions_of_the_events(services: Services) -> None:
    application = services.application
    project_id = registered_project(application)
    side_write = _PersonRow(uuid.uuid4().hex)
    result = application.execute(
        AssessHealth(project_id=project_id, health=Health.AT_RISK),
        application.meta("t", "c"),
        WriteOptions(side_writes=[side_write]),
    )
    assert side_write.positions == [result.position]
    with services.engine.connect() as connection:
        name = connection.execute(
            sa.select(people.c.display_name).where(people.c.person_id == side_write.person_id)
        ).scalar_one()
    assert name == f"p{result.position}"
    _recorded_chain_is_valid(application, project_id)


def test_a_failing_side_write_rolls_back_the_events_and_their_hashes(
    application: TrackerApplication,
) -> None:
    project_id = registered_project(application)
    before = application.recorder.max_notification_id()
    with pytest.raises(RuntimeError):
        application.execute(
            AssessHealth(project_id=project_id, health=Health.AT_RISK),
            application.meta("t", "c"),
            WriteOptions(side_writes=[_PersonRow(uuid.uuid4().hex, fail=True)]),
        )
    assert application.get_project(project_id).version == 1
    rows = application.recorder.select_hash_rows(before or 0, 10)  # type: ignore[attr-defined]
    assert rows == []
    _recorded_chain_is_valid(application, project_id)


def test_concurrent_writers_in_two_processes_keep_every_chain_valid(settings: Settings) -> None:
    """Two applications (two connection pools, as two processes have) write at once."""
    first, second = TrackerApplication(settings), TrackerApplication(settings)
    try:
        lab = registered_lab(first)
        project_ids = [registered_project(first, lab) for _ in range(6)]
        barrier = threading.Barrier(12)

        def command(args: tuple[TrackerApplication, uuid.UUID]) -> None:
            application, project_id = args
            barrier.wait()
            for health in (Health.AT_RISK, Health.ON_TRACK, Health.OFF_TRACK):
                application.execute(
                    AssessHealth(project_id=project_id, health=health), application.meta("t", "c")
                )

        work = [(app, pid) for pid in project_ids for app in (first, second)]
        with ThreadPoolExecutor(max_workers=len(work)) as pool:
            list(pool.map(command, work))
        for project_id in project_ids:
            assert first.get_project(project_id).version == 7
            _recorded_chain_is_valid(first, project_id)
        rows = first.recorder.select_hash_rows(0, 1_000_000)  # type: ignore[attr-defined]
        running = chain.GENESIS
        for row in rows:
            running = chain.running_hash(running, row.position, row.hash)
            assert row.running_hash == running
    finally:
        first.close()
        second.close()


def test_the_migration_chains_events_stored_before_it_exactly_as_saves_do(
    empty_database_url: str,
) -> None:
    settings = Settings(database_url=empty_database_url)
    migrate.upgrade(settings)
    services = Services.open(settings)
    try:
        project_id = registered_project(services.application)
        project = services.application.get_project(project_id)
        for index in range(chain.CHECKPOINT_INTERVAL):
            project.record_decision(f"D{index}", "oui", "car", services.application.meta("t", "c"))
        services.application.save(project)
        recorder: Any = services.application.recorder
        rows, checkpoints = recorder.select_hash_rows(0, 10**6), recorder.select_checkpoints()
    finally:
        services.close()
    migrate.downgrade(settings, "0003_read_models")  # drops the audit tables, keeps the events
    migrate.upgrade(settings)
    services = Services.open(settings)
    try:
        recorder = services.application.recorder
        assert recorder.select_hash_rows(0, 10**6) == rows
        assert recorder.select_checkpoints() == checkpoints
        assert verify(services.application).intact
    finally:
        services.close()


def test_the_admin_log_takes_a_snapshot_as_often_as_projects_do(
    application: TrackerApplication,
) -> None:
    every = application.settings.snapshot_interval
    for _ in range(every):
        result = application.execute(RecordTokenRevoked(token_id="t"), application.meta("t", "c"))
        if result.version % every == 0:
            break
    assert application.snapshots is not None
    snapshot = list(application.snapshots.get(ADMIN_LOG_ID, desc=True, limit=1))
    assert [s.originator_version for s in snapshot] == [result.version]
    assert application.repository.get(ADMIN_LOG_ID).version == result.version
