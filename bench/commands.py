"""Commands over HTTP: a real `tracker serve` loaded by `wrk` at 16 and 64 connections.

The server runs as in production (`TRACKER_ENV=production`, the projector in-process, which
follows the writes while they happen). `wrk` (C, its own process, 2 threads) posts
`POST /api/v1/projects/{id}/health` with a staff token, rotating over `PROJECTS` projects
of one lab (bench/wrk/commands.lua). Each request is authenticated, checks the lab,
loads the project, decides, and saves through the group committer.

A second configuration, at 64 connections only, runs the API with `--no-projector` and the
projections in a separate `tracker projector` process (the deployment for write-heavy
use): the API then has the interpreter to itself. A third, at 64 connections too, runs
`tracker serve --workers 2` (two API processes on one port, the projector in one of them):
its CPU per command sums the supervisor and both workers.

Floor: the eventsourcing library's own rate of one event per `save()` on the same kind of
fresh database, in the same run (`bench.store_save.measure`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from bench.common import Figure, fresh_database, open_services, server_url
from bench.loader import register_bench_projects
from bench.server import projector_process, serve
from bench.store_save import measure
from tracker.application.access import Role, create_token

LUA = Path(__file__).resolve().parent / "wrk" / "commands.lua"
LAB = "banc-essai"
PROJECTS = 1_000
CONNECTIONS = (16, 64)
# The targets of docs/benchmarks.md: a rate against the floor, p99 and errors at 64
# connections, and the server's CPU per command (its own cost, whatever the floor).
TARGET_RATIO = {"postgresql": 1.0, "sqlite": 0.3}
P99_TARGET_MS = 250.0
CPU_TARGET_MS = 1.5
ERROR_KINDS = ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")


# `tracker serve --workers N`: one worker per core of the 2-core reference machine.
WORKERS = 2


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    base_url: str, token: str, ids_file: Path, connections: int, seconds: int
) -> dict[str, float]:
    """One wrk run; its JSON summary (latencies in microseconds)."""
    completed = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            base_url,
        ],
        env={"BENCH_TOKEN": token, "BENCH_IDS": str(ids_file), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            result: dict[str, float] = json.loads(line.removeprefix("BENCH_JSON "))
            result["stderr"] = completed.stderr.strip()[:500]  # type: ignore[assignment]
            return result
    msg = f"wrk printed no summary: {completed.stdout}\n{completed.stderr}"
    raise RuntimeError(msg)


def run(backend: str, work_dir: Path, *, quick: bool) -> list[Figure]:
    seconds = 5 if quick else 15
    floor_events = 500 if quick else 2_000
    # The floor is measured before and after the load, and averaged: the machine's other
    # work moves both, and the average sits beside the load in time.
    before = measure(backend, events=floor_events, rounds=1, server_url=server_url())
    floor_name = f"eventsourcing 1 event/save ({floor_events:,} saves, before+after)"
    figures: list[Figure] = []
    with fresh_database(backend, server_url()) as url:
        with open_services(url) as services:
            ids = register_bench_projects(services, LAB, PROJECTS)
            _, token = create_token(services.application, Role.STAFF, lab=LAB, name="bench")
        ids_file = work_dir / f"ids-{backend}.txt"
        ids_file.write_text("\n".join(str(i) for i in ids) + "\n")
        with serve(url, work_dir, name=f"serve-commands-{backend}") as server:
            # Warm up: imports, connection pools, the aggregate cache.
            run_wrk(server.base_url, token, ids_file, 4, 2)
            for connections in CONNECTIONS:
                cpu = server.cpu_seconds()
                result = run_wrk(server.base_url, token, ids_file, connections, seconds)
                result["server_cpu_s"] = _spent(cpu, server.cpu_seconds())
                figures.append(_figure(backend, connections, seconds, result, floor_name, ""))
            peak = server.peak_rss_mb()
        with (
            projector_process(url, work_dir),
            serve(url, work_dir, projector=False, name=f"serve-split-{backend}") as server,
        ):
            run_wrk(server.base_url, token, ids_file, 4, 2)
            cpu = server.cpu_seconds()
            result = run_wrk(server.base_url, token, ids_file, 64, seconds)
            result["server_cpu_s"] = _spent(cpu, server.cpu_seconds())
            figures.append(
                _figure(backend, 64, seconds, result, floor_name, ", --no-projector + projector")
            )
        with serve(url, work_dir, name=f"serve-workers-{backend}", workers=WORKERS) as server:
            run_wrk(server.base_url, token, ids_file, 4, 2)
            cpu = server.cpu_seconds()
            result = run_wrk(server.base_url, token, ids_file, 64, seconds)
            result["server_cpu_s"] = _spent(cpu, server.cpu_seconds())
            figures.append(
                _figure(backend, 64, seconds, result, floor_name, f", --workers {WORKERS}")
            )
        after = measure(backend, events=floor_events, rounds=1, server_url=server_url())
        floor = {
            "single_events_per_s": (before["single_events_per_s"] + after["single_events_per_s"])
            / 2,
            "before": before,
            "after": after,
        }
        for figure in figures:
            figure.floor = round(floor["single_events_per_s"], 1)
            figure.extra["floor"] = floor
            figure.met = _met(backend, figure)
        figures.append(
            Figure(
                suite="peak memory",
                name="API process (with projector) under the command load",
                backend=backend,
                value=None if peak is None else round(peak, 1),
                unit="MiB VmHWM",
                note="tracker serve, projector in-process",
            )
        )
    return figures


def _spent(before: float | None, after: float | None) -> float:
    return after - before if before is not None and after is not None else float("nan")


def _met(backend: str, figure: Figure) -> bool:
    extra = figure.extra
    met = (
        figure.value is not None
        and figure.floor is not None
        and figure.value >= TARGET_RATIO[backend] * figure.floor
        and extra["errors"] == 0
    )
    if extra["connections"] == 64:
        met = met and extra["p99_ms"] < P99_TARGET_MS
    return met and extra["server_cpu_ms_per_command"] <= CPU_TARGET_MS


def _figure(
    backend: str,
    connections: int,
    seconds: int,
    result: dict[str, float],
    floor_name: str,
    variant: str,
) -> Figure:
    """One wrk run as a figure (its floor and verdict are set once the floor is measured)."""
    rate = result["requests"] / (result["duration_us"] / 1e6)
    errors = int(sum(result[k] for k in ERROR_KINDS))
    p99 = result["p99_us"] / 1000
    # CPU time of the server process (all threads) per command: what the load costs the
    # server, whatever else the machine was doing.
    cpu_ms = 1000 * result["server_cpu_s"] / max(1, result["requests"])
    target = f">= {TARGET_RATIO[backend]}x floor, no errors"
    if connections == 64:
        target += f", p99 < {P99_TARGET_MS:.0f} ms"
    target += f", CPU <= {CPU_TARGET_MS} ms/command"
    return Figure(
        suite="commands over HTTP",
        name=f"{connections} connections{variant}: commands/s",
        backend=backend,
        value=round(rate, 1),
        unit="commands/s (higher is better)",
        floor_name=floor_name,
        target=target,
        note=(
            f"p50 {result['p50_us'] / 1000:.1f} ms, p99 {p99:.1f} ms, errors {errors}, "
            f"server CPU {cpu_ms:.1f} ms/command"
        ),
        extra={
            "connections": connections,
            "seconds": seconds,
            "requests": result["requests"],
            "p50_ms": result["p50_us"] / 1000,
            "p90_ms": result["p90_us"] / 1000,
            "p99_ms": p99,
            "max_ms": result["max_us"] / 1000,
            "errors": errors,
            "server_cpu_ms_per_command": cpu_ms,
            "wrk": result,
        },
    )
