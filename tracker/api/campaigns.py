"""Campaigns that federate training actions across labs: registered by admins, read by all."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from tracker.api.commands import CommandAnswer, CommandBody, IsoDate, Title, execute
from tracker.api.deps import (
    AdminPrincipal,
    AppDep,
    CurrentPrincipal,
    ServicesDep,
    WriteContextDep,
)
from tracker.api.formats import negotiate, negotiates, spreadsheet_response
from tracker.api.problems import ProblemError, problem_responses
from tracker.api.routing import api_router
from tracker.application import commands
from tracker.exports.spreadsheets import ODS, WRITERS, XLSX
from tracker.exports.tables import campaign_tables

router = api_router(prefix="/api/v1/campaigns", tags=["campaigns"])

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
    operation_id=negotiates("get_campaign"),
    responses={
        **problem_responses(401, 404, 406, 503),
        200: {"content": {XLSX: {}, ODS: {}}, "description": "JSON, or a spreadsheet."},
    },
)
def get_campaign(
    request: Request,
    campaign: Annotated[str, Path(description="The campaign's slug.")],
    _principal: CurrentPrincipal,
    application: AppDep,
    services: ServicesDep,
    response: Response,
    format: Annotated[
        str | None,
        Query(description="json (default), xlsx or ods (or ask with Accept)."),
    ] = None,
) -> Any:
    """One campaign by its slug, from the event store (its actions: `GET /api/v1/trainings
    ?campaign=`); as a spreadsheet, the campaign, its actions across labs and their
    roll-ups (from the read model)."""
    chosen = negotiate(request, format, ["json", *WRITERS])
    if len(campaign) > 64:
        raise ProblemError(404, f"no campaign {campaign!r}", code="campaign-not-found")
    if chosen != "json":
        tables = campaign_tables(services.read_engine, campaign)
        if tables is None:
            raise ProblemError(404, f"no campaign {campaign!r}", code="campaign-not-found")
        return spreadsheet_response(tables, chosen, campaign, application.today())
    found = application.get_campaign(campaign)
    response.headers["ETag"] = f'"{found.version}"'
    return found.as_dict()
