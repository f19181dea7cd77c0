"""The server's CPU per command, in-process: the ASGI app driven directly, no socket.

    .venv/bin/python -m bench.edge_cpu --backend postgresql [--commands 3000]
        [--concurrency 32] [--no-projector] [--profile FILE.prof] [--rounds 3]

`bench.commands` measures a real `tracker serve` under `wrk`, and its CPU per command moves
by ±1.5 ms between two runs of the same code on a loaded machine. This harness measures the
same command (`POST /api/v1/projects/{id}/health`, a staff token, rotating over 1,000
projects of one lab) with the least around it: the app built by `create_app` (production
settings, the projector in-process unless `--no-projector`, its lifespan run), called as an
ASGI application by `--concurrency` asyncio tasks (on uvloop) with a scope like uvicorn's. What it
reports is the process's CPU time (`time.process_time`: every thread, the route's worker
threads, the group commit and the projector included) per command, over `--rounds`
rounds: the cost of the app, without uvicorn's HTTP parsing and the socket writes (those
are in `bench.profile_commands`). The client's own share is a few dictionaries per
command. Use it for A/B comparisons of the edge, run back to back on the same machine;
`--profile` writes a cProfile of one more round (slower: read shares, not times);
`--spy FILE` samples the measured rounds with `py-spy record --gil` (`pip install py-spy`);
`--per-projection` adds each projection's CPU per event (its worker's thread time, SQLite's
statements included: they run in this process), over the warm-up and the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop

from bench.commands import LAB, PROJECTS
from bench.common import fresh_database, open_services, server_url
from bench.loader import register_bench_projects
from projections.runner import ProjectionWorker
from tracker.application.access import Role, create_token
from tracker.asgi import create_app
from tracker.config.logging import configure_logging
from tracker.config.settings import Settings

HEALTHS = (b'{"health":"on_track"}', b'{"health":"at_risk"}', b'{"health":"off_track"}')


def _scope(path: str, token: str, body: bytes) -> dict[str, Any]:
    # What uvicorn (httptools) passes for the same request.
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 40000),
        "scheme": "http",
        "root_path": "",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"authorization", b"Bearer " + token.encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "state": {},
    }


async def _post(app: Callable[..., Awaitable[None]], path: str, token: str, body: bytes) -> int:
    sent = False
    finished = asyncio.Event()
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif not message.get("more_body", False):
            finished.set()

    await app(_scope(path, token, body), receive, send)
    return status


async def _load(app: Any, token: str, ids: list[str], commands: int, concurrency: int) -> int:
    """Send `commands` commands from `concurrency` tasks; the number of non-2xx answers."""
    counter = iter(range(commands))
    errors = 0

    async def client(offset: int) -> None:
        nonlocal errors
        for n in counter:
            step = n * 7919 + offset * 104729
            path = f"/api/v1/projects/{ids[step % len(ids)]}/health"
            status = await _post(app, path, token, HEALTHS[step % len(HEALTHS)])
            if not 200 <= status < 300:
                errors += 1

    await asyncio.gather(*(client(i) for i in range(concurrency)))
    return errors


async def _measure(
    args: argparse.Namespace, url: str, token: str, ids: list[str]
) -> dict[str, Any]:
    settings = Settings(database_url=url, env="production", log_level=args.log_level)
    app = create_app(settings, run_projector=not args.no_projector, run_webhooks=False)
    rounds: list[dict[str, float]] = []
    async with app.router.lifespan_context(app):
        await _load(app, token, ids, 2 * len(ids), args.concurrency)  # warm up: every cache
        spy = _start_spy(args.spy) if args.spy else None
        for _ in range(args.rounds):
            cpu, wall = time.process_time(), time.perf_counter()
            errors = await _load(app, token, ids, args.commands, args.concurrency)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            rounds.append(
                {
                    "cpu_ms_per_command": 1000 * cpu / args.commands,
                    "commands_per_s": args.commands / wall,
                    "errors": errors,
                }
            )
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its samples when interrupted
            spy.wait()
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            await _load(app, token, ids, args.commands, args.concurrency)
            profiler.disable()
            profiler.dump_stats(args.profile)
    cpu_values = [r["cpu_ms_per_command"] for r in rounds]
    return {
        "backend": args.backend,
        "projector": not args.no_projector,
        "commands": args.commands,
        "concurrency": args.concurrency,
        "rounds": rounds,
        "cpu_ms_per_command_median": statistics.median(cpu_values),
        "cpu_ms_per_command_min": min(cpu_values),
        "load_average": list(os.getloadavg()),
    }


def _count_projections() -> dict[str, list[float]]:
    """Wrap `ProjectionWorker.run_batch`: per projection, [thread CPU seconds, events]."""
    spent: dict[str, list[float]] = {}
    run_batch = ProjectionWorker.run_batch

    def counted(self: ProjectionWorker, page: Any = None) -> int:
        started = time.thread_time()
        applied = run_batch(self, page)
        total = spent.setdefault(self.name, [0.0, 0.0])
        total[0] += time.thread_time() - started
        total[1] += max(applied, 0)
        return applied

    ProjectionWorker.run_batch = counted  # type: ignore[method-assign]
    return spent


def _start_spy(out: Path) -> subprocess.Popen[bytes]:
    """`py-spy record --gil` on this process, until interrupted (raw output: summarise it
    with `bench.profile_commands.summarise`)."""
    spy = Path(sys.executable).parent / "py-spy"
    command = [str(spy), "record", "--gil", "--rate", "250", "--format", "raw"]
    command += ["--pid", str(os.getpid()), "--output", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # let it attach before the measured rounds
    return process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.edge_cpu")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--commands", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-projector", action="store_true")
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--per-projection", action="store_true")
    parser.add_argument("--profile", type=Path, help="write a cProfile of one more round here")
    parser.add_argument(
        "--spy", type=Path, help="py-spy (--gil, raw) the measured rounds into this file"
    )
    args = parser.parse_args(argv)
    configure_logging("json", args.log_level)
    spent = _count_projections() if args.per_projection else {}
    with fresh_database(args.backend, server_url()) as url:
        with open_services(url) as services:
            ids = [str(i) for i in register_bench_projects(services, LAB, PROJECTS)]
            _, token = create_token(services.application, Role.STAFF, lab=LAB, name="bench")
        # uvloop, as `tracker serve` runs (uvicorn[standard]).
        result = uvloop.run(_measure(args, url, token, ids))
    rounds = ", ".join(f"{r['cpu_ms_per_command']:.2f}" for r in result["rounds"])
    print(
        f"{args.backend}, projector {'in-process' if result['projector'] else 'off'}, "
        f"{args.concurrency} tasks: CPU per command {result['cpu_ms_per_command_median']:.2f} ms "
        f"(median of rounds: {rounds}), {result['rounds'][-1]['commands_per_s']:.0f}/s, "
        f"errors {sum(r['errors'] for r in result['rounds'])}, "
        f"load average {result['load_average'][0]:.1f}"
    )
    for name, (cpu, events) in spent.items():
        print(f"  {name}: {1000 * cpu / max(events, 1):.3f} ms of CPU per event ({events:.0f})")
    print("BENCH_JSON " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
