"""Projection catch-up and rebuild speed, in log events per second, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.rebuild_speed [--events 100000] [--backend sqlite|postgresql|both]

Writes a log of `--events` events quickly (labs, then projects of 50 events each, every
event type, built in memory and saved 20 aggregates per `save` through TrackerApplication),
then on the same database:

- catch-up: every projection from position 0 into its live tables (`ProjectionWorker`);
- rebuild: `projections.runner.rebuild` of every projection, one after the other (shadow
  replay and swap), as `tracker projections rebuild` does;
- rebuild_all: `projections.runner.rebuild_all`, every projection over one replay.

A rate is the log's events divided by the time all projections took (each projection
applies every event); it is also given per CPU-second of this process and of the replay
processes it started (`rebuild_all` on PostgreSQL; the database server's own time
excluded), which a machine shared with other work disturbs less. The
floor is one SQLAlchemy Core `executemany` of as many feed-shaped rows in one transaction.
SQLite runs in a temporary directory; PostgreSQL in a fresh database created on
TRACKER_BENCH_POSTGRES_URL (default postgres@127.0.0.1:5432) and dropped at the end.
`--profile FILE` writes a pyinstrument text profile of the rebuild.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bench.common import cpu_seconds
from bench.projections import executemany_floor
from domain.lab import Lab
from domain.meta import Meta
from domain.project import Project
from domain.values import (
    ActivityKind,
    ActivityMode,
    GateDecision,
    Health,
    Outcome,
    Phase,
    Territory,
)
from projections.runner import PROJECTIONS, ProjectionWorker, head_position, rebuild

try:  # absent before the projections replayed together (to measure the old code too)
    from projections.runner import rebuild_all
except ImportError:  # pragma: no cover
    rebuild_all = None  # type: ignore[assignment]
from tracker.application.services import Services
from tracker.config.logging import configure_logging
from tracker.config.settings import Settings
from tracker.store import migrate

EVENTS_PER_PROJECT = 50
AGGREGATES_PER_SAVE = 20
PROJECTS_PER_LAB = 100
TODAY = date(2026, 6, 15)
START = date(2025, 1, 6)
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
KINDS = list(ActivityKind)
MODES = [ActivityMode.IN_PERSON, ActivityMode.REMOTE, ActivityMode.HYBRID, None]


def meta(n: int) -> Meta:
    return Meta(
        actor=f"tok_bench{n % 7}",
        correlation_id=str(uuid.uuid4()),
        occurred_on=START + timedelta(days=n % 500),
        today=TODAY,
    )


def project_events(lab: str, i: int) -> Project:
    """A project with exactly `EVENTS_PER_PROJECT` events, every event type among them."""
    m = meta(i)
    p = Project.register(
        lab=lab,
        title=f"Projet {i}",
        summary="Construire avec les habitants.",
        themes=["culture", "ruralité"][: 1 + i % 2],
        territories=[Territory("department", "71", 2024), Territory("commune", "21231", 2024)],
        started_on=START,
        meta=m,
    )
    p.revise_details(m, title=f"Projet n°{i}")
    p.enter_phase(Phase.DISCOVERY, GateDecision.GO, m)
    p.assess_health(Health.AT_RISK, m, "retard")
    planned = [
        p.plan_milestone(f"Jalon {k}", START + timedelta(days=30 * k + i % 20), Phase.DISCOVERY, m)
        for k in range(1, 5)
    ]
    p.reschedule_milestone(planned[0], START + timedelta(days=200), m, "météo")
    p.achieve_milestone(planned[1], START + timedelta(days=40), "photos", m)
    p.cancel_milestone(planned[2], m, "inutile")
    partner = p.add_partner("Université", "recherche", m)
    indicator = p.define_indicator("Usagers", "personnes", 0, 100, m)
    for k in range(3):
        p.measure_indicator(indicator, 10 * k + i % 5, START + timedelta(days=10 * k), m)
    for k in range(20):
        held = START + timedelta(days=(7 * k + i) % 400)
        p.log_activity(KINDS[k % len(KINDS)], f"Séance {k}", held, k % 30, m, mode=MODES[k % 4])
    for k in range(4):
        p.commit_funding(["Région", "État"][k % 2], 100_000 * (k + 1), 2025 + k % 2, m)
    p.record_decision("Choix", "Pilote", "Moins cher", m)
    p.record_decision("Échelle", "Trois communes", "Budget", m)
    p.enter_phase(Phase.DISCOVERY.next() or Phase.DISCOVERY, GateDecision.GO, m)
    p.remove_partner(partner, m)
    p.assess_health(Health.ON_TRACK, m, "rattrapé")
    p.close(Outcome.HANDED_OVER, m, "transmis")
    p.reopen(m, "nouvelle saison")
    for k in range(3):
        p.log_activity(ActivityKind.WEBINAR, f"Webinaire {k}", START, 5 + k, m)
    assert p.version == EVENTS_PER_PROJECT, p.version
    return p


def write_log(services: Services, events: int) -> int:
    """Save about `events` events; the number of events in the log."""
    application = services.application
    projects = max(1, events // EVENTS_PER_PROJECT)
    labs = [f"lab-bench-{k}" for k in range((projects + PROJECTS_PER_LAB - 1) // PROJECTS_PER_LAB)]
    application.save(*[Lab.register(slug, f"Lab {slug}", "27", meta(0)) for slug in labs])
    batch: list[Project] = []
    for i in range(projects):
        batch.append(project_events(labs[i // PROJECTS_PER_LAB], i))
        if len(batch) == AGGREGATES_PER_SAVE:
            application.save(*batch)
            batch = []
    if batch:
        application.save(*batch)
    return head_position(services)


@contextlib.contextmanager
def database(backend: str) -> Iterator[str]:
    """A fresh, empty database URL on `backend`, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="rebuild_speed_") as directory:
            yield f"sqlite:///{Path(directory) / 'tracker.db'}"
        return
    server = os.environ.get("TRACKER_BENCH_POSTGRES_URL", DEFAULT_SERVER)
    admin = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"rebuild_speed_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure(backend: str, events: int, profile: str | None) -> dict[str, Any]:
    with database(backend) as url:
        settings = Settings(database_url=url)
        migrate.upgrade(settings)
        services = Services.open(settings)
        try:
            started = time.perf_counter()
            head = write_log(services, events)
            written = time.perf_counter() - started
            floor = executemany_floor(services, head)

            started, cpu = time.perf_counter(), cpu_seconds()
            for projection in PROJECTIONS:
                ProjectionWorker(services, projection).run_until_caught_up()
            catch_up = time.perf_counter() - started
            catch_up_cpu = cpu_seconds() - cpu

            profiler: Any = None
            if profile:
                from pyinstrument import Profiler

                profiler = Profiler()
                profiler.start()
            started, cpu = time.perf_counter(), cpu_seconds()
            results = [rebuild(services, projection) for projection in PROJECTIONS]
            rebuilt = time.perf_counter() - started
            rebuilt_cpu = cpu_seconds() - cpu
            together = together_cpu = math.nan
            if rebuild_all is not None:
                started, cpu = time.perf_counter(), cpu_seconds()
                rebuild_all(services, PROJECTIONS)
                together = time.perf_counter() - started
                together_cpu = cpu_seconds() - cpu
            if profiler is not None:
                profiler.stop()
                Path(f"{profile}.{backend}.txt").write_text(
                    profiler.output_text(unicode=True, show_all=False)
                )
            assert all(r.events == head for r in results), [r.events for r in results]
        finally:
            services.close()
    return {
        "backend": backend,
        "events": head,
        "write_events_per_s": head / written,
        "catch_up_events_per_s": head / catch_up,
        "rebuild_events_per_s": head / rebuilt,
        "rebuild_all_events_per_s": head / together,
        "catch_up_events_per_cpu_s": head / catch_up_cpu,
        "rebuild_events_per_cpu_s": head / rebuilt_cpu,
        "rebuild_all_events_per_cpu_s": head / together_cpu,
        "load_average": os.getloadavg()[0],
        "rebuild_seconds": {r.name: round(r.seconds, 2) for r in results},
        "floor_rows_per_s": floor,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--profile", help="write a pyinstrument profile of the rebuild")
    arguments = parser.parse_args()
    configure_logging("console", "ERROR")
    backends = ["sqlite", "postgresql"] if arguments.backend == "both" else [arguments.backend]
    for backend in backends:
        figures = measure(backend, arguments.events, arguments.profile)
        print(
            f"{backend:10} {figures['events']:>9,} events  "
            f"write {figures['write_events_per_s']:>8,.0f}/s  "
            f"catch-up {figures['catch_up_events_per_s']:>8,.0f}/s  "
            f"rebuild {figures['rebuild_events_per_s']:>8,.0f}/s {figures['rebuild_seconds']}  "
            f"rebuild_all {figures['rebuild_all_events_per_s']:>8,.0f}/s  "
            f"floor {figures['floor_rows_per_s']:>8,.0f} rows/s  |  per CPU-second of the bench's "
            f"processes: catch-up {figures['catch_up_events_per_cpu_s']:,.0f}, "
            f"rebuild {figures['rebuild_events_per_cpu_s']:,.0f}, "
            f"rebuild_all {figures['rebuild_all_events_per_cpu_s']:,.0f}  "
            f"(load average {figures['load_average']:.1f})",
            flush=True,
        )


if __name__ == "__main__":
    main()
