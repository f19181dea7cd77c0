"""Campaigns that federate training actions across labs: registered by admins, read by all."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from tracker.api.commands import CommandAnswer, CommandBody, IsoDate, Title, execute
from tracker.api.deps import AdminPrincipal, AppDep, CurrentPrincipal, WriteContextDep
from tracker.api.problems import ProblemError, problem_responses
from tracker.application import commands

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns"])

SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"


class RegisterCampaign(CommandBody):
    """A new campaign: its slug (for ever), name, period, theme and organiser."""

    slug: Annotated[str, Field(pattern=SLUG, strict=True)] = Field(
        examples=["mois-innovation-publique-2020"]
    )
    name: Title = Field(examples=["Mois de l'innovation publique 2020"])
    starts_on: IsoDate = Field(examples=["2020-11-02"])
    ends_on: IsoDate = Field(examples=["2020-11-30"])
    theme: Annotated[str, Field(max_length=500, strict=True)] = Field(
        default="", examples=["la transformation publique au cœur des territoires"]
    )
    organiser: Title = Field(examples=["DITP"])


def campaign_url(slug: str) -> str:
    return f"/api/v1/campaigns/{slug}"


@router.post(
    "",
    operation_id="register_campaign",
    status_code=201,
    response_model=CommandAnswer,
    responses=problem_responses(400, 401, 403, 409, 413, 422, 503),
)
def register_campaign(
    body: RegisterCampaign, _admin: AdminPrincipal, context: WriteContextDep
) -> JSONResponse:
    """Register a campaign under a new slug (admin)."""
    return execute(
        context,
        body,
        commands.RegisterCampaign(
            slug=body.slug,
            name=body.name,
            starts_on=body.starts_on,
            ends_on=body.ends_on,
            theme=body.theme,
            organiser=body.organiser,
            reason=body.reason,
        ),
        status_code=201,
        location=campaign_url(body.slug),
    )


@router.get(
    "/{campaign}",
    operation_id="get_campaign",
    responses=problem_responses(401, 404, 503),
)
def get_campaign(
    campaign: Annotated[str, Path(description="The campaign's slug.")],
    _principal: CurrentPrincipal,
    application: AppDep,
    response: Response,
) -> dict[str, Any]:
    """One campaign by its slug, from the event store (its actions: `GET /api/v1/trainings
    ?campaign=`)."""
    if len(campaign) > 64:
        raise ProblemError(404, f"no campaign {campaign!r}", code="campaign-not-found")
    found = application.get_campaign(campaign)
    response.headers["ETag"] = f'"{found.version}"'
    return found.as_dict()
