"""The funding page (docs/web.md): `/financements`, the list behind the dashboard's
« Financements par année »: each source's commitments to each project, a page at a time.

`?annee=` keeps one fiscal year (without it, every year), the portfolio's filters keep
their projects, and `?on=`/`?connu_le=` travel in time as on every page. The page shows the
year's amount as the dashboard does (`portfolio.fundingByYear`, same query) above the lines
that add up to it (`funding(filter:)`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from tracker.application.services import Services
from tracker.web.pages import PAGE_SIZE, Filters, Pages, TimeTravel, listed, travelled
from tracker.web.reading import QueryFailedError, query_text, read

# The fiscal years a page may ask for; any other `?annee=` is a French 400 page.
YEARS = range(1900, 2201)


def funding_router(pages: Pages) -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.get("/financements")
    async def funding(request: Request) -> Response:
        """The funding lines of a fiscal year (or all), of the filtered projects."""
        principal = await pages.signed_in(request)
        if principal is None:
            return pages.to_sign_in(request)
        params = dict(request.query_params)
        travel, filters = TimeTravel.parse(params), Filters.parse(params)
        if travel.error:
            return pages.render(request, "bad_date.html", principal, 400, parameter=travel.error)
        raw_year = params.get("annee", "").strip()
        year = int(raw_year) if raw_year.isdigit() and int(raw_year) in YEARS else None
        if raw_year and year is None:
            return pages.render(request, "bad_year.html", principal, 400, value=raw_year[:20])
        projects = filters.variable()
        kept = {
            **({"project": projects} if projects else {}),
            **({"fiscalYear": year} if year else {}),
        }
        variables = {
            "filter": projects,
            "funding": kept or None,
            "first": PAGE_SIZE,
            "after": params.get("apres") or None,
            **travel.variables,
        }
        services: Services = request.app.state.services
        try:
            data = await read(pages.run, services, principal, "funding", variables)
        except QueryFailedError as error:
            return pages.failed(request, principal, error, query_text("funding"))
        years = data["portfolio"]["fundingByYear"]
        amount = sum(row["amountCents"] for row in years if year is None or row["year"] == year)
        picked = {**filters.values, **({"annee": str(year)} if year else {})}
        found = data["funding"]
        return pages.render(
            request,
            "funding.html",
            principal,
            query=query_text("funding"),
            variables=variables,
            **travelled(travel),
            year=year,
            years=[row["year"] for row in years],
            amount=amount,
            filters=filters.values,
            picked=picked,
            keep={**picked, **travel.query},
            labs=data["labs"],
            lab_names={lab["slug"]: lab["name"] for lab in data["labs"]},
            **listed(found),
        )

    return routes
