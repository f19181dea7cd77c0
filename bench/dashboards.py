"""GraphQL dashboard queries at 200 and 10,000 projects, beside plain SQL; as-of queries.

The training programme is among them: at 200 projects the seed's ~500 training actions
(a young portfolio of 10,000 projects has none), its roll-ups live and on a date as known
at an instant (the training timeline).

Each level is a fresh database holding the seed's portfolio (200 projects: their whole
history; 10,000 projects: a young portfolio, each project's first `YOUNG_COMMANDS`
commands, unless `full` — the portfolio projection is too slow today to project 300,000
events inside the default run). The portfolio projection is caught up in this process,
then a `tracker serve --no-projector` answers `POST /graphql` to one sequential client
(httpx, keep-alive): p50 and p95 of each query over `repeat` requests after a warm-up.

Floor: the same data read with plain SQL (a DBAPI cursor: psycopg or sqlite3) on the
read-model tables, in this process, with no HTTP, GraphQL or SQLAlchemy around it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
from sqlalchemy.engine import make_url

from bench.common import Figure, fresh_database, open_services, percentile, server_url
from bench.loader import load_portfolio
from bench.server import serve
from projections.portfolio import PortfolioProjection
from projections.runner import ProjectionWorker
from projections.training import TrainingProjection
from projections.training_timeline import TrainingTimelineProjection
from tracker.application.access import Role, create_token

YOUNG_COMMANDS = 4
P95_TARGET_MS = {200: 25.0, 10_000: 50.0}
WITHIN_FLOOR = 3.0

OVERVIEW = """query Overview { portfolio {
  total byPhase { key label count } byHealth { key count } byStatus { key count }
  byLab { key count } byTerritory { key label count } byTheme { key count }
  milestones { open dueSoon overdue slipped achieved }
  activitiesByMonth { month activities participants } fundingByYear { year amountCents } } }"""
PAGE = """query Page { projects(first: 50) { totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { id title phase health status
    lab { slug name } nextMilestone { id title dueOn status } } } } }"""
OVERDUE = """query Overdue { milestones(filter: {overdue: true}, first: 50) { totalCount
  edges { node { id title dueOn daysOverdue project { id title lab { slug } } } } } }"""
PROGRAMME = """query Programme { trainingProgramme {
  scheduled held cancelled agentsTrained onlineShare
  byLab { key scheduled held cancelled agentsTrained } byYear { key held agentsTrained }
  byFormat { key label total } byAudience { audience agents } } }"""
PROGRAMME_ON = """query ProgrammeOn($on: Date!, $at: DateTime!) {
  trainingProgramme(on: $on, asKnownAt: $at) {
    scheduled held cancelled agentsTrained byLab { key held agentsTrained } } }"""
PROJECT_AS_OF = """query AsOf($id: ID!, $at: DateTime!) {
  projectAsOf(id: $id, asOf: $at) { id version phase health status } }"""
PORTFOLIO_AS_OF = """query PortfolioAsOf($at: DateTime!) {
  portfolio(asOf: $at) { total byPhase { key count } } }"""

# The same data in plain SQL. `:today` is the labs' date; dates are ISO text on SQLite.
# The overview reads the roll-ups the portfolio projection keeps (rm_portfolio_counts), as
# `projections.queries.counted_portfolio` does.
SQL_OVERVIEW = [
    "SELECT dimension, key, detail, counted, amount FROM rm_portfolio_counts"
    " WHERE dimension <> 'due' AND counted > 0",
    # `key` holds the due date as ISO text: the dates are compared as text on both databases.
    "SELECT sum(counted), sum(CASE WHEN key < CAST(:today AS TEXT) THEN counted ELSE 0 END),"
    " sum(CASE WHEN key >= CAST(:today AS TEXT) AND key <= CAST(:soon AS TEXT)"
    " THEN counted ELSE 0 END)"
    " FROM rm_portfolio_counts WHERE dimension = 'due'",
]
SQL_PAGE = [
    "SELECT count(*) FROM rm_projects",
    "SELECT p.id, p.title, p.phase, p.health, p.status, p.registered_position, l.slug, l.name,"
    " m.milestone_id, m.title, m.due_on, m.status FROM rm_projects p"
    " JOIN rm_labs l ON l.slug = p.lab LEFT JOIN rm_milestones m"
    " ON m.project_id = p.id AND m.milestone_id = p.next_milestone_id"
    " ORDER BY p.registered_position LIMIT 51",
]
SQL_OVERDUE = [
    "SELECT count(*) FROM rm_milestones WHERE status = 'planned' AND due_on < :today",
    "SELECT m.project_id, m.milestone_id, m.title, m.due_on, p.title, p.lab"
    " FROM rm_milestones m JOIN rm_projects p ON p.id = m.project_id"
    " WHERE m.status = 'planned' AND m.due_on < :today"
    " ORDER BY m.due_on, m.project_id, m.milestone_id LIMIT 51",
]
_BY_STATUS = (
    " sum(CASE WHEN status = 'scheduled' THEN 1 ELSE 0 END),"
    " sum(CASE WHEN status = 'held' THEN 1 ELSE 0 END),"
    " sum(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END),"
    " coalesce(sum(CASE WHEN status = 'held' THEN attendance ELSE 0 END), 0)"
)
SQL_PROGRAMME = [
    f"SELECT {_BY_STATUS}, sum(CASE WHEN status = 'held' AND mode = 'remote' THEN 1 ELSE 0 END)"
    " FROM rm_trainings",
    f"SELECT lab, {_BY_STATUS} FROM rm_trainings GROUP BY lab ORDER BY lab",
    f"SELECT year, {_BY_STATUS} FROM rm_trainings GROUP BY year ORDER BY year",
    f"SELECT format, {_BY_STATUS} FROM rm_trainings GROUP BY format ORDER BY format",
    "SELECT audience, sum(attendance) FROM rm_training_attendance GROUP BY audience"
    " ORDER BY audience",
]
QUERIES: dict[str, tuple[str, list[str]]] = {
    "portfolio overview": (OVERVIEW, SQL_OVERVIEW),
    "50 projects with lab and next milestone": (PAGE, SQL_PAGE),
    "overdue milestones (first 50)": (OVERDUE, SQL_OVERDUE),
    "training programme": (PROGRAMME, SQL_PROGRAMME),
}


@contextlib.contextmanager
def dbapi(url: str) -> Iterator[Callable[[str, dict[str, Any]], list[Any]]]:
    """A plain DBAPI connection; yields `run(sql, params)` → rows."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connection = sqlite3.connect(parsed.database or "")

        def run_sqlite(sql: str, params: dict[str, Any]) -> list[Any]:
            return connection.execute(sql, params).fetchall()

        try:
            yield run_sqlite
        finally:
            connection.close()
        return
    conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as pg:

        def run_postgres(sql: str, params: dict[str, Any]) -> list[Any]:
            # psycopg's placeholders are %(name)s
            text = sql
            for name in params:
                text = text.replace(f":{name}", f"%({name})s")
            return pg.execute(text, params).fetchall()  # type: ignore[call-overload, no-any-return]

        yield run_postgres


