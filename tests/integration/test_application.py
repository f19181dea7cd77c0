"""The service layer on a real event store, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from domain.errors import LabAlreadyRegisteredError, LabNotFoundError, ProjectNotFoundError
from domain.values import GateDecision, Health, Phase
from tests.factories import registered_lab, registered_project
from tracker.application.commands import AssessHealth, EnterPhase, RegisterLab, RegisterProject
from tracker.application.service import StaleVersionError, TrackerApplication, WriteOptions


def test_a_registered_project_loads_back_from_the_store(
    application: TrackerApplication,
) -> None:
    project_id = registered_project(application)
    project = application.get_project(project_id)
    assert project.title == "Villages du futur"
    assert project.phase is Phase.FRAMING
    assert project.version == 1


def test_commands_answer_version_and_global_position(application: TrackerApplication) -> None:
    project_id = registered_project(application)
    meta = application.meta("tok", "corr")
    first = application.execute(AssessHealth(project_id=project_id, health=Health.AT_RISK), meta)
    second = application.execute(
        EnterPhase(project_id=project_id, phase=Phase.DISCOVERY, decision=GateDecision.GO), meta
    )
    assert (first.version, second.version) == (2, 3)
    assert second.position > first.position > 0


def test_a_stale_expected_version_writes_nothing(application: TrackerApplication) -> None:
    project_id = registered_project(application)
    meta = application.meta("tok", "corr")
    with pytest.raises(StaleVersionError):
        application.execute(
            AssessHealth(project_id=project_id, health=Health.AT_RISK),
            meta,
            WriteOptions(expected_version=7),
        )
    assert application.get_project(project_id).version == 1


def test_a_second_lab_with_the_same_slug_is_refused(application: TrackerApplication) -> None:
    slug = registered_lab(application)
    with pytest.raises(LabAlreadyRegisteredError):
        application.execute(
            RegisterLab(slug=slug, name="Autre", region_code="27"), application.meta("t", "c")
        )


def test_a_project_needs_a_registered_lab(application: TrackerApplication) -> None:
    with pytest.raises(LabNotFoundError):
        application.execute(
            RegisterProject(
                lab="no-such-lab",
                title="T",
                summary="",
                themes=[],
                territories=[],
                started_on=date(2025, 1, 1),
            ),
            application.meta("t", "c"),
        )


def test_an_unknown_project_is_not_found(application: TrackerApplication) -> None:
    with pytest.raises(ProjectNotFoundError):
        application.get_project(uuid.uuid4())


def test_labs_are_listed_from_the_log(application: TrackerApplication) -> None:
    slug = registered_lab(application)
    assert slug in [lab.slug for lab in application.list_labs()]


def test_snapshots_are_taken_every_interval_and_load_equal(
    application: TrackerApplication,
) -> None:
    project_id = registered_project(application)
    meta = application.meta("tok", "corr")
    for i in range(120):
        application.execute(
            AssessHealth(
                project_id=project_id, health=Health.AT_RISK if i % 2 else Health.ON_TRACK
            ),
            meta,
        )
    snapshots = list(application.snapshots.get(project_id)) if application.snapshots else []
    assert [s.originator_version for s in snapshots] == [50, 100]
    with_snapshot = application.get_project(project_id)
    replayed = None
    for stored in application.events.get(project_id):
        replayed = stored.mutate(replayed)
    assert replayed is not None
    assert with_snapshot.as_dict() == replayed.as_dict()
