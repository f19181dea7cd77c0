"""The pages (docs/web.md): `/`, `/projets`, `/projets/{id}`, `/projets/{id}/historique`
(auditors), `/connexion`, `/deconnexion`.

Each page authenticates its session, reads its data with its GraphQL query run in-process
(tracker/web/reading.py), shapes it for its template, and renders. Time travel: every page
takes `?on=DATE&connu_le=ISO-8601`, passes them to the schema's `on:`/`asKnownAt:`
(`TimeTravel.variables`) and says which date it shows; a page whose query could not travel
would say plainly that its figures are today's (`_applied`; every page travels now).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from domain.values import Health, Phase, Status
from tracker.application.access import Principal, Role
from tracker.application.services import Services
from tracker.web.audit import KNOWLEDGE_FIRST, KnowledgeWindow, audit_status, knowledge_rows
from tracker.web.charts import TimelineRow, bar_chart, timeline
from tracker.web.dates import parse_date, parse_instant
from tracker.web.over_time import over_time_values
from tracker.web.project_extras import partners_and_decisions
from tracker.web.reading import QueryFailedError, QueryRunner, query_text, read
from tracker.web.rendering import SECURITY_HEADERS, Renderer
from tracker.web.session import COOKIE_NAME, Sessions, WebSession

PAGE_SIZE = 25
MAX_FORM_BYTES = 4096
FILTER_KEYS = ("lab", "phase", "health", "status", "theme", "territory", "text")


@dataclass(frozen=True)
class TimeTravel:
    """The page's business date (`on`) and knowledge instant (`connu_le`), if given."""

    on: date | None = None
    known_at: datetime | None = None
    error: str | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> TimeTravel:
        on_raw, known_raw = params.get("on", "").strip(), params.get("connu_le", "").strip()
        try:
            on = parse_date(on_raw) if on_raw else None
        except ValueError:
            return cls(error="on")
        try:
            known_at = parse_instant(known_raw) if known_raw else None
        except ValueError:
            return cls(error="connu_le")
        if known_at is not None and known_at.tzinfo is None:
            known_at = known_at.replace(tzinfo=UTC)
        return cls(on=on, known_at=known_at)

    @property
    def query(self) -> dict[str, str]:
        """The parameters to carry in the page's links."""
        values = {}
        if self.on:
            values["on"] = self.on.isoformat()
        if self.known_at:
            values["connu_le"] = self.known_at.isoformat()
        return values

    @property
    def variables(self) -> dict[str, str | None]:
        """The schema's time-travel arguments (docs/time.md): `on` and `asKnownAt`."""
        return {
            "on": self.on.isoformat() if self.on else None,
            "asKnownAt": self.known_at.isoformat() if self.known_at else None,
        }

    def today(self, zone: Any) -> date:
        """The day the page is about: the business date asked, else today in `zone`."""
        return self.on or datetime.now(zone).date()


@dataclass(frozen=True)
class Filters:
    """The portfolio filters a page was given (the GraphQL `ProjectFilter`'s fields)."""

    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Filters:
        values = {k: params[k].strip()[:200] for k in FILTER_KEYS if params.get(k, "").strip()}
        for key, enum in (("phase", Phase), ("health", Health), ("status", Status)):
            if key in values and values[key] not in {member.value for member in enum}:
                del values[key]
        return cls(values)

    def variable(self) -> dict[str, str] | None:
        """The `ProjectFilter` variable: enums by their GraphQL names."""
        if not self.values:
            return None
        variable = dict(self.values)
        for key, enum in (("phase", Phase), ("health", Health), ("status", Status)):
            if key in variable:
                variable[key] = enum(variable[key]).name
        return variable


def travelled(travel: TimeTravel) -> dict[str, Any]:
    """What every page's template needs of its dates: the dates, whether the page's query
    applied them, and the parameters to carry in its links."""
    return {"travel": travel, "applied": _applied(travel), "travel_query": travel.query}


def listed(found: Mapping[str, Any]) -> dict[str, Any]:
    """A list page's connection as its template shows it: the total, the page's rows and
    the next page's cursor (None on the last page)."""
    info = found["pageInfo"]
    return {
        "total": found["totalCount"],
        "rows": [edge["node"] for edge in found["edges"]],
        "next_cursor": info["endCursor"] if info["hasNextPage"] else None,
    }


def link(path: str, *queries: Mapping[str, str]) -> str:
    merged: dict[str, str] = {}
    for query in queries:
        merged.update(query)
    return f"{path}?{urlencode(merged)}" if merged else path


