"""The milestones page (docs/web.md): `/jalons`, the list behind each milestone figure of
the dashboard, a page at a time.

`?etat=` picks the milestones (`STATES`: open, due within 30 days, overdue, slipped,
achieved, cancelled; without it, all of them), the portfolio's filters (`lab`, `phase`, …)
pick their projects, and `?on=`/`?connu_le=` travel in time as on every page. The list is
the schema's `milestones(filter:)`, earliest due first (the most overdue first).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from tracker.application.services import Services
from tracker.web.pages import PAGE_SIZE, Filters, Pages, TimeTravel, listed, travelled
from tracker.web.reading import QueryFailedError, query_text, read

# `?etat=` → the `MilestoneFilter` fields it sets; the dashboard's key figures link here.
STATES: dict[str, dict[str, Any]] = {
    "ouverts": {"status": "PLANNED"},
    "bientot": {"dueWithinDays": 30},
    "en-retard": {"overdue": True},
    "reportes": {"slipped": True},
    "atteints": {"status": "ACHIEVED"},
    "annules": {"status": "CANCELLED"},
}


def milestone_filter(state: str, filters: Filters) -> dict[str, Any] | None:
    """The `MilestoneFilter` variable of a state (one of `STATES`, or "" for every
    milestone) on the projects the portfolio's filters keep."""
    projects = filters.variable()
    found = {**STATES.get(state, {}), **({"project": projects} if projects else {})}
    return found or None


def milestones_router(pages: Pages) -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.get("/jalons")
    async def milestones(request: Request) -> Response:
        """The milestones in a state, of the filtered projects, a page at a time."""
        principal = await pages.signed_in(request)
        if principal is None:
            return pages.to_sign_in(request)
        params = dict(request.query_params)
        travel, filters = TimeTravel.parse(params), Filters.parse(params)
        if travel.error:
            return pages.render(request, "bad_date.html", principal, 400, parameter=travel.error)
        state = params.get("etat", "") if params.get("etat", "") in STATES else ""
        variables = {
            "filter": milestone_filter(state, filters),
            "first": PAGE_SIZE,
            "after": params.get("apres") or None,
            **travel.variables,
        }
        services: Services = request.app.state.services
        try:
            data = await read(pages.run, services, principal, "milestones", variables)
        except QueryFailedError as error:
            return pages.failed(request, principal, error, query_text("milestones"))
        found = data["milestones"]
        picked = {**filters.values, **({"etat": state} if state else {})}
        return pages.render(
            request,
            "milestones.html",
            principal,
            query=query_text("milestones"),
            variables=variables,
            **travelled(travel),
            state=state,
            states=list(STATES),
            filters=filters.values,
            picked=picked,
            keep={**picked, **travel.query},
            labs=data["labs"],
            lab_names={lab["slug"]: lab["name"] for lab in data["labs"]},
            **listed(found),
        )

    return routes
