"""Events/s of `save()` on a fresh SQLite file and a fresh PostgreSQL database.

Two stacks: (a) eventsourcing's own sqlite/postgres modules as tracker uses them
(`TrackerApplication`, tracker's settings, tables created by `tracker.store.migrate.upgrade`), and
(b) the eventsourcing-sqlalchemy bridge, when it is installed (it is not a dependency of
tracker: `pip install eventsourcing-sqlalchemy` to measure it). Two workloads: one event per
`save()`, and `save()` of 20 aggregates x 5 events.

    .venv/bin/python -m bench.store_save [--events 1000] [--rounds 20] [--backend sqlite ...]

PostgreSQL: the server of TRACKER_BENCH_POSTGRES_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres); each run creates its own database
and drops it afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.application import Application
from sqlalchemy.engine import make_url

from domain.meta import Meta
from domain.project import Project
from domain.values import Health, Territory
from tracker.application.service import TrackerApplication
from tracker.config.settings import Settings
from tracker.store import migrate

BACKENDS = ("sqlite", "postgresql")
STACKS = ("eventsourcing", "sqlalchemy")
STACK_NAMES = {"eventsourcing": "eventsourcing.sqlite/.postgres", "sqlalchemy": "sqlalchemy bridge"}
DEFAULT_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
AGGREGATES_PER_SAVE = 20
EVENTS_PER_AGGREGATE = 5
HEALTHS = list(Health)


class BridgeApplication(TrackerApplication):
    """tracker's application (same transcodings, snapshotting) on the SQLAlchemy bridge."""

    name = "bridge"

    def __init__(self, settings: Settings, url: str) -> None:
        self.settings = settings
        self.__dict__["snapshotting_intervals"] = {Project: settings.snapshot_interval}
        Application.__init__(
            self,
            env={
                "PERSISTENCE_MODULE": "eventsourcing_sqlalchemy",
                "SQLALCHEMY_URL": url,
                "CREATE_TABLE": "true",  # the bridge's own tables: Alembic does not know them
            },
        )


def bridge_installed() -> bool:
    return importlib.util.find_spec("eventsourcing_sqlalchemy") is not None


def _admin_conninfo(server_url: str) -> str:
    return make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def fresh_database(backend: str, server_url: str) -> Iterator[str]:
    """A brand-new database URL: a temporary SQLite file, or a PostgreSQL database."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_conninfo(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_admin_conninfo(server_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _open(stack: str, url: str) -> TrackerApplication:
    settings = Settings(database_url=url)
    if stack == "eventsourcing":
        migrate.upgrade(settings)
        return TrackerApplication(settings)
    bridge_url = url if url.startswith("postgresql") else url.replace("sqlite:", "sqlite+pysqlite:")
    return BridgeApplication(settings, bridge_url)


def _project(meta: Meta) -> Project:
    return Project.register(
        lab="bench-lab",
        title="Mesure",
        summary="",
        themes=["banc"],
        territories=[Territory("department", "21", 2024)],
        started_on=meta.today,
        meta=meta,
    )


def _rate(events: int, seconds: float) -> float:
    return round(events / seconds, 1) if seconds > 0 else float("inf")


def measure(
    backend: str,
    stack: str = "eventsourcing",
    events: int = 1000,
    rounds: int = 20,
    server_url: str = DEFAULT_SERVER_URL,
) -> dict[str, Any]:
    """Measure one stack on one fresh database; returns events/s of both workloads."""
    today = date.today()
    meta = Meta(actor="tok_bench", correlation_id="bench", occurred_on=today, today=today)
    with fresh_database(backend, server_url) as url:
        application = _open(stack, url)
        try:
            project = _project(meta)
            application.save(project)
            started = time.perf_counter()
            for i in range(events):
                project.assess_health(HEALTHS[i % len(HEALTHS)], meta)
                application.save(project)
            single = time.perf_counter() - started

            projects = [_project(meta) for _ in range(AGGREGATES_PER_SAVE)]
            application.save(*projects)
            started = time.perf_counter()
            for i in range(rounds):
                for each in projects:
                    for j in range(EVENTS_PER_AGGREGATE):
                        each.assess_health(HEALTHS[(i + j) % len(HEALTHS)], meta)
                application.save(*projects)
            batch = time.perf_counter() - started
        finally:
            application.close()
    batch_events = rounds * AGGREGATES_PER_SAVE * EVENTS_PER_AGGREGATE
    return {
        "backend": backend,
        "stack": stack,
        "single_events": events,
        "single_seconds": round(single, 3),
        "single_events_per_s": _rate(events, single),
        "batch_events": batch_events,
        "batch_seconds": round(batch, 3),
        "batch_events_per_s": _rate(batch_events, batch),
    }


def _postgres_reachable(server_url: str) -> bool:
    try:
        with psycopg.connect(_admin_conninfo(server_url), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def print_table(results: list[dict[str, Any]]) -> None:
    header = ("stack", "database", "1 event/save ev/s", "20x5 events/save ev/s")
    rows = [
        (
            STACK_NAMES[r["stack"]],
            r["backend"],
            f"{r['single_events_per_s']:,.0f}",
            f"{r['batch_events_per_s']:,.0f}",
        )
        for r in results
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)))


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1000, help="one-event saves per run")
    parser.add_argument("--rounds", type=int, default=20, help="saves of 20 x 5 events per run")
    parser.add_argument("--backend", choices=BACKENDS, action="append", help="default: both")
    args = parser.parse_args(argv)
    server_url = os.environ.get("TRACKER_BENCH_POSTGRES_URL", DEFAULT_SERVER_URL)
    backends = list(args.backend or BACKENDS)
    if "postgresql" in backends and not _postgres_reachable(server_url):
        print(f"skipping PostgreSQL: cannot connect to {make_url(server_url)!r}")
        backends.remove("postgresql")
    stacks = list(STACKS)
    if not bridge_installed():
        print("skipping the SQLAlchemy bridge: pip install eventsourcing-sqlalchemy to measure it")
        stacks.remove("sqlalchemy")
    results = [
        measure(backend, stack, args.events, args.rounds, server_url)
        for stack in stacks
        for backend in backends
    ]
    print_table(results)
    return results


if __name__ == "__main__":
    main()
