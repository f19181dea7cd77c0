"""Funding: money committed to a project, in euro cents."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import Field

from tracker.api.commands import CommandAnswer, CommandBody, Title, execute
from tracker.api.deps import WritableProject, WriteContextDep
from tracker.api.projects import WRITE_ERRORS, project_url

router = APIRouter(prefix="/api/v1/projects/{project_id}/funding", tags=["funding"])


class CommitFunding(CommandBody):
    """Who funds, how much (integer euro cents), for which fiscal year."""

    source: Title
    amount_cents: Annotated[int, Field(ge=0, le=10**13, strict=True)]
    fiscal_year: Annotated[int, Field(ge=2000, le=2100, strict=True)]


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
    funding_id = str(uuid.uuid4())
    return execute(
        context,
        body,
        lambda meta, options: context.application.commit_funding(
            project_id,
            body.source,
            body.amount_cents,
            body.fiscal_year,
            meta,
            body.reason,
            funding_id,
            options,
        ),
        status_code=201,
        location=project_url(project_id),
        created={"funding_id": funding_id},
    )