def _samples(function: Callable[[], Any], repeat: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _graphql(client: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> Any:
    answer = client.post("/graphql", json={"query": query, "variables": variables or {}})
    if answer.status_code != 200:
        raise RuntimeError(f"HTTP {answer.status_code}: {answer.text[:200]}")
    body = answer.json()
    if body.get("errors"):
        raise RuntimeError(str(body["errors"])[:300])
    return body["data"]


def _level(backend: str, projects: int, work_dir: Path, repeat: int, full: bool) -> list[Figure]:
    figures: list[Figure] = []
    young = None if full or projects <= 200 else YOUNG_COMMANDS
    with fresh_database(backend, server_url()) as url:
        with open_services(url) as services:
            loaded = load_portfolio(services.settings, projects, commands_per_project=young)
            for projection in (PortfolioProjection, TrainingProjection, TrainingTimelineProjection):
                ProjectionWorker(services, projection).run_until_caught_up()
            _, viewer = create_token(services.application, Role.VIEWER, name="bench")
            _, auditor = create_token(services.application, Role.AUDITOR, name="bench")
            today = services.application.today()
            sample_id = str(loaded.project_ids[len(loaded.project_ids) // 2])
        params = {"today": today.isoformat(), "soon": today.fromordinal(today.toordinal() + 30)}
        params["soon"] = params["soon"].isoformat()  # type: ignore[attr-defined]
        history = "full histories" if young is None else f"first {young} commands each"
        with (
            serve(url, work_dir, projector=False, name=f"serve-dash-{backend}-{projects}") as srv,
            dbapi(url) as run_sql,
        ):
            client = httpx.Client(
                base_url=srv.base_url, headers={"Authorization": f"Bearer {viewer}"}, timeout=30
            )
            for name, (query, statements) in QUERIES.items():
                try:
                    graph = _samples(lambda q=query: _graphql(client, q), repeat)
                except (RuntimeError, httpx.HTTPError) as error:
                    figures.append(_unavailable(name, backend, projects, str(error)))
                    continue
                plain = _samples(lambda s=statements: [run_sql(x, params) for x in s], repeat)
                p95, floor95 = percentile(graph, 95), percentile(plain, 95)
                target = P95_TARGET_MS.get(projects)
                figures.append(
                    Figure(
                        suite="GraphQL dashboards",
                        name=f"{projects:,} projects: {name}, p95",
                        backend=backend,
                        value=round(p95, 2),
                        unit="ms (lower is better)",
                        floor_name="plain SQL p95, same data",
                        floor=round(floor95, 2),
                        target=(
                            f"p95 < {target:.0f} ms, <= {WITHIN_FLOOR:.0f}x floor" if target else ""
                        ),
                        met=(p95 < target and p95 <= WITHIN_FLOOR * floor95) if target else None,
                        note=(
                            f"p50 {percentile(graph, 50):.1f} ms (floor p50 "
                            f"{percentile(plain, 50):.2f} ms); {loaded.events:,} events, "
                            f"{history}"
                        ),
                        extra={
                            "p50_ms": percentile(graph, 50),
                            "floor_p50_ms": percentile(plain, 50),
                            "samples": repeat,
                            "events": loaded.events,
                        },
                    )
                )
            auditing = httpx.Client(
                base_url=srv.base_url, headers={"Authorization": f"Bearer {auditor}"}, timeout=30
            )
            at = datetime.now(ZoneInfo("UTC")).astimezone(UTC).isoformat()
            for name, query, variables in (
                ("projectAsOf", PROJECT_AS_OF, {"id": sample_id, "at": at}),
                ("portfolio(asOf:)", PORTFOLIO_AS_OF, {"at": at}),
                (
                    "trainingProgramme(on:, asKnownAt:)",
                    PROGRAMME_ON,
                    {"on": f"{today.year - 1}-12-31", "at": at},
                ),
            ):
                try:
                    samples = _samples(
                        lambda q=query, v=variables: _graphql(auditing, q, v), repeat
                    )
                except (RuntimeError, httpx.HTTPError) as error:
                    figures.append(_unavailable(name, backend, projects, str(error)))
                    continue
                figures.append(
                    Figure(
                        suite="as-of queries",
                        name=f"{projects:,} projects: {name}, p95",
                        backend=backend,
                        value=round(percentile(samples, 95), 2),
                        unit="ms (lower is better)",
                        note=f"p50 {percentile(samples, 50):.1f} ms",
                        extra={"p50_ms": percentile(samples, 50), "samples": repeat},
                    )
                )
            client.close()
            auditing.close()
    return figures


def _unavailable(name: str, backend: str, projects: int, why: str) -> Figure:
    suite = (
        "as-of queries"
        if "asOf" in name or "AsOf" in name or "asKnownAt" in name
        else "GraphQL dashboards"
    )
    return Figure(
        suite=suite,
        name=f"{projects:,} projects: {name}",
        backend=backend,
        value=None,
        unit="ms",
        note=f"not available: {why[:160]}",
    )


def run(
    backend: str, work_dir: Path, *, levels: tuple[int, ...], repeat: int, full: bool
) -> list[Figure]:
    figures: list[Figure] = []
    for projects in levels:
        figures.extend(_level(backend, projects, work_dir, repeat, full))
    return figures
