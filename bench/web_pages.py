"""The web pages' server time at 200 and 10,000 projects, beside plain SQL (docs/web.md).

`python -m bench --only web` (`make web-bench`). Each level is a fresh database holding
the seed's portfolio, loaded as the dashboards suite loads it (bench/dashboards.py,
bench/loader.py: 200 projects with their whole history; 10,000 projects young, each
project's first `YOUNG_COMMANDS` commands, plus the campaign and the first
`YOUNG_TRAININGS` entries of the training programme, unless `full`). Every projection is
caught up in this process, then a real `tracker serve --no-projector` answers one
sequential client (httpx, keep-alive, signed in as an auditor through /connexion): each
page `repeat` times after a warm-up.

The figure is the **server's own time**: the access log's `duration_ms`
(tracker/api/middleware.py), from the request's arrival to the last byte of the page, read
from the server's log at INFO. The client's time over loopback and the server's CPU per
request (its /proc CPU time over the page's requests) are in the note: the CPU time does
not grow when other processes compete for the processors, the wall-clock times do.

Floor: the same data read with plain SQL (a DBAPI cursor: psycopg or sqlite3) on the
read-model tables, in this process, with no HTTP, GraphQL, SQLAlchemy or template around
it. A page on a business date or as known at an instant reads the timeline's bitemporal
twins (`rm_*_bt`) through a `WITH` clause naming each slice as its live table, as
`projections.queries.sliced` does.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy.engine import make_url

from bench.common import Figure, fresh_database, open_services, percentile, server_url
from bench.dashboards import SQL_OVERVIEW, SQL_PROGRAMME, YOUNG_COMMANDS, _samples, dbapi
from bench.loader import load_portfolio
from bench.server import Server, serve
from projections.runner import PROJECTIONS, ProjectionWorker
from tracker.application.access import Role, create_token
from tracker.schema.event_store import EVENTS_TABLE

P95_TARGET_MS = {200: 100.0, 10_000: 250.0}
# The programme's first entries kept in a young portfolio: the 2020 campaign and its
# actions, then other actions (about as many as the seed's 200 projects have).
YOUNG_TRAININGS = 500
CAMPAIGN = "mois-innovation-publique-2020"
END_DATE = date(9999, 12, 31)
END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)
SLICED = (
    "rm_projects",
    "rm_project_themes",
    "rm_project_territories",
    "rm_milestones",
    "rm_phase_periods",
    "rm_activities",
    "rm_funding",
    "rm_indicators",
)

# -- the plain SQL of each page (`:name` parameters; dates are ISO text on SQLite) ---------

_MILESTONE_LIST = (
    "SELECT m.title, m.due_on, m.original_due_on, m.days_slipped, p.id, p.title, p.lab"
    " FROM rm_milestones m JOIN rm_projects p ON p.id = m.project_id WHERE {where}"
    " ORDER BY {order} LIMIT 8"
)
_OVERDUE = "m.status = 'planned' AND m.due_on < :today"
_DUE_SOON = "m.status = 'planned' AND m.due_on >= :today AND m.due_on <= :soon"
_SLIPPED = "m.days_slipped > 0"
SQL_DASHBOARD = [
    *SQL_OVERVIEW,
    *(
        statement
        for where, order in (
            (_OVERDUE, "m.due_on, m.project_id, m.milestone_id"),
            (_DUE_SOON, "m.due_on, m.project_id, m.milestone_id"),
            (_SLIPPED, "m.days_slipped DESC, m.project_id, m.milestone_id"),
        )
        for statement in (
            f"SELECT count(*) FROM rm_milestones m WHERE {where}",
            _MILESTONE_LIST.format(where=where, order=order),
        )
    ),
    "SELECT slug, name FROM rm_labs ORDER BY slug",
]
# The funding page of one year: the year's amount and a page of 25 (+1) lines with projects.
SQL_FUNDING = [
    "SELECT fiscal_year, sum(amount_cents) FROM rm_funding GROUP BY fiscal_year",
    "SELECT count(*) FROM rm_funding WHERE fiscal_year = :year",
    "SELECT f.*, p.title, p.lab FROM rm_funding f JOIN rm_projects p ON p.id = f.project_id"
    " WHERE f.fiscal_year = :year ORDER BY f.fiscal_year, f.project_id, f.source LIMIT 26",
    "SELECT slug, name FROM rm_labs ORDER BY slug",
]
# The activities page: their count and the latest 25 (+1) with their projects.
SQL_ACTIVITIES = [
    "SELECT count(*) FROM rm_activities",
    "SELECT a.*, p.title, p.lab FROM rm_activities a JOIN rm_projects p ON p.id = a.project_id"
    " ORDER BY a.held_on DESC, a.project_id DESC, a.activity_id DESC LIMIT 26",
    "SELECT slug, name FROM rm_labs ORDER BY slug",
]
# The milestones page of the overdue ones: their count and a page of 25 (+1) with projects.
SQL_MILESTONES = [
    f"SELECT count(*) FROM rm_milestones m WHERE {_OVERDUE}",
    _MILESTONE_LIST.format(where=_OVERDUE, order="m.due_on, m.project_id, m.milestone_id").replace(
        "LIMIT 8", "LIMIT 26"
    ),
    "SELECT slug, name FROM rm_labs ORDER BY slug",
]
_PROJECT_PAGE = (
    "SELECT p.id, p.title, p.lab, p.phase, p.health, p.status, m.title, m.due_on,"
    " (SELECT count(*) FROM rm_milestones o WHERE o.project_id = p.id"
    " AND o.status = 'planned' AND o.due_on < :today),"
    " (SELECT min(t.theme) FROM rm_project_themes t WHERE t.project_id = p.id)"
    " FROM rm_projects p LEFT JOIN rm_milestones m"
    " ON m.project_id = p.id AND m.milestone_id = p.next_milestone_id {where}"
    " ORDER BY p.registered_position LIMIT 26"
)
SQL_PROJECTS = [
    "SELECT count(*) FROM rm_projects",
    _PROJECT_PAGE.format(where=""),
    "SELECT slug, name FROM rm_labs ORDER BY slug",
]
_FILTERED = "WHERE p.phase = :phase AND lower(p.title) LIKE :text"
SQL_PROJECTS_FILTERED = [
    f"SELECT count(*) FROM rm_projects p {_FILTERED}",
    _PROJECT_PAGE.format(where=_FILTERED),
    "SELECT slug, name FROM rm_labs ORDER BY slug",
]
SQL_PROJECT = [
    "SELECT p.*, l.name FROM rm_projects p JOIN rm_labs l ON l.slug = p.lab WHERE p.id = :id",
    "SELECT theme FROM rm_project_themes WHERE project_id = :id ORDER BY theme",
    "SELECT * FROM rm_project_territories WHERE project_id = :id",
    "SELECT * FROM rm_phase_periods WHERE project_id = :id ORDER BY seq",
    "SELECT * FROM rm_milestones WHERE project_id = :id ORDER BY due_on, milestone_id",
    "SELECT * FROM rm_activities WHERE project_id = :id ORDER BY held_on",
    "SELECT * FROM rm_funding WHERE project_id = :id ORDER BY fiscal_year",
    "SELECT * FROM rm_indicators WHERE project_id = :id",
]
SQL_HISTORY = [
    "SELECT id, title, lab FROM rm_projects WHERE id = :id",
    f"SELECT originator_version, topic, state FROM {EVENTS_TABLE}"
    " WHERE originator_id = :event_id ORDER BY originator_version",
    "SELECT * FROM rm_activity_feed WHERE project_id = :id ORDER BY position",
]
_TRAININGS = (
    "SELECT id, lab, title, format, mode, status, sessions, campaign, attendance, capacity,"
    " partners FROM rm_trainings {where} ORDER BY first_session_on DESC, id LIMIT {limit}"
)
SQL_TRAINING = [
    *SQL_PROGRAMME,
    "SELECT campaign, count(*) FROM rm_trainings GROUP BY campaign",
    "SELECT count(*) FROM rm_trainings",
    _TRAININGS.format(where="", limit=26),
    "SELECT slug, name FROM rm_labs ORDER BY slug",
]
SQL_CAMPAIGN = [
    "SELECT * FROM rm_campaigns WHERE slug = :campaign",
    *(
        statement.replace("FROM rm_trainings", "FROM rm_trainings WHERE campaign = :campaign")
        for statement in SQL_PROGRAMME[:-1]
    ),
    "SELECT a.audience, sum(a.attendance) FROM rm_training_attendance a"
    " JOIN rm_trainings t ON t.id = a.training_id WHERE t.campaign = :campaign"
    " GROUP BY a.audience ORDER BY a.audience",
    "SELECT count(*) FROM rm_trainings WHERE campaign = :campaign",
    _TRAININGS.format(where="WHERE campaign = :campaign", limit=50),
    "SELECT slug, name FROM rm_labs ORDER BY slug",
]
# The comparison: the two slices joined on the project (and the milestone), only the rows
# that differ; the kept projects (those of either slice) first, as a CTE, so that each
# slice is joined to it by its primary key (a FULL JOIN of two subqueries is a nested loop
# on SQLite).
_BEFORE = "valid_from <= :du AND valid_to > :du"
_AFTER = "valid_from <= :au AND valid_to > :au"
# The comparison's rows: those that hold on one of the two dates only, as known now (a key
# with a row on both has the same row on both), as `projections.queries._then_and_now`.
_ONE_DATE_ONLY = (
    "recorded_to = :end_of_time AND valid_to > :du AND ((valid_from <= :du AND valid_to <= :au)"
    " OR (valid_from > :du AND valid_from <= :au AND valid_to > :au))"
)


def _then_and_now(table: str, keys: str, columns: tuple[str, ...]) -> str:
    """The grouped scan of `table`'s twin: each key's `columns` on both dates."""
    values = ", ".join(
        f"max(CASE WHEN {on} THEN {column} END) AS {when}_{column}"
        for when, on in (("was", _BEFORE), ("now", _AFTER))
        for column in columns
    )
    return (
        f"(SELECT {keys}, max(CASE WHEN {_BEFORE} THEN 1 END) AS was,"
        f" max(CASE WHEN {_AFTER} THEN 1 END) AS now, {values}"
        f" FROM {table}_bt WHERE {_ONE_DATE_ONLY} GROUP BY {keys})"
    )


SQL_CHANGES = [
    "SELECT id, coalesce(now_title, was_title), coalesce(now_lab, was_lab), was, was_phase,"
    " was_health, was_status, now, now_phase, now_health, now_status FROM "
    + _then_and_now(
        "rm_projects", "id", ("title", "lab", "phase", "health", "status", "registered_position")
    )
    + " t WHERE was = 1 OR now = 1"
    " ORDER BY coalesce(now_registered_position, was_registered_position)",
    "SELECT project_id, milestone_id, now_title, now_status, now_due_on, was, was_status,"
    " was_due_on FROM "
    + _then_and_now("rm_milestones", "project_id, milestone_id", ("title", "status", "due_on"))
    + " m WHERE now = 1 AND (was IS NULL OR (now_status = 'achieved' AND was_status <> 'achieved')"
    " OR (now_status = 'cancelled' AND was_status <> 'cancelled') OR now_due_on <> was_due_on)",
    "SELECT project_id, phase, entered_on, left_on, decision"
    f" FROM rm_phase_periods_bt WHERE {_AFTER} AND recorded_to = :end_of_time"
    " AND ((entered_on > :du AND entered_on <= :au AND decision <> 'start')"
    " OR (left_on > :du AND left_on <= :au)) ORDER BY project_id, seq",
    "SELECT slug, name FROM rm_labs ORDER BY slug",
]


def sliced(statements: list[str], *, on: bool, known_at: bool) -> list[str]:
    """`statements` on the timeline's slice: each live project table named by a `WITH`
    clause over its bitemporal twin, on `:on` (else the latest) as known at `:known_at`
    (else now)."""
    valid = "valid_from <= :on AND valid_to > :on" if on else "valid_to = :end_date"
    recorded = (
        "recorded_from <= :known_at AND recorded_to > :known_at"
        if known_at
        else "recorded_to = :end_of_time"
    )
    prefix = "WITH " + ", ".join(
        f"{table} AS (SELECT * FROM {table}_bt WHERE {valid} AND {recorded})" for table in SLICED
    )
    return [f"{prefix} {statement}" for statement in statements]


def _pages(project_id: str, today: date) -> dict[str, tuple[str, list[str]]]:
    """Each page's name → (its path, its plain SQL)."""
    a_year_ago = today.replace(year=today.year - 1)
    known = datetime.now(UTC).replace(microsecond=0, tzinfo=None).isoformat()
    return {
        "/": ("/", SQL_DASHBOARD),
        "/?on=…": (
            f"/?on={today.year - 1}-12-31",
            sliced(SQL_DASHBOARD, on=True, known_at=False),
        ),
        "/?connu_le=…": (
            f"/?connu_le={known}",
            sliced(SQL_DASHBOARD, on=False, known_at=True),
        ),
        "/projets": ("/projets", SQL_PROJECTS),
        "/projets?phase=…&text=…": ("/projets?phase=prototyping&text=a", SQL_PROJECTS_FILTERED),
        "/projets/{id}": (f"/projets/{project_id}", SQL_PROJECT),
        "/projets/{id}/historique": (f"/projets/{project_id}/historique", SQL_HISTORY),
        "/jalons?etat=en-retard": ("/jalons?etat=en-retard", SQL_MILESTONES),
        "/financements?annee=…": (f"/financements?annee={today.year - 1}", SQL_FUNDING),
        "/activites": ("/activites", SQL_ACTIVITIES),
        "/formations": ("/formations", SQL_TRAINING),
        "/campagnes/{slug}": (f"/campagnes/{CAMPAIGN}", SQL_CAMPAIGN),
        "/comparaison?du=…&au=…": (
            f"/comparaison?du={a_year_ago.isoformat()}&au={today.isoformat()}",
            SQL_CHANGES,
        ),
    }


