"""The national benchmark: ~135 labs, 30,000 projects with their training programmes, and
more than 1,000,000 events; every figure at 100,000 and at 1,000,000 events.

    make bench BENCH_ARGS=--national
    .venv/bin/python -m bench --national [--national-events 1000000] [--backend postgresql]

How the log is written: the labs, projects and training actions are built in memory with
the domain's own methods (every rule of the timeline holds: dates in order, nothing before
a project's start) and saved through `TrackerApplication.save`, a few thousand events per
transaction: the library's recorder writes them in the stored event format, with tracker's
hash chain, as a command would. Projects are written round-robin across the labs, with
business dates spread over 2019 to today; the labs' training actions are scheduled and held
alongside. Recorded times are the real instants of the run.

At each level (a tenth of `--national-events`, then all of them), on the same database:

- rebuild: `projections.runner.rebuild_all` of every projection from position 0 (the
  temporal read models included), as `tracker projections rebuild` runs it, in events/s,
  beside the floor (`bench.projections.executemany_floor`: one SQLAlchemy Core
  `executemany` of 50,000 feed-shaped rows in one transaction, measured right after);
- verify: `tracker.audit.verify.verify` of the whole log, in seconds;
- the database's size per event (the SQLite file with its WAL; `pg_database_size`);
- a `tracker serve --no-projector` answers, one sequential client over loopback: every
  dashboard query of `bench.dashboards` and the live portfolio, then the time-travel
  queries (`portfolio(on:)` at each year end, `portfolio(on:, asKnownAt:)` as known when the
  first level was written, `project(on:)`, `portfolioChanges`, `trainingProgramme`), p50
  and p95 over `repeat` requests after a warm-up;
- memory: the peak RSS of this process (writer, rebuild and verify) and of the server.

Targets at the last level (docs/benchmarks.md): dashboards p95 < 50 ms, time travel p95 <
100 ms, verify < 30 s, rebuild >= 30,000 events/s on PostgreSQL and >= 20,000 on SQLite.
The load average is read before the run: when it exceeds half the machine's cores, no
target is judged ("met" is left empty and the note says why), since a busy machine's
figures say nothing about the code.
"""

from __future__ import annotations

import functools
import resource
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from eventsourcing.domain import Aggregate
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy.engine import make_url

from bench.common import (
    Figure,
    cpu_seconds,
    fresh_database,
    open_services,
    percentile,
    server_url,
)
from bench.dashboards import QUERIES
from bench.machine import Load
from bench.projections import executemany_floor
from bench.server import Server, serve
from domain.lab import Lab
from domain.meta import Meta
from domain.project import Project
from domain.training import TrainingAction
from domain.values import (
    ActivityKind,
    ActivityMode,
    GateDecision,
    Health,
    Outcome,
    Phase,
    Territory,
    TrainingFormat,
)
from projections.runner import PROJECTIONS, head_position, rebuild_all
from tracker.application.access import Role, create_token
from tracker.application.services import Services
from tracker.audit.verify import verify

LABS = 135
PROJECTS_PER_MILLION = 30_000
# Events per transaction of the writer (`TrackerApplication.save` of whole aggregates).
EVENTS_PER_SAVE = 3_000
# A training action per this many projects (scheduled, then held: two events each).
PROJECTS_PER_TRAINING = 5
# Rows of the floor: enough for a steady rate, few enough to leave the peak memory alone.
FLOOR_ROWS = 50_000
FIRST_DAY = date(2019, 1, 7)
REGIONS = ["11", "24", "27", "28", "32", "44", "52", "53", "75", "76", "84", "93", "94"]
DEPARTMENTS = [
    "01",
    "13",
    "21",
    "29",
    "33",
    "35",
    "44",
    "59",
    "67",
    "69",
    "71",
    "75",
    "76",
    "87",
    "93",
]
KINDS = list(ActivityKind)
MODES = [ActivityMode.IN_PERSON, ActivityMode.REMOTE, ActivityMode.HYBRID]
FORMATS = list(TrainingFormat)
HEALTHS = list(Health)
TARGETS = {
    "dashboards_ms": 50.0,
    "time_travel_ms": 100.0,
    "verify_s": 30.0,
    "rebuild_postgresql": 30_000.0,
    "rebuild_sqlite": 20_000.0,
}
SUITE = "national"

