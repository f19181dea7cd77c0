"""History and time travel read the event store: every field, paging, versions and instants."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import InvalidValueError, ProjectNotFoundError
from domain.lab import Lab
from domain.project import Project
from domain.values import ActivityKind, Health, Phase
from tests.factories import registered_lab, registered_project
from tracker.application.commands import (
    AssessHealth,
    CommitFunding,
    LogActivity,
    PlanMilestone,
    RecordDecision,
)
from tracker.application.service import TrackerApplication
from tracker.audit.history import (
    NotKnownAtError,
    VersionNotFoundError,
    project_as_of,
    project_at_version,
    project_history,
)


def test_history_lists_every_event_with_its_metadata_and_hash(
    application: TrackerApplication,
) -> None:
    project_id = registered_project(application)
    meta = application.meta("tok_auditor", "corr-1", date(2026, 1, 5))
    result = application.execute(
        AssessHealth(project_id=project_id, health=Health.AT_RISK, reason="retard"), meta
    )
    page = project_history(application, project_id)
    assert [e.version for e in page.entries] == [1, 2]
    assert page.next_after is None
    registered, assessed = page.entries
    assert registered.type == "ProjectRegistered"
    assert registered.data["title"] == "Villages du futur"
    assert registered.data["territories"] == [
        {"level": "department", "code": "71", "cog_year": 2024}
    ]
    assert assessed.type == "HealthAssessed"
    assert assessed.position == result.position
    assert (assessed.actor, assessed.reason, assessed.correlation_id) == (
        "tok_auditor",
        "retard",
        "corr-1",
    )
    assert assessed.occurred_on == date(2026, 1, 5)
    assert assessed.data == {"health": "at_risk"}
    assert assessed.recorded_at == application.get_project(project_id).modified_on
    hashes = {r.position: r.hash for r in application.recorder.select_hash_rows(0, 10**9)}  # type: ignore[attr-defined]
    assert [e.hash for e in page.entries] == [hashes[e.position] for e in page.entries]
    assert assessed.as_dict()["recorded_at"] == assessed.recorded_at.isoformat()


def test_history_is_paged_by_version(application: TrackerApplication) -> None:
    project_id = registered_project(application)
    for _ in range(4):
        application.execute(
            AssessHealth(project_id=project_id, health=Health.AT_RISK), application.meta("t", "c")
        )
    first = project_history(application, project_id, limit=2)
    assert [e.version for e in first.entries] == [1, 2]
    assert first.next_after == 2
    second = project_history(application, project_id, after=first.next_after, limit=2)
    third = project_history(application, project_id, after=second.next_after or 0, limit=2)
    assert [e.version for e in second.entries] == [3, 4]
    assert [e.version for e in third.entries] == [5]
    assert third.next_after is None
    with pytest.raises(InvalidValueError):
        project_history(application, project_id, limit=0)


def test_history_of_an_unknown_id_or_of_a_lab_is_not_found(application: TrackerApplication) -> None:
    with pytest.raises(ProjectNotFoundError):
        project_history(application, uuid.uuid4())
    with pytest.raises(ProjectNotFoundError):
        project_history(application, Lab.id_for(registered_lab(application)))


def test_state_at_a_version_replays_up_to_that_version(application: TrackerApplication) -> None:
    project_id = registered_project(application)
    application.execute(
        AssessHealth(project_id=project_id, health=Health.OFF_TRACK), application.meta("t", "c")
    )
    application.execute(
        AssessHealth(project_id=project_id, health=Health.AT_RISK), application.meta("t", "c")
    )
    assert project_at_version(application, project_id, 2).health is Health.OFF_TRACK
    assert project_at_version(application, project_id, 1).health is Health.ON_TRACK
    with pytest.raises(VersionNotFoundError):
        project_at_version(application, project_id, 4)
    with pytest.raises(InvalidValueError):
        project_at_version(application, project_id, 0)


def test_state_as_of_an_instant_before_registration_is_not_known(
    application: TrackerApplication,
) -> None:
    before = datetime.now(UTC)
    project_id = registered_project(application)
    with pytest.raises(NotKnownAtError):
        project_as_of(application, project_id, before - timedelta(seconds=1))
    assert project_as_of(application, project_id, datetime.now(UTC)).version == 1


def _command(application: TrackerApplication, project_id: uuid.UUID, step: tuple[str, int]) -> None:
    kind, number = step
    meta = application.meta("tok_prop", f"c{number}")
    if kind == "health":
        application.execute(
            AssessHealth(project_id=project_id, health=list(Health)[number % 3]), meta
        )
    elif kind == "decision":
        application.execute(
            RecordDecision(
                project_id=project_id, title=f"Décision {number}", decision="oui", rationale="car"
            ),
            meta,
        )
    elif kind == "activity":
        application.execute(
            LogActivity(
                project_id=project_id,
                kind=ActivityKind.WORKSHOP,
                title=f"Atelier {number}",
                held_on=date(2026, 1, 2),
                participants=number,
            ),
            meta,
        )
    elif kind == "funding":
        application.execute(
            CommitFunding(
                project_id=project_id, source="Région", amount_cents=number * 100, fiscal_year=2026
            ),
            meta,
        )
    else:
        application.execute(
            PlanMilestone(
                project_id=project_id,
                title=f"Jalon {number}",
                due_on=date(2026, 9, 1),
                phase=Phase.DISCOVERY,
            ),
            meta,
        )


steps = st.lists(
    st.tuples(
        st.sampled_from(["health", "decision", "activity", "funding", "milestone"]),
        st.integers(min_value=0, max_value=500),
    ),
    max_size=12,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    history=steps,
    picks=st.lists(
        st.tuples(st.integers(0, 100), st.sampled_from([-1, 0, 1])), min_size=1, max_size=6
    ),
)
def test_as_of_equals_replaying_exactly_the_events_recorded_up_to_that_instant(
    application: TrackerApplication, history: list[tuple[str, int]], picks: list[tuple[int, int]]
) -> None:
    project_id = registered_project(application)
    for step in history:
        _command(application, project_id, step)
    # The reference: every stored event, folded in memory, independently of the audit module.
    events: list[Any] = list(application.events.get(project_id))
    instants = [e.timestamp for e in events]
    for index, offset in picks:
        base = instants[index % len(instants)]
        instant = base + timedelta(microseconds=offset)
        recorded = [e for e in events if e.timestamp <= instant]
        if not recorded:
            with pytest.raises(NotKnownAtError):
                project_as_of(application, project_id, instant)
            continue
        expected: Project | None = None
        for event in recorded:
            expected = event.mutate(expected)
        assert expected is not None
        assert project_as_of(application, project_id, instant).as_dict() == expected.as_dict()


def test_as_of_and_version_agree_across_a_snapshot(application: TrackerApplication) -> None:
    project_id = registered_project(application)
    for number in range(application.settings.snapshot_interval + 4):
        application.execute(
            AssessHealth(project_id=project_id, health=list(Health)[number % 3]),
            application.meta("t", "c"),
        )
    events: list[Any] = list(application.events.get(project_id))
    for version in (2, 30, application.settings.snapshot_interval, len(events)):
        at_instant = project_as_of(application, project_id, events[version - 1].timestamp)
        assert at_instant.version == version
        assert (
            at_instant.as_dict() == project_at_version(application, project_id, version).as_dict()
        )
