"""Decisions: what was decided, and why."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from pydantic import Field

from tracker.api.commands import CommandAnswer, CommandBody, Text, Title, execute
from tracker.api.deps import WritableProject, WriteContextDep
from tracker.api.projects import WRITE_ERRORS, project_url
from tracker.api.routing import api_router
from tracker.application import commands

router = api_router(prefix="/api/v1/projects/{project_id}/decisions", tags=["decisions"])


class RecordDecision(CommandBody):
    """A decision: its title, what was decided, and the rationale."""

    title: Title = Field(examples=["Choix du prototype"])
    decision: Text = Field(examples=["Tester la navette à la demande à Charolles"])
    rationale: Text = Field(examples=["Les entretiens montrent un besoin de mobilité le samedi"])


@router.post(
    "",
    operation_id="record_decision",
    status_code=201,
    response_model=CommandAnswer,
    responses=WRITE_ERRORS,
)
def record_decision(
    project_id: WritableProject, body: RecordDecision, context: WriteContextDep
) -> JSONResponse:
    """Record a decision with its rationale; the answer's `decision_id` names it."""
    return execute(
        context,
        body,
        commands.RecordDecision(
            project_id=project_id,
            title=body.title,
            decision=body.decision,
            rationale=body.rationale,
            reason=body.reason,
        ),
        status_code=201,
        location=project_url(project_id),
    )
