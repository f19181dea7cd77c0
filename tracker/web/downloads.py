"""Downloads for signed-in people (docs/web.md): the spreadsheets of docs/spreadsheets.md,
served to the web session (the `/api/v1` routes answer bearer tokens only).

- `/projets/{id}/historique.xlsx|ods`: a project's history and funding (auditor, or staff
  of its lab: the history query's own rule decides);
- `/jalons.xlsx|ods|csv`: the milestones the dashboard lists (`overdue`, `slipped`,
  `due_within_days`, and the portfolio's `lab`);
- `/projets.xlsx|ods|csv`: the projects the list keeps (its filters), on the business date
  and as known at the instant of the page (`on`, `connu_le`);
- `/formations.xlsx|ods|csv`: the training actions `/formations` keeps (its filters) and
  the programme's roll-ups, on the page's `on` and `connu_le` (the CSV: the actions).

CSV files are UTF-8, comma-separated with a header row of the spreadsheets' French
titles, dates in ISO 8601 and amounts in euros with a decimal point (for programs; the
spreadsheets are for people).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from projections.queries import (
    LIVE,
    TRAINING_LIVE,
    MilestoneQuery,
    ProjectQuery,
    TrainingQuery,
    sliced,
    training_sliced,
)
from tracker.application.access import Role
from tracker.application.services import Services
from tracker.exports.sheets import Column, Kind, Table
from tracker.exports.spreadsheets import WRITERS, filename
from tracker.exports.tables import (
    milestones_table,
    project_history_tables,
    projects_table,
    training_tables,
)
from tracker.web.pages import Filters, Pages, TimeTravel
from tracker.web.reading import QueryFailedError, query_text, read
from tracker.web.rendering import SECURITY_HEADERS
from tracker.web.training import TrainingFilters

CSV = "text/csv; charset=utf-8"
FORMATS = (*sorted(WRITERS), "csv")


def write_csv(tables: Sequence[Table]) -> bytes:
    """The first table as CSV (the lists have one)."""
    table = tables[0]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([column.title for column in table.columns])
    for row in table.rows:
        writer.writerow([_plain(column, row.get(column.key)) for column in table.columns])
    return out.getvalue().encode("utf-8")


def _plain(column: Column, value: Any) -> Any:
    if value is None:
        return ""
    if column.kind is Kind.EUROS:
        return f"{value / 100:.2f}"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _file(format_name: str, stem: str, tables: Sequence[Table], services: Services) -> Response:
    media, write = (CSV, write_csv) if format_name == "csv" else WRITERS[format_name]
    today = datetime.now(services.settings.zone).date()
    return Response(
        write(tables),
        media_type=media,
        headers={
            **SECURITY_HEADERS,
            "Content-Disposition": f'attachment; filename="{filename(stem, format_name, today)}"',
        },
    )


def downloads_router(pages: Pages) -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.get("/projets/{project_id}/historique.{format_name}")
    async def history_file(request: Request, project_id: str, format_name: str) -> Response:
        """A project's history and funding as a spreadsheet (auditor, or its lab's staff)."""
        principal = await pages.signed_in(request)
        if principal is None:
            return pages.to_sign_in(request)
        if format_name not in WRITERS:
            return pages.render(request, "not_found.html", principal, 404)
        if principal.role not in (Role.AUDITOR, Role.STAFF):
            return pages.render(request, "forbidden.html", principal, 403)
        try:
            project = UUID(project_id)
        except ValueError:
            return pages.render(request, "not_found.html", principal, 404)
        services: Services = request.app.state.services
        try:
            # The history query checks the reader's right to this project's history.
            data = await read(pages.run, services, principal, "history", {"id": project_id})
        except QueryFailedError as error:
            if any(code == "FORBIDDEN" for _, code in error.errors):
                return pages.render(request, "forbidden.html", principal, 403)
            return pages.failed(request, principal, error, query_text("history"))
        if data["project"] is None:
            return pages.render(request, "not_found.html", principal, 404)
        tables = await run_in_threadpool(
            project_history_tables, services.application, services.read_engine, project
        )
        return _file(format_name, f"historique-{project_id}", tables, services)

    @routes.get("/jalons.{format_name}")
    async def milestones_file(request: Request, format_name: str) -> Response:
        """The milestones the dashboard lists, as a spreadsheet (any signed-in reader)."""
        principal = await pages.signed_in(request)
        if principal is None:
            return pages.to_sign_in(request)
        if format_name not in FORMATS:
            return pages.render(request, "not_found.html", principal, 404)
        params = request.query_params
        lab = params.get("lab", "")[:64]
        within = params.get("due_within_days", "")
        query = MilestoneQuery(
            projects=ProjectQuery(lab=lab) if lab else None,
            overdue=True if params.get("overdue") == "1" else None,
            slipped=True if params.get("slipped") == "1" else None,
            due_within_days=int(within) if within.isdigit() and int(within) <= 3650 else None,
        )
        services: Services = request.app.state.services
        today = datetime.now(services.settings.zone).date()
        table = await run_in_threadpool(milestones_table, services.read_engine, query, today)
        return _file(format_name, "jalons", [table], services)

    @routes.get("/projets.{format_name}")
    async def projects_file(request: Request, format_name: str) -> Response:
        """The projects the list keeps, on the page's dates, as a spreadsheet or CSV."""
        principal = await pages.signed_in(request)
        if principal is None:
            return pages.to_sign_in(request)
        if format_name not in FORMATS:
            return pages.render(request, "not_found.html", principal, 404)
        params = dict(request.query_params)
        travel, filters = TimeTravel.parse(params), Filters.parse(params)
        if travel.error:
            return pages.render(request, "bad_date.html", principal, 400, parameter=travel.error)
        query = ProjectQuery(**filters.values) if filters.values else None
        tables = sliced(travel.on, travel.known_at) if travel.on or travel.known_at else LIVE
        services: Services = request.app.state.services
        table = await run_in_threadpool(projects_table, services.read_engine, query, tables)
        return _file(format_name, "projets", [table], services)

    @routes.get("/formations.{format_name}")
    async def trainings_file(request: Request, format_name: str) -> Response:
        """The training actions `/formations` keeps and their roll-ups, on its dates."""
        principal = await pages.signed_in(request)
        if principal is None:
            return pages.to_sign_in(request)
        if format_name not in FORMATS:
            return pages.render(request, "not_found.html", principal, 404)
        params = dict(request.query_params)
        travel, filters = TimeTravel.parse(params), TrainingFilters.parse(params)
        if travel.error or filters.error:
            parameter = travel.error or filters.error
            return pages.render(request, "bad_date.html", principal, 400, parameter=parameter)
        values = filters.values
        query = TrainingQuery(
            **{k: v for k, v in values.items() if k not in ("from", "to")},
            starts_on=date.fromisoformat(values["from"]) if "from" in values else None,
            ends_on=date.fromisoformat(values["to"]) if "to" in values else None,
        )
        tables = (
            training_sliced(travel.on, travel.known_at)
            if travel.on or travel.known_at
            else TRAINING_LIVE
        )
        services: Services = request.app.state.services
        found = await run_in_threadpool(training_tables, services.read_engine, query, tables)
        return _file(format_name, "formations", found, services)

    return routes
