"""Funding: money committed to a project, in euro cents."""

from __future__ import annotations

from typing import Annotated

from fastapi.responses import JSONResponse
from pydantic import Field

from tracker.api.commands import CommandAnswer, CommandBody, Title, execute
from tracker.api.deps import WritableProject, WriteContextDep
from tracker.api.projects import WRITE_ERRORS, project_url
from tracker.api.routing import api_router
from tracker.application import commands

router = api_router(prefix="/api/v1/projects/{project_id}/funding", tags=["funding"])


class CommitFunding(CommandBody):
    """Who funds, how much (integer euro cents), for which fiscal year."""

    source: Title = Field(examples=["Fonds pour la transformation de l'action publique"])
    amount_cents: Annotated[int, Field(ge=0, le=10**13, strict=True)] = Field(examples=[4_500_000])
    fiscal_year: Annotated[int, Field(ge=2000, le=2100, strict=True)] = Field(examples=[2025])


@router.post(
    "",
    operation_id="commit_funding",
    status_code=201,
    response_model=CommandAnswer,
    responses=WRITE_ERRORS,
)
def commit_funding(
    project_id: WritableProject, body: CommitFunding, context: WriteContextDep
) -> JSONResponse:
    """Record funding committed; the answer's `funding_id` names it."""
    return execute(
        context,
        body,
        commands.CommitFunding(
            project_id=project_id,
            source=body.source,
            amount_cents=body.amount_cents,
            fiscal_year=body.fiscal_year,
            reason=body.reason,
        ),
        status_code=201,
        location=project_url(project_id),
    )
