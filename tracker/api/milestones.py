"""Milestones: planned, rescheduled, achieved or cancelled."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Path
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, Field

from domain.values import Phase
from tracker.api.commands import CommandAnswer, CommandBody, IsoDate, Text, Title, execute
from tracker.api.deps import WritableProject, WriteContextDep
from tracker.api.projects import WRITE_ERRORS, project_url
from tracker.api.routing import api_router
from tracker.application import commands

router = api_router(prefix="/api/v1/projects/{project_id}/milestones", tags=["milestones"])

MilestoneId = Annotated[str, Path(max_length=64, description="The milestone's id.")]
DUE_HORIZON_YEARS = 100


def _within_horizon(value: date) -> date:
    # Every other date of a command is refused in the future; a due date may be ahead, but
    # a milestone due in 9999 is a typo (or a probe), and would sit in every overdue list
    # and slip figure for ever.
    if value.year > date.today().year + DUE_HORIZON_YEARS:
        raise ValueError(f"a due date is at most {DUE_HORIZON_YEARS} years ahead")
    return value


DueDate = Annotated[IsoDate, AfterValidator(_within_horizon)]


class PlanMilestone(CommandBody):
    """A milestone: what, when, in which phase."""

    title: Title = Field(examples=["Restitution aux élus de Nevers"])
    due_on: DueDate = Field(examples=["2025-10-15"])
    phase: Phase


class RescheduleMilestone(CommandBody):
    """The new due date, and why (the reason is required)."""

    due_on: DueDate = Field(examples=["2025-11-20"])


class AchieveMilestone(CommandBody):
    """When the milestone was achieved, and the evidence."""

    achieved_on: IsoDate = Field(examples=["2025-10-14"])
    evidence: Text = Field(default="", examples=["Compte rendu de la restitution"])


class CancelMilestone(CommandBody):
    """Why the milestone is cancelled (the reason is required)."""


@router.post(
    "",
    operation_id="plan_milestone",
    status_code=201,
    response_model=CommandAnswer,
    responses=WRITE_ERRORS,
)
def plan_milestone(
    project_id: WritableProject, body: PlanMilestone, context: WriteContextDep
) -> JSONResponse:
    """Plan a milestone; the answer's `milestone_id` names it."""
    return execute(
        context,
        body,
        commands.PlanMilestone(
            project_id=project_id,
            title=body.title,
            due_on=body.due_on,
            phase=body.phase,
            reason=body.reason,
        ),
        status_code=201,
        location=project_url(project_id),
    )


@router.post(
    "/{milestone_id}/reschedule",
    operation_id="reschedule_milestone",
    response_model=CommandAnswer,
    responses=WRITE_ERRORS,
)
def reschedule_milestone(
    project_id: WritableProject,
    milestone_id: MilestoneId,
    body: RescheduleMilestone,
    context: WriteContextDep,
) -> JSONResponse:
    """Move a planned milestone to another date, saying why."""
    return execute(
        context,
        body,
        commands.RescheduleMilestone(
            project_id=project_id, milestone_id=milestone_id, due_on=body.due_on, reason=body.reason
        ),
    )


@router.post(
    "/{milestone_id}/achieve",
    operation_id="achieve_milestone",
    response_model=CommandAnswer,
    responses=WRITE_ERRORS,
)
def achieve_milestone(
    project_id: WritableProject,
    milestone_id: MilestoneId,
    body: AchieveMilestone,
    context: WriteContextDep,
) -> JSONResponse:
    """Mark a planned milestone achieved, with evidence."""
    return execute(
        context,
        body,
        commands.AchieveMilestone(
            project_id=project_id,
            milestone_id=milestone_id,
            achieved_on=body.achieved_on,
            evidence=body.evidence,
            reason=body.reason,
        ),
    )


@router.post(
    "/{milestone_id}/cancel",
    operation_id="cancel_milestone",
    response_model=CommandAnswer,
    responses=WRITE_ERRORS,
)
def cancel_milestone(
    project_id: WritableProject,
    milestone_id: MilestoneId,
    body: CancelMilestone,
    context: WriteContextDep,
) -> JSONResponse:
    """Cancel a planned milestone, saying why."""
    return execute(
        context,
        body,
        commands.CancelMilestone(
            project_id=project_id, milestone_id=milestone_id, reason=body.reason
        ),
    )
