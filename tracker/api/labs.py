"""Labs: registered by admins, listed for everyone."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from domain.lab import Lab
from tracker.api.commands import CommandAnswer, CommandBody, Title, execute
from tracker.api.deps import (
    AdminPrincipal,
    AppDep,
    CreateContextDep,
    CurrentPrincipal,
    WriteContextDep,
    require_own_lab,
    require_role,
)
from tracker.api.problems import ProblemError, problem_responses
from tracker.api.routing import api_router
from tracker.application import commands
from tracker.application.access import Principal, Role

router = api_router(prefix="/api/v1/labs", tags=["labs"])
LabManager = Annotated[Principal, Depends(require_role(Role.ADMIN, Role.STAFF))]


class RegisterLab(CommandBody):
    """A new lab: its slug (for ever), name and INSEE region code."""

    slug: Annotated[str, Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$", strict=True)] = (
        Field(examples=["lab-bfc"])
    )
    name: Title = Field(examples=["Laboratoire d'innovation publique de Bourgogne-Franche-Comté"])
    region_code: Annotated[str, Field(pattern=r"^\d{2}$", strict=True)] = Field(examples=["27"])


class LabView(BaseModel):
    """A registered lab."""

    id: str
    slug: str
    name: str
    region_code: str
    registered_on: str
    version: int


def lab_view(lab: Lab) -> LabView:
    return LabView(
        id=str(lab.id),
        slug=lab.slug,
        name=lab.name,
        region_code=lab.region_code,
        registered_on=lab.registered_on.isoformat(),
        version=lab.version,
    )


@router.post(
    "",
    operation_id="register_lab",
    status_code=201,
    response_model=CommandAnswer,
    responses=problem_responses(400, 401, 403, 409, 413, 415, 422, 503),
)
def register_lab(
    body: RegisterLab, _admin: AdminPrincipal, context: CreateContextDep
) -> JSONResponse:
    """Register a lab under a new slug (admin)."""
    return execute(
        context,
        body,
        commands.RegisterLab(
            slug=body.slug, name=body.name, region_code=body.region_code, reason=body.reason
        ),
        status_code=201,
        location=f"/api/v1/labs/{body.slug}",
    )


@router.get(
    "",
    operation_id="list_labs",
    response_model=list[LabView],
    responses=problem_responses(401, 503),
)
def list_labs(_principal: CurrentPrincipal, application: AppDep) -> list[LabView]:
    """List every registered lab, in registration order."""
    return [lab_view(lab) for lab in application.list_labs()]


@router.get(
    "/{slug}",
    operation_id="get_lab",
    response_model=LabView,
    responses=problem_responses(401, 404, 503),
)
def get_lab(slug: str, _principal: CurrentPrincipal, application: AppDep) -> LabView:
    """One lab by its slug."""
    if len(slug) > 64:
        raise ProblemError(404, f"no lab {slug!r}", code="lab-not-found")
    return lab_view(application.get_lab(slug))


class ChangePublication(CommandBody):
    """Whether the lab publishes its portfolio as open data."""

    published: bool = Field(strict=True, examples=[True])


@router.put(
    "/{slug}/publication",
    operation_id="change_lab_publication",
    response_model=CommandAnswer,
    responses=problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 503),
)
def change_lab_publication(
    slug: str, body: ChangePublication, principal: LabManager, context: WriteContextDep
) -> JSONResponse:
    """Publish the lab's portfolio as open data, or stop (admin, or staff of the lab)."""
    if principal.role is Role.STAFF:
        require_own_lab(principal, slug)
    if len(slug) > 64:
        raise ProblemError(404, f"no lab {slug!r}", code="lab-not-found")
    return execute(
        context,
        body,
        commands.ChangeLabPublication(lab=slug, published=body.published, reason=body.reason),
    )
