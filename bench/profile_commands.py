"""Where a command's server CPU goes: `py-spy` on a real `tracker serve` under `wrk` load.

    .venv/bin/pip install py-spy      # not a dependency of tracker
    .venv/bin/python -m bench.profile_commands --backend postgresql [--seconds 15]
        [--connections 64] [--no-projector] [--idle] [--out profile.txt]

Sets up the commands suite's store (bench/commands.py: 1,000 projects of one lab, a staff
token), starts `tracker serve --no-migrate` (production settings), warms it up, then runs
`wrk` and `py-spy record --format raw` on the server at the same time. It prints the
server's CPU per command over the profiled window, and the samples by layer (the innermost
frame's package, grouped: the HTTP edge, the application, the store, the projector…),
then the functions with the most own samples. With `--gil` (default) only the thread that
holds the GIL is sampled: the interpreter's time, which is what limits one process.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.commands import ERROR_KINDS, LAB, LUA, PROJECTS
from bench.common import fresh_database, open_services, server_url
from bench.loader import register_bench_projects
from bench.server import serve
from tracker.application.access import Role, create_token

PY_SPY = Path(sys.executable).parent / "py-spy"

# The innermost frame's file, by path fragment, to a layer (first match wins).
LAYERS = (
    ("projections/", "projector (in-process)"),
    ("tracker/api/", "tracker.api (routes, deps, middleware)"),
    ("tracker/application/", "tracker.application (commands, group commit)"),
    ("tracker/store/", "tracker.store"),
    ("tracker/config/", "tracker.config (logging)"),
    ("domain/", "domain (decide, apply)"),
    ("tracker/", "tracker (other)"),
    ("fastapi/", "fastapi (dependency solving, validation, serialisation)"),
    ("starlette/", "starlette (routing, responses, threadpool)"),
    ("anyio/", "anyio (thread hops)"),
    ("uvicorn/", "uvicorn (HTTP protocol)"),
    ("pydantic", "pydantic"),
    ("structlog/", "structlog"),
    ("prometheus_client/", "prometheus_client (metrics)"),
    ("eventsourcing/", "eventsourcing (repository, recorder, mapper)"),
    ("psycopg_pool/", "psycopg_pool"),
    ("psycopg/", "psycopg"),
    ("sqlalchemy/", "sqlalchemy"),
    ("asyncio/", "asyncio"),
    ("threading.py", "threading (thread hops)"),
    ("concurrent/", "concurrent.futures (thread hops)"),
    ("json/", "json"),
    ("logging/", "logging"),
    ("copy.py", "copy (aggregate cache deep copy)"),
    ("uuid.py", "uuid"),
    ("inspect.py", "inspect (called by fastapi)"),
    ("typing.py", "typing"),
    ("contextvars", "contextvars"),
)

# Frames anywhere in a stack (inclusive samples): what each step of a command costs.
STEPS = (
    ("projector thread", "projections/"),
    ("uvicorn protocol (parse, send)", "httptools_impl.py"),
    ("metrics middleware", "MetricsMiddleware"),
    ("request-context middleware (+ access log)", "RequestContextMiddleware"),
    ("FastAPI solve_dependencies", "solve_dependencies"),
    ("  of which the token lookup", "current_principal"),
    ("FastAPI body validation", "_validate_value_with_model_field"),
    ("FastAPI response serialisation", "serialize_response"),
    (
        "the route in its worker thread (tracker/api/commands.py execute)",
        "execute (tracker/api/commands.py",
    ),
    ("  of which Repository.get (aggregate read)", "Repository.get"),
    ("  of which the group commit (leader's save)", "group_commit.py"),
    ("structlog (anywhere)", "structlog/"),
    ("JSONResponse.render", "JSONResponse.render"),
)


def layer(frame: str) -> str:
    for fragment, name in LAYERS:
        if f"({fragment}" in frame or f"/{fragment}" in frame:
            return name
    return "other: " + frame.rsplit("(", 1)[-1].split(":")[0]


def summarise(raw: Path, top: int = 25, steps: tuple[tuple[str, str], ...] = STEPS) -> str:
    """The samples by layer, by step (`steps`: a name and a frame's marker) and the top
    functions by own samples, from py-spy's raw output."""
    by_layer: collections.Counter[str] = collections.Counter()
    by_function: collections.Counter[str] = collections.Counter()
    by_step: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        innermost = stack.rsplit(";", 1)[-1]
        total += count
        by_layer[layer(innermost)] += count
        by_function[innermost] += count
        for name, marker in steps:
            if marker in stack:
                by_step[name] += count
    lines = [f"{total} samples", "", "| layer (innermost frame) | share |", "|---|---|"]
    small = sum(n for n in by_layer.values() if n / total < 0.005)
    lines += [
        f"| {name} | {100 * n / total:.1f}% |"
        for name, n in by_layer.most_common()
        if n / total >= 0.005
    ]
    lines.append(f"| the rest (under 0.5% each) | {100 * small / total:.1f}% |")
    lines += ["", "| step (inclusive) | share |", "|---|---|"]
    lines += [f"| {name} | {100 * by_step[name] / total:.1f}% |" for name, _ in steps]
    lines += ["", f"top {top} functions by own samples:"]
    lines += [f"{100 * n / total:5.1f}%  {name}" for name, n in by_function.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_commands")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--no-projector", action="store_true")
    parser.add_argument("--idle", action="store_true", help="sample every thread, idle ones too")
    parser.add_argument("--out", type=Path, help="also write the summary here")
    args = parser.parse_args(argv)
    if not PY_SPY.exists():
        print(f"py-spy is not installed: {PY_SPY} (pip install py-spy)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="tracker-profile-") as folder:
        work = Path(folder)
        with fresh_database(args.backend, server_url()) as url:
            with open_services(url) as services:
                ids = register_bench_projects(services, LAB, PROJECTS)
                _, token = create_token(services.application, Role.STAFF, lab=LAB, name="bench")
            ids_file = work / "ids.txt"
            ids_file.write_text("\n".join(str(i) for i in ids) + "\n")
            with serve(url, work, projector=not args.no_projector, name="profile") as server:
                env = {"BENCH_TOKEN": token, "BENCH_IDS": str(ids_file), "PATH": "/usr/bin:/bin"}
                wrk = ["wrk", "-t2", "--timeout", "10s", "-s", str(LUA), server.base_url]
                subprocess.run([*wrk, "-c4", "-d2s"], env=env, capture_output=True, check=True)
                raw = work / "profile.raw"
                spy = [str(PY_SPY), "record", "--format", "raw", "--rate", "200"]
                spy += ["--duration", str(args.seconds), "--pid", str(server.pid), "-o", str(raw)]
                spy += ["--idle"] if args.idle else ["--gil"]
                cpu = server.cpu_seconds()
                started = time.perf_counter()
                load = subprocess.Popen(
                    [*wrk, f"-c{args.connections}", f"-d{args.seconds}s"],
                    env=env,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                subprocess.run(spy, check=True, capture_output=True)
                out, _ = load.communicate()
                spent = (server.cpu_seconds() or 0.0) - (cpu or 0.0)
                elapsed = time.perf_counter() - started
        result = next(
            json.loads(line.removeprefix("BENCH_JSON "))
            for line in out.splitlines()
            if line.startswith("BENCH_JSON ")
        )
        requests = int(result["requests"])
        errors = sum(int(result[kind]) for kind in ERROR_KINDS)
        if args.out:
            args.out.with_suffix(".raw").write_text(raw.read_text())
        header = (
            f"{args.backend}, {args.connections} connections, projector "
            f"{'apart' if args.no_projector else 'in-process'}: {requests} commands in "
            f"{elapsed:.1f} s ({requests / elapsed:.0f}/s), server CPU "
            f"{1000 * spent / max(1, requests):.2f} ms/command, {errors} errors, "
            f"{os.getloadavg()[0]:.1f} load average"
        )
        summary = header + "\n\n" + summarise(raw)
    print(summary)
    if args.out:
        args.out.write_text(summary + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
