"""Indicators: defined with a baseline and a target, then measured."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from fastapi.responses import JSONResponse
from pydantic import Field

from tracker.api.commands import CommandAnswer, CommandBody, IsoDate, Number, Title, execute
from tracker.api.deps import WritableProject, WriteContextDep
from tracker.api.projects import WRITE_ERRORS, project_url
from tracker.api.routing import api_router
from tracker.application import commands

router = api_router(prefix="/api/v1/projects/{project_id}/indicators", tags=["indicators"])


class DefineIndicator(CommandBody):
    """What is measured, in which unit, from which baseline towards which target."""

    name: Title = Field(examples=["Usagers accompagnés"])
    unit: Annotated[str, Field(min_length=1, max_length=50, strict=True)] = Field(
        examples=["personnes"]
    )
    baseline: Number = Field(examples=[0])
    target: Number = Field(examples=[250])


class MeasureIndicator(CommandBody):
    """A measured value and the date it was measured."""

    value: Number = Field(examples=[120])
    measured_on: IsoDate = Field(examples=["2025-06-30"])


@router.post(
    "",
    operation_id="define_indicator",
    status_code=201,
    response_model=CommandAnswer,
    responses=WRITE_ERRORS,
)
def define_indicator(
    project_id: WritableProject, body: DefineIndicator, context: WriteContextDep
) -> JSONResponse:
    """Define an indicator; the answer's `indicator_id` names it."""
    return execute(
        context,
        body,
        commands.DefineIndicator(
            project_id=project_id,
            name=body.name,
            unit=body.unit,
            baseline=body.baseline,
            target=body.target,
            reason=body.reason,
        ),
        status_code=201,
        location=project_url(project_id),
    )


@router.post(
    "/{indicator_id}/measurements",
    operation_id="measure_indicator",
    response_model=CommandAnswer,
    responses=WRITE_ERRORS,
)
def measure_indicator(
    project_id: WritableProject,
    indicator_id: Annotated[str, Path(max_length=64, description="The indicator's id.")],
    body: MeasureIndicator,
    context: WriteContextDep,
) -> JSONResponse:
    """Record a measurement of an indicator."""
    return execute(
        context,
        body,
        commands.MeasureIndicator(
            project_id=project_id,
            indicator_id=indicator_id,
            value=body.value,
            measured_on=body.measured_on,
            reason=body.reason,
        ),
    )
