"""The event store's typed interface and its factories' refusals, on both databases."""

from __future__ import annotations

import pytest
from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import resolve_topic

from tests.factories import registered_project
from tracker.application.service import TrackerApplication
from tracker.config.settings import Settings
from tracker.schema.event_store import EVENTS_TABLE, SNAPSHOTS_TABLE
from tracker.store.environment import event_store_env
from tracker.store.interface import AuditRecorder, UnsupportedRecorderError, audit_recorder
from tracker.store.postgres import (
    TrackerPostgresApplicationRecorder,
    TrackerPostgresFactory,
    notification_channel,
)
from tracker.store.sqlite import TrackerSQLiteApplicationRecorder, TrackerSQLiteFactory

RECORDERS = {
    "sqlite": TrackerSQLiteApplicationRecorder,
    "postgresql": TrackerPostgresApplicationRecorder,
}
FACTORIES = {"sqlite": TrackerSQLiteFactory, "postgresql": TrackerPostgresFactory}


def test_the_environment_names_tracker_factory(settings: Settings, backend: str) -> None:
    topic = event_store_env(settings)["PERSISTENCE_MODULE"]
    assert resolve_topic(topic) is FACTORIES[backend]


def test_the_application_recorder_is_an_audit_recorder(
    application: TrackerApplication, backend: str
) -> None:
    assert isinstance(application.factory, FACTORIES[backend])
    recorder = audit_recorder(application.recorder)
    assert recorder is application.recorder
    assert isinstance(recorder, RECORDERS[backend])
    project_id = registered_project(application)
    stream = recorder.select_stream(project_id)
    assert [item.stored_event.originator_version for item in stream] == [1]
    assert recorder.max_hash_position() == stream[0].position
    assert stream[0].hash == recorder.select_hash_rows(stream[0].position - 1, 1)[0].hash


def test_audit_recorder_refuses_the_library_recorders(
    application: TrackerApplication, backend: str
) -> None:
    datastore = application.recorder.datastore  # type: ignore[attr-defined]
    library: ApplicationRecorder = (
        SQLiteApplicationRecorder(datastore, EVENTS_TABLE)
        if backend == "sqlite"
        else PostgresApplicationRecorder(datastore, events_table_name=EVENTS_TABLE)
    )
    for recorder in (library, POPOApplicationRecorder()):
        assert not isinstance(recorder, AuditRecorder)
        with pytest.raises(TypeError, match="is not tracker's event store recorder"):
            audit_recorder(recorder)


def test_the_factory_refuses_a_tracking_recorder(application: TrackerApplication) -> None:
    with pytest.raises(NotImplementedError, match="event store has no tracking recorder"):
        application.factory.tracking_recorder()


def test_the_factory_refuses_a_process_recorder(application: TrackerApplication) -> None:
    with pytest.raises(NotImplementedError, match="event store has no process recorder"):
        application.factory.process_recorder()


@pytest.mark.parametrize("purpose", ["events", "tracking", "other"])
def test_the_factory_refuses_aggregate_recorders_but_the_snapshots_one(
    application: TrackerApplication, purpose: str
) -> None:
    with pytest.raises(UnsupportedRecorderError, match=f"has no '{purpose}' aggregate recorder"):
        application.factory.aggregate_recorder(purpose)
    snapshots = application.factory.aggregate_recorder("snapshots")
    assert snapshots.events_table_name == SNAPSHOTS_TABLE  # type: ignore[attr-defined]


def test_the_notification_channel_is_postgres_only(
    application: TrackerApplication, backend: str
) -> None:
    if backend == "sqlite":
        with pytest.raises(TypeError, match="is not a PostgreSQL application recorder"):
            notification_channel(application.recorder)
    else:
        assert notification_channel(application.recorder) == EVENTS_TABLE