def local_path(path: str | None) -> str:
    """A path to return to after sign-in: this site's own, never another's."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    parts = urlsplit(path)
    return parts.path + (f"?{parts.query}" if parts.query else "")


_local = local_path


class Pages:
    """The web edge's state: templates, sessions and the in-process GraphQL runner."""

    def __init__(self, renderer: Renderer, sessions: Sessions, run: QueryRunner) -> None:
        self.renderer = renderer
        self.sessions = sessions
        self.run = run

    async def signed_in(self, request: Request) -> Principal | None:
        session = self.sessions.loads(request.cookies.get(COOKIE_NAME))
        if session is None:
            return None
        services: Services = request.app.state.services
        return await self.sessions.principal(services, session)

    def to_sign_in(self, request: Request) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(link("/connexion", {"suite": target}), status_code=303)

    def render(
        self,
        request: Request,
        template: str,
        principal: Principal | None,
        status_code: int = 200,
        **values: Any,
    ) -> Response:
        return self.renderer.page(
            template,
            status_code=status_code,
            principal=principal,
            path=request.url.path,
            link=link,
            **values,
        )

    def failed(
        self, request: Request, principal: Principal, error: QueryFailedError, query: str
    ) -> Response:
        codes = {code for _, code in error.errors}
        status = 404 if "NOT_FOUND" in codes else 403 if "FORBIDDEN" in codes else 400
        return self.render(
            request, "error.html", principal, status, errors=error.errors, query=query
        )


