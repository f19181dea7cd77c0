"""Activities: workshops, trainings, webinars, user tests… with participant counts."""

from __future__ import annotations

from typing import Annotated

from fastapi.responses import JSONResponse
from pydantic import Field

from domain.values import ActivityKind
from tracker.api.commands import CommandAnswer, CommandBody, IsoDate, Title, execute
from tracker.api.deps import WritableProject, WriteContextDep
from tracker.api.projects import WRITE_ERRORS, project_url
from tracker.api.routing import api_router
from tracker.application import commands

router = api_router(prefix="/api/v1/projects/{project_id}/activities", tags=["activities"])


class LogActivity(CommandBody):
    """An activity held, with how many took part (counts only, never names)."""

    kind: ActivityKind
    title: Title = Field(examples=["Atelier avec les habitants de Chagny"])
    held_on: IsoDate = Field(examples=["2025-03-12"])
    participants: Annotated[int, Field(ge=0, le=1_000_000, strict=True)] = Field(examples=[18])


@router.post(
    "",
    operation_id="log_activity",
    status_code=201,
    response_model=CommandAnswer,
    responses=WRITE_ERRORS,
)
def log_activity(
    project_id: WritableProject, body: LogActivity, context: WriteContextDep
) -> JSONResponse:
    """Log a workshop, training, webinar…; the answer's `activity_id` names it."""
    return execute(
        context,
        body,
        commands.LogActivity(
            project_id=project_id,
            kind=body.kind,
            title=body.title,
            held_on=body.held_on,
            participants=body.participants,
            reason=body.reason,
        ),
        status_code=201,
        location=project_url(project_id),
    )