PORTFOLIO = """query($on: Date, $known: DateTime) { portfolio(on: $on, asKnownAt: $known) {
  total byPhase { key label count } byHealth { key count } byStatus { key count }
  byLab { key count } byTerritory { key label count } byTheme { key count }
  milestones { open dueSoon overdue slipped achieved }
  activitiesByMonth { month activities participants } fundingByYear { year amountCents } } }"""
PROJECT_ON = """query($id: ID!, $on: Date, $known: DateTime) {
  project(id: $id, on: $on, asKnownAt: $known) { id version phase health status } }"""
CHANGES = """query($from: Date!, $to: Date!) { portfolioChanges(from: $from, to: $to) {
  from to } }"""


# -- the log -------------------------------------------------------------------------------


class Writer:
    """Builds the national portfolio in memory and saves it in large transactions."""

    def __init__(self, services: Services, total_events: int) -> None:
        self.application = services.application
        self.today = min(date.today(), date(2026, 11, 30))
        self.projects_planned = max(LABS, total_events * PROJECTS_PER_MILLION // 1_000_000)
        self.labs = [f"lab-{k:03d}" for k in range(LABS)]
        self.next_project = 0
        self.project_ids: list[str] = []
        self.pending: list[Aggregate] = []
        self.pending_events = 0
        self.span = (self.today - FIRST_DAY).days - 400

    def meta(self, on: date) -> Meta:
        return Meta(
            actor=f"tok_national{on.day % 7}",
            correlation_id=str(uuid.uuid4()),
            occurred_on=on,
            today=self.today,
        )

    def start(self) -> None:
        labs = [
            Lab.register(
                slug, f"Laboratoire {slug}", REGIONS[k % len(REGIONS)], self.meta(FIRST_DAY)
            )
            for k, slug in enumerate(self.labs)
        ]
        self.application.save(*labs)

    def project(self, i: int) -> Project:
        """Project `i`: 30 to 36 events, every kind among them, dated week after week."""
        started = FIRST_DAY + timedelta(days=(i * 7919) % self.span)
        day = iter(started + timedelta(days=7 * k) for k in range(1000))
        lab = self.labs[i % LABS]
        departments = [DEPARTMENTS[i % len(DEPARTMENTS)], DEPARTMENTS[(i // 7) % len(DEPARTMENTS)]]
        p = Project.register(
            lab=lab,
            title=f"Projet {i}",
            summary="Construire avec les habitants.",
            themes=["culture", "ruralité", "santé", "mobilité"][: 1 + i % 3],
            territories=[Territory("department", d, 2024) for d in dict.fromkeys(departments)],
            started_on=started,
            meta=self.meta(started),
        )
        p.enter_phase(Phase.DISCOVERY, GateDecision.GO, self.meta(next(day)))
        p.assess_health(HEALTHS[i % len(HEALTHS)], self.meta(next(day)), "point d'étape")
        planned = [
            p.plan_milestone(
                f"Jalon {k}",
                started + timedelta(days=60 * k),
                Phase.DISCOVERY,
                self.meta(next(day)),
            )
            for k in range(1, 5)
        ]
        p.reschedule_milestone(
            planned[0], started + timedelta(days=150), self.meta(next(day)), "météo"
        )
        p.achieve_milestone(
            planned[1], started + timedelta(days=120), "photos", self.meta(next(day))
        )
        if i % 3 == 0:
            p.cancel_milestone(planned[2], self.meta(next(day)), "inutile")
        partner = p.add_partner("Université", "recherche", self.meta(next(day)))
        indicator = p.define_indicator("Usagers", "personnes", 0, 100, self.meta(next(day)))
        for k in range(2):
            on = next(day)
            p.measure_indicator(indicator, 10 * k + i % 5, on, self.meta(on))
        for k in range(8 + i % 4):
            on = next(day)
            p.log_activity(
                KINDS[k % len(KINDS)],
                f"Séance {k}",
                on,
                5 + k % 20,
                self.meta(on),
                mode=MODES[k % 3],
            )
        for k in range(2):
            p.commit_funding(["Région", "État"][k], 50_000 * (k + 1), 2025, self.meta(next(day)))
        p.record_decision("Choix", "Pilote", "Moins cher", self.meta(next(day)))
        p.enter_phase(Phase.IDEATION, GateDecision.GO, self.meta(next(day)))
        p.assess_health(HEALTHS[(i + 1) % len(HEALTHS)], self.meta(next(day)), "revue")
        p.remove_partner(partner, self.meta(next(day)))
        for k in range(3):
            on = next(day)
            p.log_activity(ActivityKind.WEBINAR, f"Webinaire {k}", on, 5 + k, self.meta(on))
        if i % 4 == 0:
            p.close(Outcome.HANDED_OVER, self.meta(next(day)), "transmis")
        if i % 8 == 0:
            p.reopen(self.meta(next(day)), "nouvelle saison")
        return p

    def training(self, i: int, project: Project) -> TrainingAction:
        """A training action of the project's lab, about it: scheduled, then held."""
        held = project.started_on + timedelta(days=30)
        action = TrainingAction.schedule(
            lab=self.labs[i % LABS],
            title=f"Formation {i}",
            format=FORMATS[i % len(FORMATS)],
            session_dates=[held],
            mode=ActivityMode.REMOTE,
            meta=self.meta(project.started_on),
            project_ids=[str(project.id)],
        )
        action.hold(10 + i % 20, self.meta(held))
        return action

    def write_until(self, events: int, on_progress: Callable[[int], None]) -> int:
        """Add projects (and their training) until the log holds at least `events`."""
        head = int(self.application.recorder.max_notification_id() or 0)
        while head < events:
            i = self.next_project
            self.next_project += 1
            project = self.project(i)
            self.project_ids.append(str(project.id))
            self.pending.append(project)
            self.pending_events += project.version
            if i % PROJECTS_PER_TRAINING == 0:
                self.pending.append(self.training(i, project))
                self.pending_events += 2
            if self.pending_events >= min(EVENTS_PER_SAVE, events - head):
                head += self.flush()
                on_progress(head)
        head += self.flush()
        on_progress(head)
        return head

    def flush(self) -> int:
        if not self.pending:
            return 0
        self.application.save(*self.pending)
        written, self.pending, self.pending_events = self.pending_events, [], 0
        return written


# -- measuring -------------------------------------------------------------------------------


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=False,
    )


def database_bytes(services: Services) -> int:
    url = make_url(services.settings.database_url)
    if services.settings.is_sqlite:
        path = Path(url.database or "")
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    with services.engine.connect() as connection:
        return int(connection.scalar(sa.text("SELECT pg_database_size(current_database())")) or 0)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def samples(call: Callable[[], Any], repeat: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        call()
    found = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        found.append((time.perf_counter() - started) * 1000)
    return found


# A question whose first answer takes longer than this is asked `SLOW_REPEAT` times only
# (the note says so): thirty ten-second answers would add minutes and tell nothing more.
SLOW_MS = 2_000
SLOW_REPEAT = 5
# The client waits this long for one answer; a question that takes longer is reported as
# failed, with the rest of the run kept.
REQUEST_TIMEOUT_S = 300


def served(
    srv: Server, call: Callable[[], Any], repeat: int
) -> tuple[list[float], float | None, str]:
    """`samples` of a request to `srv`, the server's CPU milliseconds per request, and a note
    when a slow question was asked fewer times."""
    started = time.perf_counter()
    call()
    first_ms = (time.perf_counter() - started) * 1000
    note, warmup = "", 1
    if first_ms > SLOW_MS and repeat > SLOW_REPEAT:
        repeat, warmup = SLOW_REPEAT, 0
        note = f"; asked {repeat} times only (the first answer took {first_ms / 1000:.1f} s)"
    before = srv.cpu_seconds()
    found = samples(call, repeat, warmup=warmup)
    after = srv.cpu_seconds()
    if before is None or after is None:
        return found, None, note
    return found, (after - before) * 1000 / (repeat + warmup), note


def graphql(client: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = client.post("/graphql", json={"query": query, "variables": variables or {}})
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(str(body.get("errors") or body)[:300])
    return body["data"]


class Level:
    """The figures of one level of the log, judged against the targets when it is the last."""

    def __init__(self, backend: str, events: int, judged: bool, busy_note: str) -> None:
        self.backend = backend
        self.events = events
        self.judged = judged
        self.busy_note = busy_note
        self.figures: list[Figure] = []

    def add(
        self,
        name: str,
        value: float | None,
        unit: str,
        *,
        target: str = "",
        met: bool | None = None,
        note: str = "",
        floor_name: str = "",
        floor: float | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        if not self.judged:
            met = None
        elif target and self.busy_note:
            met, note = None, f"{note}; {self.busy_note}" if note else self.busy_note
        self.figures.append(
            Figure(
                suite=SUITE,
                name=f"{self.events:,} events: {name}",
                backend=self.backend,
                value=None if value is None else round(value, 2),
                unit=unit,
                floor_name=floor_name,
                floor=None if floor is None else round(floor, 2),
                target=target if self.judged else "",
                met=met,
                note=note,
                extra=extra or {},
            )
        )

    def asked(
        self,
        srv: Server,
        name: str,
        call: Callable[[], Any],
        repeat: int,
        target_ms: float,
        relative_to: list[float] | None = None,
    ) -> list[float]:
        """The p95 figure of a question asked `repeat` times, or, when an answer fails or times
        out, a figure saying so: the other figures of the run are kept."""
        try:
            found, spent, note = served(srv, call, repeat)
        except (httpx.HTTPError, RuntimeError) as error:
            self.add(
                f"{name}, p95",
                None,
                "ms (lower is better)",
                target=f"p95 < {target_ms:.0f} ms",
                met=False,
                note=f"failed: {error!r} (the client waits {REQUEST_TIMEOUT_S} s per answer)",
            )
            return []
        if relative_to:
            ratio = percentile(found, 95) / percentile(relative_to, 95)
            note += f"; {ratio:.1f}x the live portfolio's p95"
        self.latency(name, found, target_ms, note=note, cpu_ms=spent)
        return found

    def latency(
        self,
        name: str,
        found: list[float],
        target_ms: float | None,
        note: str = "",
        cpu_ms: float | None = None,
    ) -> None:
        """A p95 figure; `cpu_ms`, the server's CPU per request (unlike the wall clock, not
        inflated by other processes on a busy machine)."""
        p95 = percentile(found, 95)
        cpu = "" if cpu_ms is None else f", server CPU {cpu_ms:.1f} ms/request"
        self.add(
            f"{name}, p95",
            p95,
            "ms (lower is better)",
            target=f"p95 < {target_ms:.0f} ms" if target_ms else "",
            met=p95 < target_ms if target_ms else None,
            note=f"p50 {percentile(found, 50):.1f} ms, {len(found)} requests{cpu}" + note,
            extra={"p50_ms": percentile(found, 50), "samples": len(found), "cpu_ms": cpu_ms},
        )


def measure_level(
    services: Services,
    level: Level,
    writer: Writer,
    work_dir: Path,
    repeat: int,
    first_known_at: datetime,
) -> None:
    backend, head = level.backend, level.events
    with progress() as bar:
        task = bar.add_task(f"{backend}: rebuilding every projection", total=head)
        started, cpu = time.perf_counter(), cpu_seconds()
        results = rebuild_all(
            services,
            PROJECTIONS,
            on_progress=lambda p, total: bar.update(task, completed=p, total=total),
        )
        rebuilt = time.perf_counter() - started
        rebuilt_cpu = cpu_seconds() - cpu
    floor = executemany_floor(services, min(head, FLOOR_ROWS))
    rate = head / rebuilt
    target = TARGETS[f"rebuild_{backend}"]
    level.add(
        "rebuild of every projection (temporal included)",
        rate,
        "events/s (higher is better)",
        target=f">= {target:,.0f} events/s",
        met=rate >= target,
        floor_name=f"Core executemany, {min(head, FLOOR_ROWS):,} rows, 1 transaction",
        floor=floor,
        note=f"{rebuilt:.0f} s; {head / rebuilt_cpu:,.0f} events per CPU-second of the "
        "bench's processes; "
        f"{sum(r.events for r in results) // len(results):,} events replayed per projection",
        extra={"seconds": rebuilt, "cpu_seconds": rebuilt_cpu},
    )

    with progress() as bar:
        task = bar.add_task(f"{backend}: audit verify", total=head)
        started = time.perf_counter()
        report = verify(
            services.application,
            on_progress=lambda p, total: bar.update(task, completed=p, total=total),
        )
        verified = time.perf_counter() - started
    level.add(
        "audit verify",
        verified,
        "s (lower is better)",
        target=f"< {TARGETS['verify_s']:.0f} s",
        met=verified < TARGETS["verify_s"] and report.intact,
        note=f"{report.events / verified:,.0f} events/s; intact: {report.intact}",
    )
    size = database_bytes(services)
    level.add(
        "database size per event",
        size / head,
        "bytes/event",
        note=f"{size / 2**20:,.0f} MiB in all (event log, hashes, read models, indexes)",
    )
    level.add("peak memory of the bench process (writer, rebuild, verify)", peak_rss_mb(), "MiB")

    _, viewer = create_token(services.application, Role.VIEWER, name="national")
    sample_id = writer.project_ids[len(writer.project_ids) // 2]
    year_ends = [date(year, 12, 31).isoformat() for year in range(2019, writer.today.year)]
    with serve(
        services.settings.database_url, work_dir, projector=False, name=f"national-{backend}-{head}"
    ) as srv:
        with httpx.Client(
            base_url=srv.base_url,
            headers={"Authorization": f"Bearer {viewer}"},
            timeout=REQUEST_TIMEOUT_S,
        ) as client:
            dashboards = TARGETS["dashboards_ms"]
            for name, (query, _) in QUERIES.items():
                ask = functools.partial(graphql, client, query)
                level.asked(srv, f"dashboard: {name}", ask, repeat, dashboards)
            live = level.asked(
                srv,
                "dashboard: live portfolio (the time-travel query's base)",
                lambda: graphql(client, PORTFOLIO),
                repeat,
                dashboards,
            )
            ends = iter(year_ends * (repeat + 10))
            known = first_known_at.isoformat()
            travel: list[tuple[str, Callable[[], Any]]] = [
                (
                    "portfolio(on:) at a year end",
                    lambda: graphql(client, PORTFOLIO, {"on": next(ends)}),
                ),
                (
                    "portfolio(on:, asKnownAt:) as known at the first level",
                    lambda: graphql(client, PORTFOLIO, {"on": next(ends), "known": known}),
                ),
                (
                    "project(on:, asKnownAt:)",
                    lambda: graphql(
                        client, PROJECT_ON, {"id": sample_id, "on": next(ends), "known": known}
                    ),
                ),
                (
                    "portfolioChanges(from:, to:) over a year",
                    lambda: graphql(client, CHANGES, {"from": "2024-01-01", "to": "2024-12-31"}),
                ),
            ]
            for name, call in travel:
                level.asked(
                    srv, f"time travel: {name}", call, repeat, TARGETS["time_travel_ms"], live
                )
        level.add("peak memory of the server process", srv.peak_rss_mb(), "MiB")


def run(backend: str, work_dir: Path, *, events: int = 1_000_000, repeat: int = 30) -> list[Figure]:
    """The national run on `backend`: figures at a tenth of `events`, then at `events`."""
    start = Load.now()
    load, cores = start.one, start.cpus
    busy_note = "" if start.quiet else f"not judged: {start.describe()}"
    figures: list[Figure] = []
    with fresh_database(backend, server_url()) as url, open_services(url) as services:
        writer = Writer(services, events)
        writer.start()
        first_known_at = datetime.now(UTC)
        levels = (events // 10, events)
        before = 0
        for index, target in enumerate(levels):
            with progress() as bar:
                task = bar.add_task(f"{backend}: writing the log up to {target:,}", total=target)
                started = time.perf_counter()
                writer.write_until(target, lambda h, b=bar, t=task: b.update(t, completed=h))
                written = time.perf_counter() - started
            # The tokens each level creates are events too: the head is read, not counted.
            head = head_position(services)
            if index == 0:
                first_known_at = datetime.now(UTC)
            level = Level(backend, head, judged=index == len(levels) - 1, busy_note=busy_note)
            level.add(
                "log written (domain methods, TrackerApplication.save)",
                (head - before) / written,
                "events/s",
                note=f"{len(writer.project_ids):,} projects in {LABS} labs, "
                f"{len(writer.project_ids) // PROJECTS_PER_TRAINING + 1:,} training actions; "
                f"load average at the start {load:.1f} on {cores} cores",
            )
            measure_level(services, level, writer, work_dir, repeat, first_known_at)
            figures.extend(level.figures)
            before = head_position(services)
    return figures