def _parameters(url: str, project_id: str, today: date) -> dict[str, Any]:
    """The floor's parameters: ISO text and SQLAlchemy's stored timestamps on SQLite."""
    on_sqlite = make_url(url).get_backend_name() == "sqlite"
    known_at = datetime.now(UTC)
    values: dict[str, Any] = {
        "id": project_id,
        # eventsourcing's SQLite recorder stores a UUID's hex digits
        "event_id": UUID(project_id).hex if on_sqlite else project_id,
        "today": today,
        "soon": today + timedelta(days=30),
        "on": date(today.year - 1, 12, 31),
        "du": today.replace(year=today.year - 1),
        "au": today,
        "end_date": END_DATE,
        "end_of_time": END_OF_TIME,
        "known_at": known_at,
        "phase": "prototyping",
        "text": "%a%",
        "campaign": CAMPAIGN,
        "year": today.year - 1,
    }
    if on_sqlite:
        for key, value in values.items():
            if isinstance(value, datetime):
                values[key] = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            elif isinstance(value, date):
                values[key] = value.isoformat()
    return values


class AccessLog:
    """The server's own time per request: the `duration_ms` of its access log's lines.

    The server writes a request's line once the response is sent, so the client may hold
    a page before its line is written: `take(n)` waits for the n next lines.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size
        self.pending = b""
        self.lines: list[tuple[int, float]] = []

    def _read(self) -> None:
        with self.path.open("rb") as log:
            log.seek(self.offset)
            text = log.read()
        self.offset += len(text)
        *complete, self.pending = (self.pending + text).split(b"\n")
        for line in complete:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("event") == "request":
                self.lines.append((int(entry["status"]), float(entry["duration_ms"])))

    def take(self, count: int, timeout: float = 30.0) -> list[tuple[int, float]]:
        """(status, milliseconds) of the next `count` requests logged."""
        deadline = time.monotonic() + timeout
        self._read()
        while len(self.lines) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(self.lines)} access-log lines for {count} requests")
            time.sleep(0.01)
            self._read()
        taken, self.lines = self.lines[:count], self.lines[count:]
        return taken


def _sign_in(server: Server, token: str) -> httpx.Client:
    client = httpx.Client(base_url=server.base_url, timeout=120)
    answer = client.post(
        "/connexion", data={"jeton": token, "suite": "/"}, headers={"Origin": server.base_url}
    )
    if answer.status_code != 303 or not client.cookies:
        raise RuntimeError(f"sign-in failed: HTTP {answer.status_code}")
    return client


@dataclass
class Served:
    """A level's store, its server and a signed-in client: what the suite and the profile
    (bench/profile_pages.py) measure."""

    url: str
    server: Server
    client: httpx.Client
    pages: dict[str, tuple[str, list[str]]]
    params: dict[str, Any]
    loaded: str


@contextlib.contextmanager
def served(backend: str, projects: int, work_dir: Path, full: bool) -> Iterator[Served]:
    """A fresh database holding the level's portfolio, every projection caught up, and a
    `tracker serve --no-projector` (access log at INFO) with an auditor signed in."""
    young = None if full or projects <= 200 else YOUNG_COMMANDS
    with fresh_database(backend, server_url()) as url:
        with open_services(url) as services:
            loaded = load_portfolio(
                services.settings,
                projects,
                commands_per_project=young,
                young_trainings=YOUNG_TRAININGS,
            )
            for projection in PROJECTIONS:
                ProjectionWorker(services, projection).run_until_caught_up()
            # The planner's statistics, as autovacuum keeps them in a store in service: on
            # a freshly loaded PostgreSQL database without them, it plans the comparison's
            # semi-joins as nested loops over "13 rows" (12 s instead of 1 s at 10,000).
            with services.engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE")
            _, auditor = create_token(services.application, Role.AUDITOR, name="bench")
            today = services.application.today()
            # A project from the middle of the portfolio (its history is as long as most).
            project_id = str(loaded.project_ids[len(loaded.project_ids) // 2])
        history = "full histories" if young is None else f"first {young} commands each"
        with (
            serve(
                url,
                work_dir,
                projector=False,
                name=f"serve-web-{backend}-{projects}",
                env={"TRACKER_LOG_LEVEL": "INFO", "TRACKER_SESSION_SECRET": "bench-" + "x" * 40},
            ) as server,
            contextlib.closing(_sign_in(server, auditor)) as client,
        ):
            yield Served(
                url,
                server,
                client,
                _pages(project_id, today),
                _parameters(url, project_id, today),
                f"{loaded.events:,} events, {history}",
            )


def _level(backend: str, projects: int, work_dir: Path, repeat: int, full: bool) -> list[Figure]:
    figures: list[Figure] = []
    with served(backend, projects, work_dir, full) as level, dbapi(level.url) as run_sql:
        access = AccessLog(level.server.log_path)
        for name, (path, statements) in level.pages.items():
            measured = _page(level.client, level.server, access, path, repeat)
            plain, slow = _floor(lambda s=statements: [run_sql(x, level.params) for x in s], repeat)
            figures.append(_figure(measured, plain, backend, projects, name, path, repeat))
            figures[-1].note += f"; {level.loaded}{slow}"
    return figures


# A plain-SQL floor whose first answer takes longer than this is timed `SLOW_FLOOR_REPEAT`
# times only, and the note says so: PostgreSQL answers some slices' plain SQL (the CTEs over
# the bitemporal twins) in seconds, and 45 of them would hold the suite for many minutes.
SLOW_FLOOR_S = 1.0
SLOW_FLOOR_REPEAT = 3


def _floor(run: Callable[[], Any], repeat: int) -> tuple[list[float], str]:
    """The floor's samples, and a note when a slow floor was timed fewer times."""
    started = time.perf_counter()
    run()
    first = time.perf_counter() - started
    if first > SLOW_FLOOR_S:
        note = f"; plain SQL timed {SLOW_FLOOR_REPEAT} times only (its first run: {first:.1f} s)"
        return _samples(run, SLOW_FLOOR_REPEAT, warmup=0), note
    return _samples(run, repeat, warmup=4), ""


