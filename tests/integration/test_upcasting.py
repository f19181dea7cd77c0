"""Events and snapshots stored by older class versions read back upcast, on both databases.

`Project.ActivityLogged` v1 had no `mode`; v2 records it, and its `upcast_v1_v2` gives old
events the mode their kind implies (a webinar is remote; otherwise not recorded, None).
`Project` v2 upcasts old snapshots the same way, so snapshot-plus-events still equals replay.
The v1 rows below are written straight into the store, as the v1 code wrote them.
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from domain.project import Project
from domain.values import ActivityKind, ActivityMode, Health
from tests.factories import full_replay, registered_project
from tracker.application.commands import AssessHealth, LogActivity
from tracker.application.service import TrackerApplication

ACTIVITY_LOGGED_TOPIC = "domain.project:Project.ActivityLogged"


def v1_activity_logged(kind: str, activity_id: str) -> bytes:
    """An ActivityLogged as the v1 class stored it: no `mode`, no `class_version`."""
    return json.dumps(
        {
            "timestamp": {"_type_": "datetime_iso", "_data_": "2025-03-04T09:30:00+00:00"},
            "actor": "tok_v1",
            "correlation_id": "corr-v1",
            "occurred_on": {"_type_": "date_iso", "_data_": "2025-03-04"},
            "reason": None,
            "activity_id": activity_id,
            "kind": kind,
            "title": "Séance d'avant la v2",
            "held_on": {"_type_": "date_iso", "_data_": "2025-03-03"},
            "participants": 17,
        }
    ).encode()


def store_v1_activity(application: TrackerApplication, project_id: uuid.UUID, kind: str) -> str:
    """Append a v1 ActivityLogged to the project's stream, as the old code did."""
    activity_id = str(uuid.uuid4())
    version = application.get_project(project_id).version + 1
    application.recorder.insert_events(
        [
            StoredEvent(
                originator_id=project_id,
                originator_version=version,
                topic=ACTIVITY_LOGGED_TOPIC,
                state=v1_activity_logged(kind, activity_id),
            )
        ]
    )
    return activity_id


@pytest.mark.parametrize(
    ("kind", "mode"), [(ActivityKind.WEBINAR, "remote"), (ActivityKind.WORKSHOP, None)]
)
def test_a_v1_activity_event_is_upcast_with_the_mode_its_kind_implies(
    application: TrackerApplication, kind: ActivityKind, mode: str | None
) -> None:
    project_id = registered_project(application)
    activity_id = store_v1_activity(application, project_id, kind.value)

    (activity,) = application.get_project(project_id).activities
    assert (activity.activity_id, activity.participants, activity.held_on) == (
        activity_id,
        17,
        date(2025, 3, 3),
    )
    assert activity.mode == mode
    event = list(application.events.get(project_id))[-1]
    assert isinstance(event, Project.ActivityLogged)
    assert (event.mode, event.actor, event.occurred_on) == (mode, "tok_v1", date(2025, 3, 4))


def test_commands_carry_on_after_a_v1_event(application: TrackerApplication) -> None:
    project_id = registered_project(application)
    store_v1_activity(application, project_id, ActivityKind.TRAINING.value)
    meta = application.meta("tok", "corr")
    application.execute(
        LogActivity(
            project_id=project_id,
            kind=ActivityKind.WORKSHOP,
            title="Atelier",
            held_on=date(2025, 4, 1),
            participants=9,
            mode=ActivityMode.HYBRID,
        ),
        meta,
    )
    assert [a.mode for a in application.get_project(project_id).activities] == [None, "hybrid"]


def test_new_activity_events_are_stored_as_version_2(application: TrackerApplication) -> None:
    project_id = registered_project(application)
    application.execute(
        LogActivity(
            project_id=project_id,
            kind=ActivityKind.WEBINAR,
            title="Webinaire",
            held_on=date(2025, 4, 1),
            participants=30,
        ),
        application.meta("t", "c"),
    )
    stored = application.recorder.select_events(project_id)[-1]
    state = json.loads(stored.state)
    assert (stored.topic, state["class_version"], state["mode"]) == (
        ACTIVITY_LOGGED_TOPIC,
        2,
        "remote",
    )


def as_v1_snapshot(state: bytes) -> bytes:
    """A snapshot's stored state as `Project` v1 wrote it: no class_version, no activity mode."""
    data: dict[str, Any] = json.loads(state)
    assert data["state"].pop("class_version") == 3
    del data["state"]["_dated"]
    for activity in data["state"]["activities"]:
        del activity["_data_"]["mode"]
    return json.dumps(data).encode()


def store_v1_snapshot(application: TrackerApplication, project_id: uuid.UUID) -> int:
    """Snapshot the project as v1 code would have; return the snapshot's version."""
    project = application.get_project(project_id)
    current = application.mapper.to_stored_event(type(project).Snapshot.take(project))
    assert application.snapshots is not None
    application.snapshots.recorder.insert_events(
        [
            StoredEvent(
                originator_id=current.originator_id,
                originator_version=current.originator_version,
                topic=current.topic,
                state=as_v1_snapshot(current.state),
            )
        ]
    )
    return project.version


def test_a_v1_snapshot_is_upcast_and_equals_full_replay(
    application: TrackerApplication,
) -> None:
    project_id = registered_project(application)
    store_v1_activity(application, project_id, ActivityKind.WEBINAR.value)
    store_v1_activity(application, project_id, ActivityKind.RESIDENCY.value)
    snapshot_version = store_v1_snapshot(application, project_id)
    application.execute(
        AssessHealth(project_id=project_id, health=Health.AT_RISK, reason="retard"),
        application.meta("t", "c"),
    )

    assert application.snapshots is not None
    (snapshot,) = application.snapshots.get(project_id)
    assert snapshot.originator_version == snapshot_version == 3
    assert "class_version" not in snapshot.state
    assert [a.mode for a in snapshot.state["activities"]] == [None, None]
    from_snapshot = snapshot.mutate(None)
    assert [a.mode for a in from_snapshot.activities] == ["remote", None]

    loaded = application.get_project(project_id)
    assert (loaded.version, loaded.health) == (4, Health.AT_RISK)
    assert loaded.as_dict() == full_replay(application, project_id).as_dict()


def test_snapshots_taken_now_are_stored_as_version_3(application: TrackerApplication) -> None:
    project_id = registered_project(application)
    application.take_snapshot(project_id)
    assert application.snapshots is not None
    (stored,) = application.snapshots.recorder.select_events(project_id)
    assert json.loads(stored.state)["state"]["class_version"] == 3
