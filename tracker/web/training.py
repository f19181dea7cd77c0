"""The training programme's pages (docs/web.md): `/formations` (the actions and agents
trained, by format, lab, campaign, year and audience, with the list of actions) and
`/campagnes/{slug}` (one campaign: its actions and roll-ups).

Their data come from the schema's `trainingProgramme`, `trainings` and `campaign` run
in-process, like every page (tracker/web/pages.py). Both pages travel in time as every page does
(`?on=DATE&connu_le=ISO-8601`, passed as `on:`/`asKnownAt:`): the campaign page reads its
roll-ups and actions from `trainingProgramme` and `trainings` filtered on the campaign, since
a campaign's own `programme` and `trainings` are today's (campaigns themselves never change).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from domain.values import ActivityMode, TrainingFormat, TrainingStatus
from tracker.application.services import Services
from tracker.web.charts import BarChart, bar_chart
from tracker.web.dates import parse_date
from tracker.web.pages import PAGE_SIZE, Pages, TimeTravel, link, listed, travelled
from tracker.web.reading import QueryFailedError, query_text, read

ENUM_KEYS = {"format": TrainingFormat, "mode": ActivityMode, "status": TrainingStatus}


@dataclass(frozen=True)
class TrainingFilters:
    """The `/formations` filters: the GraphQL `TrainingFilter`'s fields, as the REST list
    names them (`lab`, `format`, `mode`, `status`, `campaign`, `from`, `to`), and `place`
    (a commune's INSEE code)."""

    values: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # the period's bound that is not a date

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> TrainingFilters:
        values = {
            key: params[key].strip()[:200]
            for key in ("lab", "campaign", "place", "from", "to", *ENUM_KEYS)
            if params.get(key, "").strip()
        }
        for key, enum in ENUM_KEYS.items():
            if key in values and values[key] not in {member.value for member in enum}:
                del values[key]
        for key in ("from", "to"):
            if key in values:
                try:
                    values[key] = parse_date(values[key]).isoformat()
                except ValueError:
                    return cls(error=key)
        return cls(values)

    def variable(self) -> dict[str, str] | None:
        """The `TrainingFilter` variable: enums by their GraphQL names."""
        if not self.values:
            return None
        return {
            key: ENUM_KEYS[key](value).name if key in ENUM_KEYS else value
            for key, value in self.values.items()
        }


def programme_charts(
    programme: Mapping[str, Any], lab_names: Mapping[str, str], keep: Mapping[str, str]
) -> dict[str, BarChart]:
    """The programme's roll-ups as charts, each line linking to the actions behind it."""

    def chart(groups: list[Mapping[str, Any]], href: Any, label: Any) -> BarChart:
        return bar_chart(
            [(label(g), label(g), g["total"], href(g), str(g["total"])) for g in groups]
        )

    return {
        "by_format": chart(
            programme["byFormat"],
            lambda g: link("/formations", keep, {"format": g["key"]}),
            lambda g: g["label"] or g["key"],
        ),
        "by_lab": chart(
            programme["byLab"],
            lambda g: link("/formations", keep, {"lab": g["key"]}),
            lambda g: lab_names.get(g["key"], g["key"]),
        ),
        "by_campaign": chart(
            programme.get("byCampaign", []),
            lambda g: link(f"/campagnes/{g['key']}", keep),
            lambda g: g["label"] or g["key"],
        ),
        "by_year": chart(
            programme["byYear"],
            lambda g: link(
                "/formations", keep, {"from": f"{g['key']}-01-01", "to": f"{g['key']}-12-31"}
            ),
            lambda g: g["key"],
        ),
        # The communes with the most actions (online actions have no place).
        "by_territory": chart(
            sorted(programme["byTerritory"], key=lambda g: (-g["total"], g["key"]))[:15],
            lambda g: link("/formations", keep, {"place": g["key"]}),
            lambda g: f"{g['label']} ({g['key']})" if g["label"] else g["key"],
        ),
        "by_audience": bar_chart(
            [
                (a["label"], a["label"], a["agents"], None, str(a["agents"]))
                for a in programme["byAudience"]
            ]
        ),
    }


def campaign_names(programme: Mapping[str, Any]) -> dict[str, str]:
    """The campaigns' names by slug, as `byCampaign` labels them: every campaign of the
    listed actions, which the programme of the same filter groups."""
    return {g["key"]: g["label"] for g in programme.get("byCampaign", []) if g["label"]}


def training_router(pages: Pages) -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.get("/formations")
    async def trainings(request: Request) -> Response:
        """The training programme: actions and agents trained, by format, lab, campaign."""
        principal = await pages.signed_in(request)
        if principal is None:
            return pages.to_sign_in(request)
        params = dict(request.query_params)
        travel, filters = TimeTravel.parse(params), TrainingFilters.parse(params)
        if travel.error or filters.error:
            parameter = travel.error or filters.error
            return pages.render(request, "bad_date.html", principal, 400, parameter=parameter)
        variables = {
            "filter": filters.variable(),
            "first": PAGE_SIZE,
            "after": params.get("apres") or None,
            **travel.variables,
        }
        services: Services = request.app.state.services
        try:
            data = await read(pages.run, services, principal, "training", variables)
        except QueryFailedError as error:
            return pages.failed(request, principal, error, query_text("training"))
        lab_names = {lab["slug"]: lab["name"] for lab in data["labs"]}
        keep = {**filters.values, **travel.query}
        found = data["trainings"]
        return pages.render(
            request,
            "trainings.html",
            principal,
            query=query_text("training"),
            variables=variables,
            **travelled(travel),
            filters=filters.values,
            keep=keep,
            labs=data["labs"],
            lab_names=lab_names,
            formats=[(f.value, f.label) for f in TrainingFormat],
            statuses=[s.value for s in TrainingStatus],
            programme=data["trainingProgramme"],
            charts=programme_charts(data["trainingProgramme"], lab_names, keep),
            campaign_names=campaign_names(data["trainingProgramme"]),
            **listed(found),
        )

    @routes.get("/campagnes/{slug}")
    async def campaign(request: Request, slug: str) -> Response:
        """One campaign: its dates, organiser, actions across labs and their roll-ups."""
        principal = await pages.signed_in(request)
        if principal is None:
            return pages.to_sign_in(request)
        travel = TimeTravel.parse(dict(request.query_params))
        if travel.error:
            return pages.render(request, "bad_date.html", principal, 400, parameter=travel.error)
        variables = {"slug": slug[:200], **travel.variables}
        services: Services = request.app.state.services
        try:
            data = await read(pages.run, services, principal, "campaign", variables)
        except QueryFailedError as error:
            return pages.failed(request, principal, error, query_text("campaign"))
        found = data["campaign"]
        if found is None:
            return pages.render(request, "not_found.html", principal, 404)
        lab_names = {lab["slug"]: lab["name"] for lab in data["labs"]}
        keep = {"campaign": found["slug"], **travel.query}
        return pages.render(
            request,
            "campaign.html",
            principal,
            query=query_text("campaign"),
            variables=variables,
            **travelled(travel),
            campaign=found,
            lab_names=lab_names,
            programme=data["trainingProgramme"],
            charts=programme_charts(data["trainingProgramme"], lab_names, keep),
            campaign_names={found["slug"]: found["name"]},
            list_link=link("/formations", keep),
            rows=[edge["node"] for edge in data["trainings"]["edges"]],
            total=data["trainings"]["totalCount"],
        )

    return routes
