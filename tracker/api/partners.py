"""Partners: organisations joining and leaving a project."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Path
from fastapi.responses import JSONResponse
from pydantic import Field

from tracker.api.commands import CommandAnswer, CommandBody, Title, execute
from tracker.api.deps import WritableProject, WriteContextDep
from tracker.api.projects import WRITE_ERRORS, project_url
from tracker.api.routing import api_router
from tracker.application import commands

router = api_router(prefix="/api/v1/projects/{project_id}/partners", tags=["partners"])


class AddPartner(CommandBody):
    """An organisation (never a person) and its role in the project."""

    name: Title = Field(examples=["Communauté de communes du Grand Charolais"])
    role: Title = Field(examples=["cofinanceur"])


class RemovePartner(CommandBody):
    """Optionally, when and why the partner left."""


@router.post(
    "",
    operation_id="add_partner",
    status_code=201,
    response_model=CommandAnswer,
    responses=WRITE_ERRORS,
)
def add_partner(
    project_id: WritableProject, body: AddPartner, context: WriteContextDep
) -> JSONResponse:
    """Record an organisation joining the project; the answer's `partner_id` names it."""
    return execute(
        context,
        body,
        commands.AddPartner(
            project_id=project_id, name=body.name, role=body.role, reason=body.reason
        ),
        status_code=201,
        location=project_url(project_id),
    )


@router.delete(
    "/{partner_id}",
    operation_id="remove_partner",
    response_model=CommandAnswer,
    responses=WRITE_ERRORS,
)
def remove_partner(
    project_id: WritableProject,
    partner_id: Annotated[str, Path(max_length=64, description="The partner's id.")],
    context: WriteContextDep,
    body: Annotated[RemovePartner | None, Body()] = None,
) -> JSONResponse:
    """Record a partner leaving the project (the body, with a reason, is optional)."""
    return execute(
        context,
        body,
        commands.RemovePartner(
            project_id=project_id, partner_id=partner_id, reason=body.reason if body else None
        ),
    )
