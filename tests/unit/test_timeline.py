"""The business timeline makes sense: named errors for dates out of order (docs/time.md)."""

from __future__ import annotations

from datetime import date

import pytest

from domain.errors import (
    DatedBeforeStartError,
    MeasuredBeforeDefinedError,
    MilestoneOutOfOrderError,
    PartnerLeftBeforeJoiningError,
    PhaseOutOfOrderError,
)
from domain.meta import Meta
from domain.project import Project
from domain.values import ActivityKind, GateDecision, Health, Outcome, Phase
from tests.factories import meta, new_project

START = date(2025, 9, 1)  # new_project's start
BEFORE_START = date(2025, 8, 31)


def on(day: date) -> Meta:
    return meta(occurred_on=day)


def project_in_discovery(entered_on: date = date(2025, 10, 6)) -> Project:
    project = new_project()
    project.enter_phase(Phase.DISCOVERY, GateDecision.GO, on(entered_on))
    return project


def test_an_event_dated_before_the_project_start_is_refused() -> None:
    project = new_project()
    with pytest.raises(DatedBeforeStartError):
        project.assess_health(Health.AT_RISK, on(BEFORE_START), "retard")


def test_a_milestone_due_before_the_project_start_is_refused() -> None:
    project = new_project()
    with pytest.raises(DatedBeforeStartError, match="due_on"):
        project.plan_milestone("Atelier", date(1999, 1, 1), Phase.FRAMING, on(START))


def test_an_activity_held_before_the_project_start_is_refused() -> None:
    project = new_project()
    with pytest.raises(DatedBeforeStartError, match="held_on"):
        project.log_activity(ActivityKind.WORKSHOP, "Atelier", BEFORE_START, 10, on(START))


def test_a_go_dated_before_the_last_phase_entry_is_refused() -> None:
    project = project_in_discovery(date(2025, 10, 6))
    with pytest.raises(PhaseOutOfOrderError):
        project.enter_phase(Phase.IDEATION, GateDecision.GO, on(date(2025, 10, 5)))


def test_the_go_of_the_issue_dated_2001_is_refused_as_before_the_start() -> None:
    project = project_in_discovery(date(2025, 10, 6))
    with pytest.raises(DatedBeforeStartError):
        project.enter_phase(Phase.IDEATION, GateDecision.GO, on(date(2001, 1, 1)))


def test_a_phase_entry_on_the_day_of_the_last_one_is_accepted() -> None:
    project = project_in_discovery(date(2025, 10, 6))
    project.enter_phase(Phase.IDEATION, GateDecision.GO, on(date(2025, 10, 6)))
    assert project.phase is Phase.IDEATION


def test_a_closing_dated_before_the_last_phase_entry_is_refused() -> None:
    project = project_in_discovery(date(2025, 10, 6))
    with pytest.raises(PhaseOutOfOrderError):
        project.close(Outcome.ABANDONED, on(date(2025, 10, 1)), "plus de budget")


def test_a_reopening_dated_before_the_closing_is_refused() -> None:
    project = project_in_discovery()
    project.close(Outcome.ABANDONED, on(date(2025, 12, 1)), "plus de budget")
    with pytest.raises(PhaseOutOfOrderError):
        project.reopen(on(date(2025, 11, 30)), "reprise")


def test_a_reschedule_dated_before_the_plan_is_refused() -> None:
    project = new_project()
    milestone_id = project.plan_milestone(
        "Atelier", date(2026, 3, 1), Phase.FRAMING, on(date(2026, 1, 10))
    )
    with pytest.raises(MilestoneOutOfOrderError):
        project.reschedule_milestone(milestone_id, date(2026, 4, 1), on(date(2026, 1, 9)), "retard")


def test_an_achievement_dated_before_the_last_reschedule_is_refused() -> None:
    project = new_project()
    milestone_id = project.plan_milestone(
        "Atelier", date(2026, 3, 1), Phase.FRAMING, on(date(2026, 1, 10))
    )
    project.reschedule_milestone(milestone_id, date(2026, 4, 1), on(date(2026, 2, 1)), "retard")
    with pytest.raises(MilestoneOutOfOrderError):
        project.achieve_milestone(
            milestone_id, date(2026, 1, 20), "compte rendu", on(date(2026, 1, 20))
        )


def test_a_cancellation_dated_before_the_plan_is_refused() -> None:
    project = new_project()
    milestone_id = project.plan_milestone(
        "Atelier", date(2026, 3, 1), Phase.FRAMING, on(date(2026, 1, 10))
    )
    with pytest.raises(MilestoneOutOfOrderError):
        project.cancel_milestone(milestone_id, on(date(2026, 1, 1)), "abandonné")


def test_a_partner_leaving_before_it_joined_is_refused() -> None:
    project = new_project()
    partner_id = project.add_partner("Département", "financeur", on(date(2026, 1, 10)))
    with pytest.raises(PartnerLeftBeforeJoiningError):
        project.remove_partner(partner_id, on(date(2026, 1, 9)))


def test_a_measurement_logged_before_the_indicator_was_defined_is_refused() -> None:
    project = new_project()
    indicator_id = project.define_indicator("Usagers", "personnes", 0, 100, on(date(2026, 1, 10)))
    with pytest.raises(MeasuredBeforeDefinedError):
        project.measure_indicator(indicator_id, 10, date(2026, 1, 5), on(date(2026, 1, 5)))


def test_a_late_logged_older_health_assessment_does_not_replace_the_current_one() -> None:
    project = new_project()
    project.assess_health(Health.OFF_TRACK, on(date(2026, 2, 1)), "bloqué")
    project.assess_health(Health.AT_RISK, on(date(2026, 1, 15)), "constat tardif")
    assert project.health is Health.OFF_TRACK


def test_a_late_logged_health_assessment_of_the_same_day_replaces_it() -> None:
    project = new_project()
    project.assess_health(Health.OFF_TRACK, on(date(2026, 2, 1)), "bloqué")
    project.assess_health(Health.AT_RISK, on(date(2026, 2, 1)), "correction")
    assert project.health is Health.AT_RISK


def test_a_stored_event_out_of_order_still_replays() -> None:
    project = project_in_discovery(date(2025, 10, 6))
    events = project.collect_events()
    stale = Project.PhaseEntered(
        originator_id=project.id,
        originator_version=project.version + 1,
        timestamp=events[-1].timestamp,
        phase=Phase.IDEATION.value,
        previous_phase=Phase.DISCOVERY.value,
        decision=GateDecision.GO.value,
        actor="tok",
        correlation_id="c",
        occurred_on=date(2001, 1, 1),
        reason=None,
    )
    replayed = None
    for event in [*events, stale]:
        replayed = event.mutate(replayed)
    assert replayed is not None
    assert replayed.phase is Phase.IDEATION