def router(pages: Pages) -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.get("/connexion")
    async def sign_in_form(request: Request) -> Response:
        """The sign-in form; `?jeton=` pre-fills it (the demo's links)."""
        return pages.render(
            request,
            "sign_in.html",
            await pages.signed_in(request),
            token=request.query_params.get("jeton", ""),
            next_path=_local(request.query_params.get("suite")),
            error=None,
        )

    @routes.post("/connexion")
    async def sign_in(request: Request) -> Response:
        """Open a session for a bearer token: a new signed cookie, a new session id."""
        if not _same_origin(request):
            return Response("cross-site sign-in refused", status_code=403, headers=SECURITY_HEADERS)
        form = await _form(request)
        token = form.get("jeton", "").strip()
        next_path = _local(form.get("suite"))
        session = WebSession.new("token", token)
        services: Services = request.app.state.services
        principal = await pages.sessions.principal(services, session) if token else None
        if principal is None:
            return pages.render(
                request,
                "sign_in.html",
                None,
                status_code=401,
                token="",
                next_path=next_path,
                error="unknown",
            )
        response = RedirectResponse(next_path, status_code=303)
        response.set_cookie(
            COOKIE_NAME,
            pages.sessions.dumps(session),
            max_age=pages.sessions.max_age_seconds,
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response

    @routes.get("/deconnexion")
    async def sign_out_form(request: Request) -> Response:
        """A page with the sign-out button (signing out is a POST)."""
        principal = await pages.signed_in(request)
        if principal is None:
            return RedirectResponse("/connexion", status_code=303)
        return pages.render(request, "sign_out.html", principal)

    @routes.post("/deconnexion")
    async def sign_out(request: Request) -> Response:
        """Close the session: the cookie is deleted."""
        if not _same_origin(request):
            return Response(
                "cross-site sign-out refused", status_code=403, headers=SECURITY_HEADERS
            )
        session = pages.sessions.loads(request.cookies.get(COOKIE_NAME))
        elsewhere = await pages.sessions.sign_out_url(request, session)
        response = RedirectResponse(elsewhere or "/connexion?sortie=1", status_code=303)
        response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
        return response

    @routes.get("/")
    async def dashboard(request: Request) -> Response:
        """The portfolio dashboard: counts by phase, health, lab, territory and theme."""
        principal = await pages.signed_in(request)
        if principal is None:
            return pages.to_sign_in(request)
        params = dict(request.query_params)
        travel, filters = TimeTravel.parse(params), Filters.parse(params)
        if travel.error:
            return _bad_date(pages, request, principal, travel)
        variables = dashboard_variables(filters, travel)
        services: Services = request.app.state.services
        try:
            data = await read(pages.run, services, principal, "dashboard", variables)
        except QueryFailedError as error:
            return pages.failed(request, principal, error, query_text("dashboard"))
        return pages.render(
            request,
            "dashboard.html",
            principal,
            **dashboard_values(data, filters, travel, variables),
            **over_time_values(data, filters.values, travel.today(services.settings.zone)),
        )

    @routes.get("/projets")
    async def projects(request: Request) -> Response:
        """The projects, filtered and searched, a page at a time."""
        principal = await pages.signed_in(request)
        if principal is None:
            return pages.to_sign_in(request)
        params = dict(request.query_params)
        travel, filters = TimeTravel.parse(params), Filters.parse(params)
        if travel.error:
            return _bad_date(pages, request, principal, travel)
        variables = {
            "filter": filters.variable(),
            "first": PAGE_SIZE,
            "after": params.get("apres") or None,
            **travel.variables,
        }
        services: Services = request.app.state.services
        try:
            data = await read(pages.run, services, principal, "projects", variables)
        except QueryFailedError as error:
            return pages.failed(request, principal, error, query_text("projects"))
        found = data["projects"]
        return pages.render(
            request,
            "projects.html",
            principal,
            query=query_text("projects"),
            variables=variables,
            **travelled(travel),
            filters=filters.values,
            keep={**filters.values, **travel.query},
            labs=data["labs"],
            lab_names={lab["slug"]: lab["name"] for lab in data["labs"]},
            phases=[(p.value, p.label) for p in Phase],
            **listed(found),
        )

    @routes.get("/projets/{project_id}")
    async def project(request: Request, project_id: str) -> Response:
        """One project: its timeline, milestones' slips, activities, indicators, funding."""
        principal = await pages.signed_in(request)
        if principal is None:
            return pages.to_sign_in(request)
        travel = TimeTravel.parse(dict(request.query_params))
        if travel.error:
            return _bad_date(pages, request, principal, travel)
        try:
            UUID(project_id)
        except ValueError:
            return pages.render(request, "not_found.html", principal, 404)
        services: Services = request.app.state.services
        variables = {"id": project_id, **travel.variables}
        try:
            data = await read(pages.run, services, principal, "project", variables)
        except QueryFailedError as error:
            return pages.failed(request, principal, error, query_text("project"))
        found = data["project"]
        if found is None:
            return pages.render(request, "not_found.html", principal, 404, travel=travel)
        today = travel.today(services.settings.zone)
        return pages.render(
            request,
            "project.html",
            principal,
            query=query_text("project"),
            variables=variables,
            **travelled(travel),
            project=found,
            timeline=project_timeline(found, today),
            **await partners_and_decisions(services, project_id, travel.on, travel.known_at),
        )

    @routes.get("/projets/{project_id}/historique")
    async def history(request: Request, project_id: str) -> Response:
        """A project's recorded events, for auditors: who, both dates, and why."""
        principal = await pages.signed_in(request)
        if principal is None:
            return pages.to_sign_in(request)
        if principal.role not in (Role.AUDITOR, Role.STAFF):
            return pages.render(request, "forbidden.html", principal, 403)
        try:
            UUID(project_id)
        except ValueError:
            return pages.render(request, "not_found.html", principal, 404)
        services: Services = request.app.state.services
        window = KnowledgeWindow.parse(dict(request.query_params), services.settings.zone)
        if isinstance(window, str):
            return pages.render(request, "bad_date.html", principal, 400, parameter=window)
        variables = {"id": project_id}
        learnt_variables = {"id": project_id, **window.variables, "first": KNOWLEDGE_FIRST}
        try:
            data = await read(pages.run, services, principal, "history", variables)
        except QueryFailedError as error:
            if any(code == "FORBIDDEN" for _, code in error.errors):  # another lab's staff
                return pages.render(request, "forbidden.html", principal, 403)
            return pages.failed(request, principal, error, query_text("history"))
        if data["project"] is None:
            return pages.render(request, "not_found.html", principal, 404)
        try:
            learnt = await read(pages.run, services, principal, "knowledge", learnt_variables)
        except QueryFailedError as error:
            return pages.failed(request, principal, error, query_text("knowledge"))
        return pages.render(
            request,
            "history.html",
            principal,
            query=query_text("history"),
            variables=variables,
            project=data["project"],
            events=data["projectHistory"],
            window=window,
            learnt=knowledge_rows(learnt["knowledgeChanges"], data["projectHistory"]),
            learnt_first=KNOWLEDGE_FIRST,
            learnt_query=query_text("knowledge"),
            learnt_variables=learnt_variables,
            **await audit_status(services, project_id),
        )

    return routes


def _applied(travel: TimeTravel, travels: bool = True) -> dict[str, bool]:
    """Which of the asked dates the page's figures honour (the others are stated as not):
    all of them when its query `travels` in time."""
    return {
        "on": travels and travel.on is not None,
        "known_at": travels and travel.known_at is not None,
    }


def _bad_date(pages: Pages, request: Request, principal: Principal, travel: TimeTravel) -> Response:
    return pages.render(request, "bad_date.html", principal, 400, parameter=travel.error)


def _same_origin(request: Request) -> bool:
    """A form post from this site: its Origin (browsers send it on POST) is this host."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None and request.headers.get("sec-fetch-site") in (None, "same-origin")
    return urlsplit(origin).netloc == request.headers.get("host")


async def _form(request: Request) -> dict[str, str]:
    """A small url-encoded form (sign-in, sign-out, staff forms): first value of each field."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items()}


# The staff's forms (tracker/web/forms.py) check and read their posts the same way.
same_origin = _same_origin
small_form = _form


def dashboard_variables(filters: Filters, travel: TimeTravel) -> dict[str, Any]:
    """The dashboard query's variables: the portfolio's filter, and its milestone lists."""
    projects = filters.variable()
    return {
        "filter": projects,
        **travel.variables,
        "overdue": {"overdue": True, "project": projects},
        "dueSoon": {"dueWithinDays": 30, "project": projects},
        "slipped": {"slipped": True, "project": projects},
        # The training actions belong to labs, not to projects: of the portfolio's
        # filters, only the lab applies to them (the page says so).
        "training": {"lab": filters.values["lab"]} if "lab" in filters.values else None,
    }


def dashboard_values(
    data: Mapping[str, Any],
    filters: Filters,
    travel: TimeTravel,
    variables: Mapping[str, Any],
) -> dict[str, Any]:
    """The dashboard's charts and tables, each figure with the link to its list."""
    portfolio = data["portfolio"]
    keep = {**filters.values, **travel.query}
    lab_names = {lab["slug"]: lab["name"] for lab in data["labs"]}

    def chart(rows: list[Mapping[str, Any]], key: str, label: Any, short: Any = None) -> Any:
        lowered = key in ("phase", "health", "status")
        return bar_chart(
            [
                (
                    label(row),
                    (short or label)(row),
                    row["count"],
                    link("/projets", keep, {key: row["key"].lower() if lowered else row["key"]}),
                    str(row["count"]),
                )
                for row in rows
            ]
        )

    return {
        "query": query_text("dashboard"),
        "variables": variables,
        **travelled(travel),
        "filters": filters.values,
        "keep": keep,
        "portfolio": portfolio,
        "lab_names": lab_names,
        "by_phase": chart(portfolio["byPhase"], "phase", lambda r: r["label"]),
        "by_status": chart(portfolio["byStatus"], "status", lambda r: r["key"].lower()),
        "by_health": chart(portfolio["byHealth"], "health", lambda r: r["key"].lower()),
        "by_lab": chart(
            portfolio["byLab"],
            "lab",
            lambda r: lab_names.get(r["key"], r["key"]),
            lambda r: r["key"],
        ),
        "by_territory": chart(
            portfolio["byTerritory"][:15],
            "territory",
            lambda r: f"{r['name']} ({r['key']})" if r["name"] else r["key"],
            lambda r: r["key"],
        ),
        "by_theme": chart(portfolio["byTheme"][:15], "theme", lambda r: r["key"]),
        "overdue": data["overdue"],
        "due_soon": data["dueSoon"],
        "slipped": data["slipped"],
    }


def project_timeline(project: Mapping[str, Any], today: date) -> Any:
    """The project's phase stays as bars, then each milestone from its first to its
    current due date."""
    rows = [
        TimelineRow(
            label=Phase(period["phase"].lower()).label,
            kind="phase",
            start=date.fromisoformat(period["enteredOn"]),
            end=date.fromisoformat(period["leftOn"]) if period["leftOn"] else today,
            css=f"phase-{period['phase'].lower()}",
        )
        for period in project["phasePeriods"]
    ]
    rows += [
        TimelineRow(
            label=milestone["title"],
            kind="milestone",
            start=date.fromisoformat(milestone["originalDueOn"]),
            end=date.fromisoformat(milestone["dueOn"]),
            css="overdue" if milestone["overdue"] else milestone["status"].lower(),
        )
        for milestone in project["milestones"]
    ]
    return timeline(rows, today)
