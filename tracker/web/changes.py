"""The comparison page (docs/web.md): `/comparaison?du=DATE&au=DATE`, what changed in the
portfolio between two business dates, from the schema's `portfolioChanges` run in-process.

Without dates it compares the first of January of this year with today (both in the
server's zone), and says so. The portfolio's filters (`lab`, `phase`, …) apply.
"""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Request
from starlette.responses import Response

from domain.values import Phase
from tracker.application.services import Services
from tracker.web.charts import bar_chart
from tracker.web.dates import parse_date
from tracker.web.pages import Filters, Pages, link
from tracker.web.reading import QueryFailedError, query_text, read

# The projects listed on the page (`portfolioChanges(first:)`: the schema builds and sends
# no more); the totals and `projectCount` count them all.
LISTED_PROJECTS = 100


def _day(raw: str | None) -> date | None:
    try:
        return parse_date(raw) if raw and raw.strip() else None
    except ValueError:
        raise ValueError from None


def changes_router(pages: Pages) -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.get("/comparaison")
    async def changes(request: Request) -> Response:
        """What changed in the portfolio between two business dates."""
        principal = await pages.signed_in(request)
        if principal is None:
            return pages.to_sign_in(request)
        params = dict(request.query_params)
        services: Services = request.app.state.services
        today = datetime.now(services.settings.zone).date()
        try:
            start = _day(params.get("du"))
        except ValueError:
            return pages.render(request, "bad_date.html", principal, 400, parameter="du")
        try:
            end = _day(params.get("au"))
        except ValueError:
            return pages.render(request, "bad_date.html", principal, 400, parameter="au")
        defaulted = start is None or end is None
        start = start or date(today.year, 1, 1)
        end = end or today
        filters = Filters.parse(params)
        variables = {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "filter": filters.variable(),
            "first": LISTED_PROJECTS,
        }
        try:
            data = await read(pages.run, services, principal, "changes", variables)
        except QueryFailedError as error:
            return pages.failed(request, principal, error, query_text("changes"))
        found = data["portfolioChanges"]
        phases = {p["phase"]: p for p in found["phases"]}
        return pages.render(
            request,
            "changes.html",
            principal,
            query=query_text("changes"),
            variables=variables,
            start=start,
            end=end,
            defaulted=defaulted,
            filters=filters.values,
            labs=data["labs"],
            lab_names={lab["slug"]: lab["name"] for lab in data["labs"]},
            totals=found["totals"],
            entered=bar_chart(
                [
                    (
                        phase.label,
                        phase.label,
                        phases[phase.value]["entered"],
                        None,
                        str(phases[phase.value]["entered"]),
                    )
                    for phase in Phase
                    if phase.value in phases
                ]
            ),
            phase_moves=[
                (phase.label, phases[phase.value]) for phase in Phase if phase.value in phases
            ],
            phase_labels={phase.value: phase.label for phase in Phase},
            changed=found["projectCount"],
            projects=found["projects"],
            at_end={"on": end.isoformat()},
            at_start={"on": start.isoformat()},
            dashboard_at=lambda day: link("/", filters.values, {"on": day.isoformat()}),
        )

    return routes
