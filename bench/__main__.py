"""tracker's benchmark suite: every figure beside its floor, on SQLite and PostgreSQL.

    .venv/bin/python -m bench [--quick] [--large] [--only NAME] [--backend sqlite|postgresql]
    .venv/bin/python -m bench --national [--national-events N] [--backend sqlite|postgresql]

Suites (`--only`, repeatable): commands, state, projections, dashboards, web, verify; `--national`
runs the national benchmark instead (bench/national.py). Prints one table
and writes bench/results/latest.json (the machine, versions, every figure, its floor and
the ratio). PostgreSQL: the server of TRACKER_BENCH_POSTGRES_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres); every suite creates a fresh
database there and drops it afterwards; SQLite files live in a temporary directory.
See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Figure, machine, postgres_available, server_url
from bench.machine import Load, verdict
from tracker.config.logging import configure_logging

SUITES = ("commands", "state", "projections", "dashboards", "web", "verify")
BACKENDS = ("sqlite", "postgresql")
RESULTS = Path(__file__).resolve().parent / "results"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, short runs (dev)")
    parser.add_argument("--large", action="store_true", help="1,000,000 events for the projections")
    parser.add_argument(
        "--national",
        action="store_true",
        help="the national benchmark only (bench/national.py): 135 labs, 30,000 projects,"
        " figures at 100,000 and 1,000,000 events",
    )
    parser.add_argument(
        "--national-events",
        type=int,
        default=1_000_000,
        help="the national log's size (its first level is a tenth of it; default 1,000,000)",
    )
    parser.add_argument("--only", action="append", choices=SUITES, help="default: every suite")
    parser.add_argument("--backend", action="append", choices=BACKENDS, help="default: both")
    parser.add_argument(
        "--projection-budget",
        type=float,
        default=None,
        help="seconds per projection measurement (0: none; default 40, --large: 0)",
    )
    parser.add_argument(
        "--full-dashboards",
        action="store_true",
        help="10,000 projects with their full seeded histories (~300,000 events to project),"
        " for the dashboards and the web pages",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    parser.add_argument(
        "--work-dir", type=Path, help="keep server logs and id files here (default: a temp dir)"
    )
    return parser.parse_args(argv)


def run_suite(name: str, backend: str, args: argparse.Namespace, work: Path) -> list[Figure]:
    if name == "national":
        from bench import national

        return national.run(backend, work, events=args.national_events)
    if name == "commands":
        from bench import commands

        if not commands.wrk_available():
            return [_skipped("commands over HTTP", backend, "wrk is not installed")]
        return commands.run(backend, work, quick=args.quick)
    if name == "verify":
        from bench import verify_speed

        return verify_speed.run(backend, quick=args.quick)
    if name == "state":
        from bench import state_load

        return state_load.run(backend, quick=args.quick)
    if name == "projections":
        from bench import projections

        events = 1_000_000 if args.large else 20_000 if args.quick else 100_000
        budget = args.projection_budget
        if budget is None:
            budget = 0.0 if args.large else 30.0 if args.quick else 40.0
        return projections.run(backend, work, events=events, budget=budget)
    levels = (200, 1_000) if args.quick else (200, 10_000)
    if name == "web":
        from bench import web_pages

        return web_pages.run(
            backend, work, levels=levels, repeat=20 if args.quick else 40, full=args.full_dashboards
        )
    from bench import dashboards

    return dashboards.run(
        backend, work, levels=levels, repeat=30 if args.quick else 60, full=args.full_dashboards
    )


def machine_load_now() -> list[float]:
    now = Load.now()
    return [now.one, now.five, now.fifteen]


def _skipped(suite: str, backend: str, why: str) -> Figure:
    return Figure(suite=suite, name="(skipped)", backend=backend, value=None, unit="", note=why)


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:,.1f}"
    return f"{value:,.2f}"


def table(figures: list[Figure], load: Load) -> str:
    """One Markdown table: every figure, its floor, the ratio, the target, and the verdict
    (none when the run started on a busy machine: bench/machine.py)."""
    header = ("database", "suite", "figure", "value", "unit", "floor", "floor value", "ratio")
    header += ("target", "met", "note")
    rows = [
        (
            f.backend,
            f.suite,
            f.name,
            _fmt(f.value),
            f.unit,
            f.floor_name or "–",
            _fmt(f.floor),
            "–" if f.ratio is None else f"{f.ratio:.3g}×",
            f.target or "–",
            verdict(f.met, load),
            f.note,
        )
        for f in figures
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell).replace("|", "/") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    configure_logging("console", "WARNING")
    load = Load.now()  # before any suite loads the machine itself
    print(load.describe(), file=sys.stderr, flush=True)
    started = time.perf_counter()
    backends = list(args.backend or BACKENDS)
    figures: list[Figure] = []
    if "postgresql" in backends and not postgres_available():
        print(f"skipping PostgreSQL: cannot connect to {server_url()}", file=sys.stderr)
        backends.remove("postgresql")
        figures.append(_skipped("all", "postgresql", "server not reachable"))
    suites = [s for s in SUITES if not args.only or s in args.only]
    if args.national:
        suites = ["national"]
    failures = 0
    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as folder:
        work = args.work_dir or Path(folder)
        work.mkdir(parents=True, exist_ok=True)
        for suite in suites:
            for backend in backends:
                print(f"… {suite} on {backend}", file=sys.stderr, flush=True)
                suite_started = time.perf_counter()
                try:
                    found = run_suite(suite, backend, args, work)
                except Exception as error:  # one broken suite must not hide the others
                    failures += 1
                    traceback.print_exc()
                    found = [_skipped(suite, backend, f"failed: {error!r}"[:200])]
                figures.extend(found)
                print(
                    f"  {suite} on {backend}: {time.perf_counter() - suite_started:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
    rendered = table(figures, load)
    print(rendered)
    print(f"\n{load.describe()}")
    if not load.quiet:
        print("The machine was busy at the start: no target is judged met or missed.")
    finished = datetime.now(UTC)
    report: dict[str, Any] = {
        "finished_at": finished.isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "arguments": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        # machine() reads the load average now, at the end: keep the start's (bench/machine.py).
        "machine": machine()
        | {
            "load_average_at_start": [load.one, load.five, load.fifteen],
            "load_average_at_end": machine_load_now(),
            "load_at_start": load.as_json(),
        },
        "judged": load.quiet,
        "figures": [
            f.as_json() | {"verdict": verdict(f.met, load).replace("*", "")} for f in figures
        ],
        "table_markdown": rendered,
    }
    # latest.json, plus a dated copy: the history stays in bench/results/, out of git.
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, default=str) + "\n"
    args.out.write_text(text)
    dated = args.out.parent / f"run-{finished:%Y%m%dT%H%M%SZ}.json"
    dated.write_text(text)
    if load.quiet:
        # The table to commit to docs/benchmarks.md is the last quiet run's.
        quiet = args.out.parent / "last-quiet.md"
        quiet.write_text(f"Run of {report['finished_at']}: {load.describe()}.\n\n{rendered}\n")
        print(f"wrote {quiet} (the table for docs/benchmarks.md)", file=sys.stderr)
    print(f"\nwrote {args.out} and {dated} in {report['seconds']:.0f} s", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