def _page(
    client: httpx.Client, server: Server, access: AccessLog, path: str, repeat: int
) -> tuple[list[float], list[float], float] | str:
    """The page's server times, client times and server CPU per request (ms), or why not."""

    def get() -> None:
        answer = client.get(path)
        if answer.status_code != 200:
            raise RuntimeError(f"{path}: HTTP {answer.status_code}")

    try:
        for _ in range(3):
            get()
        access.take(3)
        cpu_before = server.cpu_seconds() or 0.0
        client_ms = _samples(get, repeat, warmup=0)
        cpu_ms = ((server.cpu_seconds() or 0.0) - cpu_before) * 1000 / repeat
        server_ms = [ms for _, ms in access.take(repeat)]
    except (RuntimeError, httpx.HTTPError) as error:
        return str(error)
    return server_ms, client_ms, cpu_ms


def _figure(
    measured: tuple[list[float], list[float], float] | str,
    plain: list[float],
    backend: str,
    projects: int,
    name: str,
    path: str,
    repeat: int,
) -> Figure:
    if isinstance(measured, str):
        return Figure(
            suite="web pages",
            name=f"{projects:,} projects: {name}",
            backend=backend,
            value=None,
            unit="ms",
            note=f"not available: {measured[:160]}",
        )
    server_ms, client_ms, cpu_ms = measured
    p95, floor95 = percentile(server_ms, 95), percentile(plain, 95)
    target = P95_TARGET_MS.get(projects)
    return Figure(
        suite="web pages",
        name=f"{projects:,} projects: {name}, server p95",
        backend=backend,
        value=round(p95, 2),
        unit="ms (lower is better)",
        floor_name="plain SQL p95, same data",
        floor=round(floor95, 2),
        target=f"p95 < {target:.0f} ms" if target else "",
        met=p95 < target if target else None,
        note=(
            f"p50 {percentile(server_ms, 50):.1f} ms; client p95 "
            f"{percentile(client_ms, 95):.1f} ms; server CPU {cpu_ms:.1f} ms/request; floor "
            f"p50 {percentile(plain, 50):.2f} ms"
        ),
        extra={
            "path": path,
            "p50_ms": percentile(server_ms, 50),
            "client_p95_ms": percentile(client_ms, 95),
            "server_cpu_ms_per_request": cpu_ms,
            "floor_p50_ms": percentile(plain, 50),
            "samples": repeat,
        },
    )


def run(
    backend: str, work_dir: Path, *, levels: tuple[int, ...], repeat: int, full: bool
) -> list[Figure]:
    figures: list[Figure] = []
    for projects in levels:
        figures.extend(_level(backend, projects, work_dir, repeat, full))
    return figures
