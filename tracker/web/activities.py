"""The projects' activities (docs/web.md): `/activites`, the list behind the dashboard's
activity figures (« Activités et agents formés au fil du temps », tracker/web/over_time.py).

Its data come from the schema's `activities` run in-process, like every page
(tracker/web/pages.py), on the page's `on` and `asKnownAt`. It takes the portfolio's filters
(`lab`, `phase`, `health`, `status`, `theme`, `territory`, `text`: the projects whose
activities are listed), and of the activities themselves their kind (`kind`) and the
dates they were held between (`from`, `to`: a quarter's, from the dashboard).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from domain.values import ActivityKind
from tracker.application.services import Services
from tracker.web.dates import parse_date
from tracker.web.pages import PAGE_SIZE, Filters, Pages, TimeTravel, listed, travelled
from tracker.web.reading import QueryFailedError, query_text, read


@dataclass(frozen=True)
class ActivityFilters:
    """The `/activites` filters of the activities themselves: `kind`, and `from`/`to`."""

    values: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # the period's bound that is not a date

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> ActivityFilters:
        values = {
            key: params[key].strip()[:200]
            for key in ("kind", "from", "to")
            if params.get(key, "").strip()
        }
        if values.get("kind") not in {None, *(kind.value for kind in ActivityKind)}:
            del values["kind"]
        for key in ("from", "to"):
            if key in values:
                try:
                    values[key] = parse_date(values[key]).isoformat()
                except ValueError:
                    return cls(error=key)
        return cls(values)

    def variable(self, projects: Filters) -> dict[str, Any] | None:
        """The `ActivityFilter` variable: the projects' filter, the kind by its GraphQL
        name, the period."""
        variable: dict[str, Any] = {}
        if projects.values:
            variable["project"] = projects.variable()
        if "kind" in self.values:
            variable["kind"] = ActivityKind(self.values["kind"]).name
        variable.update({key: self.values[key] for key in ("from", "to") if key in self.values})
        return variable or None


def activities_router(pages: Pages) -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.get("/activites")
    async def activities(request: Request) -> Response:
        """The projects' activities, the latest held first, a page at a time."""
        principal = await pages.signed_in(request)
        if principal is None:
            return pages.to_sign_in(request)
        params = dict(request.query_params)
        travel, projects = TimeTravel.parse(params), Filters.parse(params)
        own = ActivityFilters.parse(params)
        if travel.error or own.error:
            parameter = travel.error or own.error
            return pages.render(request, "bad_date.html", principal, 400, parameter=parameter)
        variables = {
            "filter": own.variable(projects),
            "first": PAGE_SIZE,
            "after": params.get("apres") or None,
            **travel.variables,
        }
        services: Services = request.app.state.services
        try:
            data = await read(pages.run, services, principal, "activities", variables)
        except QueryFailedError as error:
            return pages.failed(request, principal, error, query_text("activities"))
        found = data["activities"]
        filters = {**projects.values, **own.values}
        return pages.render(
            request,
            "activities.html",
            principal,
            query=query_text("activities"),
            variables=variables,
            **travelled(travel),
            filters=filters,
            # Filters the form has no field for (the dashboard's): kept as they are.
            hidden={k: v for k, v in projects.values.items() if k != "lab"},
            keep={**filters, **travel.query},
            labs=data["labs"],
            lab_names={lab["slug"]: lab["name"] for lab in data["labs"]},
            kinds=[kind.value for kind in ActivityKind],
            **listed(found),
        )

    return routes
