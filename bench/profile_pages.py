"""Where a web page's server CPU goes: `py-spy` on the web suite's real `tracker serve`.

    .venv/bin/pip install py-spy      # not a dependency of tracker
    .venv/bin/python -m bench.profile_pages --backend sqlite --projects 200
        [--page "/comparaison?du=…&au=…"] [--seconds 10] [--full] [--out DIR]

Sets up a level of the web suite (bench/web_pages.py: the seed's portfolio, every
projection caught up, `tracker serve --no-projector`, an auditor signed in), then, page by
page (the suite's names; `--page`, repeatable, to pick some), asks the page in a loop
from one client while `py-spy record --gil` samples the server. It prints the server's CPU
per request over the window (its /proc CPU time: it does not grow when other processes
compete for the processors) and the samples by layer and by function
(bench/profile_commands.py's summary).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.profile_commands import PY_SPY, summarise
from bench.web_pages import served

# Frames anywhere in a stack (inclusive samples): what each step of a page costs.
STEPS = (
    ("the session and its principal", "signed_in ("),
    ("GraphQL execution (strawberry)", "strawberry/"),
    ("  of which the reads (projections/queries.py)", "projections/queries.py"),
    ("  of which SQLAlchemy", "sqlalchemy/"),
    ("charts (tracker/web/charts.py)", "tracker/web/charts.py"),
    ("templates (jinja2)", "jinja2/"),
    ("request-context middleware (+ access log)", "RequestContextMiddleware"),
    ("structlog (anywhere)", "structlog/"),
)


def _ask_until(client: httpx.Client, path: str, done: threading.Event) -> int:
    """Ask `path` again and again until `done`; how many times."""
    requests = 0
    while not done.is_set():
        client.get(path)
        requests += 1
    return requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_pages")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--full", action="store_true", help="full histories at any size")
    parser.add_argument("--page", action="append", help="a page's name in the web suite")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--out", type=Path, help="write each page's raw samples here")
    args = parser.parse_args(argv)
    if not PY_SPY.exists():
        print(f"py-spy is not installed: {PY_SPY} (pip install py-spy)", file=sys.stderr)
        return 2
    with (
        tempfile.TemporaryDirectory(prefix="tracker-profile-") as folder,
        served(args.backend, args.projects, Path(folder), args.full) as level,
    ):
        for name, (path, _) in level.pages.items():
            if args.page and name not in args.page:
                continue
            for _ in range(3):
                level.client.get(path)
            raw = Path(folder) / "profile.raw"
            spy = [str(PY_SPY), "record", "--format", "raw", "--rate", "200", "--gil"]
            spy += ["--duration", str(args.seconds), "--pid", str(level.server.pid)]
            spy += ["-o", str(raw)]
            done = threading.Event()
            cpu = level.server.cpu_seconds() or 0.0
            with ThreadPoolExecutor(1) as pool:
                asking = pool.submit(_ask_until, level.client, path, done)
                subprocess.run(spy, check=True, capture_output=True)
                done.set()
                requests = asking.result()
            spent = (level.server.cpu_seconds() or 0.0) - cpu
            print(
                f"## {name} ({args.backend}, {args.projects:,} projects, {level.loaded}):"
                f" {requests} requests, server CPU {1000 * spent / max(1, requests):.1f}"
                " ms/request\n"
            )
            print(summarise(raw, top=15, steps=STEPS) + "\n")
            if args.out:
                args.out.mkdir(parents=True, exist_ok=True)
                slug = "".join(c if c.isalnum() else "-" for c in name).strip("-")
                (args.out / f"{args.backend}-{args.projects}-{slug}.raw").write_text(
                    raw.read_text()
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
