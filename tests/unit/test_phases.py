"""The phase rules of docs/domain.md, for every (current, target, decision) of 7 × 7 × 2."""

from __future__ import annotations

from itertools import product

import pytest

from domain.errors import (
    NotAnEarlierPhaseError,
    PhaseSkippedError,
    ProjectClosedError,
    ProjectNotClosedError,
    ReasonRequiredError,
)
from domain.project import Project
from domain.values import PHASE_LABELS, PHASE_ORDER, GateDecision, Outcome, Phase
from tests.factories import meta, new_project

GO, ITERATE = GateDecision.GO, GateDecision.ITERATE


def project_in(phase: Phase) -> Project:
    """A project walked to `phase` through go decisions, as the rules require."""
    project = new_project()
    for step in PHASE_ORDER[1 : phase.rank + 1]:
        project.enter_phase(step, GO, meta())
    assert project.phase is phase
    return project


def expected_outcome(
    current: Phase, target: Phase, decision: GateDecision
) -> type[Exception] | None:
    """The rule, written independently of the domain's code: None when legal."""
    if decision is GO:
        return None if target.rank == current.rank + 1 else PhaseSkippedError
    return None if target.rank < current.rank else NotAnEarlierPhaseError


TRANSITIONS = [
    pytest.param(current, target, decision, id=f"{current}-{decision}-{target}")
    for current, target, decision in product(Phase, Phase, GateDecision)
]


def test_the_table_covers_seven_by_seven_by_two_transitions() -> None:
    assert len(TRANSITIONS) == 7 * 7 * 2


@pytest.mark.parametrize(("current", "target", "decision"), TRANSITIONS)
def test_phase_transition(current: Phase, target: Phase, decision: GateDecision) -> None:
    project = project_in(current)
    version = project.version
    error = expected_outcome(current, target, decision)
    if error is None:
        project.enter_phase(target, decision, meta(), reason="leçons du terrain")
        assert project.phase is target
        assert project.version == version + 1
        event = project.collect_events()[-1]
        assert isinstance(event, Project.PhaseEntered)
        assert (event.previous_phase, event.phase, event.decision) == (current, target, decision)
    else:
        with pytest.raises(error):
            project.enter_phase(target, decision, meta(), reason="leçons du terrain")
        assert (project.phase, project.version) == (current, version)


def test_go_from_the_last_phase_is_refused() -> None:
    with pytest.raises(PhaseSkippedError):
        project_in(Phase.SCALING).enter_phase(Phase.SCALING, GO, meta())


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_iterate_without_a_reason_is_refused(reason: str | None) -> None:
    project = project_in(Phase.IDEATION)
    with pytest.raises(ReasonRequiredError):
        project.enter_phase(Phase.FRAMING, ITERATE, meta(), reason=reason)
    assert project.phase is Phase.IDEATION


def test_iterate_records_its_trimmed_reason() -> None:
    project = project_in(Phase.IDEATION)
    project.enter_phase(Phase.DISCOVERY, ITERATE, meta(), reason="  usagers absents  ")
    assert project.collect_events()[-1].reason == "usagers absents"


def test_go_needs_no_reason() -> None:
    project = new_project()
    project.enter_phase(Phase.DISCOVERY, GO, meta())
    assert project.collect_events()[-1].reason is None


@pytest.mark.parametrize("phase", list(Phase))
def test_close_is_accepted_from_any_phase(phase: Phase) -> None:
    project = project_in(phase)
    project.close(Outcome.HANDED_OVER, meta(), "transmis")
    assert project.is_closed
    assert project.outcome is Outcome.HANDED_OVER


@pytest.mark.parametrize("phase", list(Phase))
def test_reopen_returns_to_the_phase_the_project_was_closed_in(phase: Phase) -> None:
    project = project_in(phase)
    project.close(Outcome.ABANDONED, meta(), "arrêt")
    project.reopen(meta(), "relance")
    assert (project.phase, project.is_closed, project.outcome) == (phase, False, None)


def test_a_reopened_project_passes_gates_again() -> None:
    project = project_in(Phase.PROTOTYPING)
    project.close(Outcome.ABANDONED, meta(), "arrêt")
    project.reopen(meta(), "relance")
    project.enter_phase(Phase.EXPERIMENTATION, GO, meta())
    assert project.phase is Phase.EXPERIMENTATION


def test_reopening_an_open_project_is_refused() -> None:
    with pytest.raises(ProjectNotClosedError):
        new_project().reopen(meta(), "relance")


def test_reopening_twice_is_refused() -> None:
    project = new_project()
    project.close(Outcome.ABANDONED, meta(), "arrêt")
    project.reopen(meta(), "relance")
    with pytest.raises(ProjectNotClosedError):
        project.reopen(meta(), "relance")


@pytest.mark.parametrize("reason", [None, " "])
def test_closing_without_a_reason_is_refused(reason: str | None) -> None:
    project = new_project()
    with pytest.raises(ReasonRequiredError):
        project.close(Outcome.DEPLOYED, meta(), reason)
    assert not project.is_closed


@pytest.mark.parametrize("reason", [None, " "])
def test_reopening_without_a_reason_is_refused(reason: str | None) -> None:
    project = new_project()
    project.close(Outcome.DEPLOYED, meta(), "déployé")
    with pytest.raises(ReasonRequiredError):
        project.reopen(meta(), reason)
    assert project.is_closed


def test_closing_a_closed_project_is_refused() -> None:
    project = new_project()
    project.close(Outcome.DEPLOYED, meta(), "déployé")
    with pytest.raises(ProjectClosedError):
        project.close(Outcome.SCALED, meta(), "essaimé")


def test_phases_are_in_the_contract_order_with_french_labels() -> None:
    assert [p.value for p in PHASE_ORDER] == [
        "framing",
        "discovery",
        "ideation",
        "prototyping",
        "experimentation",
        "deployment",
        "scaling",
    ]
    assert Phase.FRAMING.label == "Cadrage"
    assert set(PHASE_LABELS) == set(Phase)
    assert Phase.SCALING.next() is None
