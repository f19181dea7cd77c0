"""Projection catch-up and full rebuild, in events/s, over a log of ≥ 100,000 events.

The log is the seed's portfolio (`bench.loader.load_portfolio`: real commands, saved in
batches), as many projects as make `events` events (10,000 projects ≈ 300,000 events).

- catch-up: a `tracker projector` process started on the full log, timed until every
  projection's position reaches the head (its peak RSS is the projector's memory figure);
- rebuild: `projections.runner.rebuild_all` of every projection, as `tracker projections
  rebuild` runs it (blue/green: one replay of the log into every projection's shadow
  tables, then each swap), in this process, after the catch-up.

The catch-up is time-boxed (`budget` seconds; 0: no limit) so that the default run stays
short if the projections are slow: a time-boxed figure is the rate over the events
applied within the budget, and says so in its note. When the catch-up did not fit, the
rebuild is time-boxed too (replays into shadow tables, one projection after the other,
with the runner's worker, no swap); otherwise it is the whole `rebuild_all`.

Floor: SQLAlchemy Core `executemany` of as many rows as there are events, in one
transaction, into a scratch table shaped like the activity feed.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from bench.common import Figure, fresh_database, open_services, server_url
from bench.loader import SEED_PROJECTS_MAX, load_portfolio
from bench.server import peak_rss_mb, projector_process
from projections.runner import (
    PROJECTIONS,
    ProjectionWorker,
    committed_positions,
    head_position,
    rebuild_all,
    shadow_tables,
)
from tracker.application.services import Services

EVENTS_PER_SEED_PROJECT = 29.7  # tracker.application.seed's plan: about 30 commands per project
# Events/s of a full rebuild, temporal read models included (about half the raw insert floor).
REBUILD_TARGET = {"postgresql": 30_000.0, "sqlite": 20_000.0}


def executemany_floor(services: Services, rows: int) -> float:
    """Rows/s of one Core `executemany` of `rows` feed-shaped rows in one transaction."""
    metadata = sa.MetaData()
    scratch = sa.Table(
        "bench_executemany",
        metadata,
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("project_id", sa.String(100)),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("occurred_on", sa.Date, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
    )
    now, today = datetime.now(UTC), date.today()
    values = [
        {
            "position": i,
            "project_id": f"{i % 10_000:08d}-0000-0000-0000-000000000000",
            "event_type": "HealthAssessed",
            "version": i % 50 + 1,
            "actor": "tok_bench",
            "occurred_on": today,
            "recorded_at": now,
            "summary": "Santé : à surveiller",
        }
        for i in range(1, rows + 1)
    ]
    with services.engine.begin() as connection:
        metadata.create_all(connection)
    try:
        started = time.perf_counter()
        with services.engine.begin() as connection:
            connection.execute(scratch.insert(), values)
        seconds = time.perf_counter() - started
    finally:
        with services.engine.begin() as connection:
            metadata.drop_all(connection)
    return rows / seconds


def _catch_up(url: str, services: Services, head: int, budget: float, work_dir: Path) -> dict:
    started = time.perf_counter()
    with projector_process(url, work_dir) as process:
        position = 0
        while True:
            time.sleep(0.2)
            position = min(committed_positions(services).values())
            elapsed = time.perf_counter() - started
            if position >= head or (budget and elapsed > budget):
                break
            if process.poll() is not None:
                msg = f"tracker projector exited with {process.returncode}"
                raise RuntimeError(msg)
        peak = peak_rss_mb(process.pid)
    return {"events": position, "seconds": elapsed, "peak_rss_mb": peak}


def _rebuild(services: Services, head: int, budget: float) -> dict:
    """Every projection rebuilt as `tracker projections rebuild` does (`rebuild_all`: one
    replay of the log for all projections, then each swap); without a budget to fit in
    (`budget` 0), or when over it, time-boxed replays into shadows, one projection each."""
    if not budget:
        started = time.perf_counter()
        results = rebuild_all(services)
        seconds = time.perf_counter() - started
        events = max(r.events for r in results)
        return {"events": events, "seconds": seconds, "time_boxed": False}
    events, seconds, boxed = 0, 0.0, False
    per_projection = budget / len(PROJECTIONS)
    for projection in PROJECTIONS:
        started = time.perf_counter()
        shadows = shadow_tables(projection)
        name = f"{projection.name}__bench"
        with services.engine.begin() as connection:
            for shadow in shadows.values():
                shadow.drop(connection, checkfirst=True)
                shadow.create(connection)
        worker = ProjectionWorker(services, projection, tracking_name=name, tables=shadows)
        applied = 0
        while (done := worker.run_batch()) != 0:
            applied += max(done, 0)
            if time.perf_counter() - started > per_projection:
                break
        boxed = boxed or applied < head
        events += applied
        seconds += time.perf_counter() - started
        with services.engine.begin() as connection:
            for shadow in shadows.values():
                shadow.drop(connection, checkfirst=True)
    # Events per second of the whole rebuild: each event is applied by every projection.
    return {"events": events / len(PROJECTIONS), "seconds": seconds, "time_boxed": boxed}


def run(backend: str, work_dir: Path, *, events: int, budget: float) -> list[Figure]:
    projects = math.ceil(events / EVENTS_PER_SEED_PROJECT)
    seeds = tuple(range(42, 42 + math.ceil(projects / SEED_PROJECTS_MAX)))
    per_seed = min(projects, SEED_PROJECTS_MAX)
    figures: list[Figure] = []
    with fresh_database(backend, server_url()) as url, open_services(url) as services:
        loaded = load_portfolio(services.settings, per_seed, seeds)
        head = head_position(services)
        floor = executemany_floor(services, head)
        floor_name = f"Core executemany, {head:,} rows, 1 transaction"
        caught = _catch_up(url, services, head, budget, work_dir)
        rate = caught["events"] / caught["seconds"]
        boxed = caught["events"] < head
        figures.append(
            Figure(
                suite="projections",
                name=f"catch-up, {len(PROJECTIONS)} projections, tracker projector",
                backend=backend,
                value=round(rate, 1),
                unit="events/s (higher is better)",
                floor_name=floor_name,
                floor=round(floor, 1),
                note=(
                    f"{caught['events']:,} of {head:,} events in {caught['seconds']:.1f} s"
                    + (f" (time-boxed at {budget:.0f} s)" if boxed else "")
                ),
                extra={**caught, "head": head, "load": loaded.__dict__ | {"project_ids": None}},
            )
        )
        figures.append(
            Figure(
                suite="peak memory",
                name="projector process (catch-up)",
                backend=backend,
                value=None if caught["peak_rss_mb"] is None else round(caught["peak_rss_mb"], 1),
                unit="MiB VmHWM",
                note=f"tracker projector over {caught['events']:,} events",
            )
        )
        # The whole rebuild when the catch-up (the slower of the two) fitted in the budget.
        rebuilt = _rebuild(services, head, 0.0 if not boxed else budget)
        rate = rebuilt["events"] / rebuilt["seconds"]
        met = rate >= REBUILD_TARGET[backend]
        figures.append(
            Figure(
                suite="projections",
                name=f"full rebuild, {len(PROJECTIONS)} projections",
                backend=backend,
                value=round(rate, 1),
                unit="events/s (higher is better)",
                floor_name=floor_name,
                floor=round(floor, 1),
                target=f">= {REBUILD_TARGET[backend]:,.0f} events/s",
                met=met,
                note=(
                    f"{rebuilt['events']:,.0f} of {head:,} events in {rebuilt['seconds']:.1f} s"
                    + (
                        f" (time-boxed at {budget:.0f} s: shadow replay, no swap)"
                        if rebuilt["time_boxed"]
                        else ""
                    )
                ),
                extra={**rebuilt, "head": head},
            )
        )
    return figures
