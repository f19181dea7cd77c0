"""A milestone is planned, then achieved or cancelled; only a planned one is rescheduled."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from domain.errors import (
    FutureDateError,
    InvalidTitleError,
    MilestoneNotFoundError,
    MilestoneNotPlannedError,
    ReasonRequiredError,
    RescheduleToSameDateError,
)
from domain.project import Project
from domain.values import MilestoneStatus, Phase
from tests.factories import DAY, TODAY, meta, new_project

DUE = date(2026, 9, 1)


def project_with_milestone() -> tuple[Project, str]:
    project = new_project()
    return project, project.plan_milestone("Premier atelier", DUE, Phase.DISCOVERY, meta())


def achieve(project: Project, milestone_id: str) -> None:
    project.achieve_milestone(milestone_id, DAY, "compte rendu", meta())


def cancel(project: Project, milestone_id: str) -> None:
    project.cancel_milestone(milestone_id, meta(), "abandonné")


def reschedule(project: Project, milestone_id: str) -> None:
    project.reschedule_milestone(milestone_id, date(2026, 12, 1), meta(), "retard")


MilestoneCommand = Callable[[Project, str], None]
ENDINGS: dict[str, MilestoneCommand] = {"achieved": achieve, "cancelled": cancel}
COMMANDS: dict[str, MilestoneCommand] = {**ENDINGS, "rescheduled": reschedule}


def test_a_planned_milestone_is_planned_with_its_trimmed_title() -> None:
    project = new_project()
    milestone_id = project.plan_milestone("  Atelier  ", DUE, Phase.IDEATION, meta())
    milestone = project.milestones[milestone_id]
    assert (milestone.status, milestone.title, milestone.phase) == (
        "planned",
        "Atelier",
        "ideation",
    )
    assert project.next_milestone() is milestone


def test_a_milestone_may_be_due_in_the_future() -> None:
    project = new_project()
    milestone_id = project.plan_milestone("Bilan", date(2030, 1, 1), Phase.SCALING, meta())
    assert project.milestones[milestone_id].due_on == date(2030, 1, 1)


@pytest.mark.parametrize("title", ["", "   ", "x" * 201])
def test_planning_a_milestone_with_a_bad_title_is_refused(title: str) -> None:
    with pytest.raises(InvalidTitleError):
        new_project().plan_milestone(title, DUE, Phase.FRAMING, meta())


def test_achieving_a_planned_milestone_records_the_date() -> None:
    project, milestone_id = project_with_milestone()
    achieve(project, milestone_id)
    milestone = project.milestones[milestone_id]
    assert (milestone.status, milestone.achieved_on) == (MilestoneStatus.ACHIEVED, DAY)
    assert project.next_milestone() is None


def test_cancelling_a_planned_milestone_marks_it_cancelled() -> None:
    project, milestone_id = project_with_milestone()
    cancel(project, milestone_id)
    assert project.milestones[milestone_id].status == MilestoneStatus.CANCELLED


def test_rescheduling_moves_the_date_and_counts_the_slip() -> None:
    project, milestone_id = project_with_milestone()
    project.reschedule_milestone(milestone_id, date(2026, 9, 11), meta(), "météo")
    project.reschedule_milestone(milestone_id, date(2026, 9, 6), meta(), "avancé")
    milestone = project.milestones[milestone_id]
    assert (milestone.due_on, milestone.reschedules, milestone.days_slipped) == (
        date(2026, 9, 6),
        2,
        5,
    )
    event = project.collect_events()[-1]
    assert isinstance(event, Project.MilestoneRescheduled)
    assert (event.previous_due_on, event.reason) == (date(2026, 9, 11), "avancé")


@pytest.mark.parametrize("ending", list(ENDINGS))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_ended_milestone_can_no_longer_change(ending: str, command: str) -> None:
    project, milestone_id = project_with_milestone()
    ENDINGS[ending](project, milestone_id)
    version = project.version
    with pytest.raises(MilestoneNotPlannedError):
        COMMANDS[command](project, milestone_id)
    assert project.version == version
    assert project.milestones[milestone_id].status == ending


@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_unknown_milestone_is_not_found(command: str) -> None:
    project, _ = project_with_milestone()
    with pytest.raises(MilestoneNotFoundError):
        COMMANDS[command](project, "no-such-milestone")


def test_rescheduling_to_the_same_date_is_refused() -> None:
    project, milestone_id = project_with_milestone()
    with pytest.raises(RescheduleToSameDateError):
        project.reschedule_milestone(milestone_id, DUE, meta(), "rien")


@pytest.mark.parametrize("reason", [None, "", "  "])
def test_rescheduling_without_a_reason_is_refused(reason: str | None) -> None:
    project, milestone_id = project_with_milestone()
    with pytest.raises(ReasonRequiredError):
        project.reschedule_milestone(milestone_id, date(2026, 10, 1), meta(), reason)
    assert project.milestones[milestone_id].due_on == DUE


@pytest.mark.parametrize("reason", [None, "  "])
def test_cancelling_without_a_reason_is_refused(reason: str | None) -> None:
    project, milestone_id = project_with_milestone()
    with pytest.raises(ReasonRequiredError):
        project.cancel_milestone(milestone_id, meta(), reason)
    assert project.milestones[milestone_id].status == MilestoneStatus.PLANNED


def test_achieving_on_a_future_date_is_refused() -> None:
    project, milestone_id = project_with_milestone()
    with pytest.raises(FutureDateError):
        project.achieve_milestone(milestone_id, date(2026, 6, 16), "trop tôt", meta())
    assert project.milestones[milestone_id].status == MilestoneStatus.PLANNED


def test_achieving_today_is_accepted() -> None:
    project, milestone_id = project_with_milestone()
    project.achieve_milestone(milestone_id, TODAY, "fait", meta())
    assert project.milestones[milestone_id].achieved_on == TODAY


def test_the_next_milestone_is_the_planned_one_due_first() -> None:
    project = new_project()
    late = project.plan_milestone("Tard", date(2026, 12, 1), Phase.FRAMING, meta())
    early = project.plan_milestone("Tôt", date(2026, 7, 1), Phase.FRAMING, meta())
    cancel(project, early)
    assert project.next_milestone() is project.milestones[late]
