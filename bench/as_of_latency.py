"""Latency of `portfolio(on:)`, `portfolio(on:, asKnownAt:)` and `portfolio(asOf:)` beside the
live `portfolio`, at the seed's 200 projects.

    .venv/bin/python -m bench.as_of_latency [--backend sqlite|postgresql|both] [--repeat N]

A fresh database per backend, seeded as `tracker seed` does (200 projects, seed 42), the
live portfolio and timeline projections caught up; then `POST /graphql` through the whole
app in this process (TestClient: auth, GraphQL, resolver thread, SQL), one query at a time:

- live: `portfolio` over the live tables;
- on: `portfolio(on:)` at the end of each year 2019-2025 (the timeline's slice);
- on + asKnownAt: the same as known half-way through the seed's recording;
- asOf: `portfolio(asOf:)` at a new instant each time ("cold": nothing is cached, so cold
  is warm).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from bench.common import fresh_database, open_services, percentile, postgres_available, server_url
from projections.portfolio import PortfolioProjection
from projections.runner import ProjectionWorker, head_position
from projections.timeline import TimelineProjection
from tracker.application.access import Role, create_token
from tracker.application.seed import seed_portfolio
from tracker.asgi import create_app

PROJECTS = 200
QUERY = """query($on: Date, $known: DateTime, $at: DateTime) {
  portfolio(on: $on, asKnownAt: $known, asOf: $at) {
  total byPhase { key label count } byHealth { key count } byStatus { key count }
  byLab { key count } byTerritory { key label count } byTheme { key count }
  milestones { open dueSoon overdue slipped achieved }
  activitiesByMonth { month activities participants } fundingByYear { year amountCents } } }"""


def _ms(samples: list[float]) -> str:
    return (
        f"p50 {percentile(samples, 50):7.1f} ms  p95 {percentile(samples, 95):7.1f} ms"
        f"  (n={len(samples)}, mean {statistics.fmean(samples):.1f})"
    )


def _time(call: Callable[[], Any], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def run(backend: str, repeat: int) -> None:
    with (
        fresh_database(backend, server_url()) as url,
        open_services(url, log_level="WARNING") as services,
    ):
        started = time.perf_counter()
        summary = seed_portfolio(services.application, PROJECTS)
        seeded = time.perf_counter() - started
        for projection in (PortfolioProjection, TimelineProjection):
            ProjectionWorker(services, projection).run_until_caught_up()
        head = head_position(services)
        print(f"\n{backend}: {summary.line()} ({seeded:.1f} s); {head:,} events in the log")
        app = create_app(services.settings, run_projector=False)
        with TestClient(app) as client:
            token = create_token(client.app.state.services.application, Role.VIEWER, name="bench")[
                1
            ]  # type: ignore[attr-defined]
            application = client.app.state.services.application  # type: ignore[attr-defined]

            def post(**variables: Any) -> dict[str, Any]:
                response = client.post(
                    "/graphql",
                    json={"query": QUERY, "variables": variables},
                    headers={"Authorization": f"Bearer {token}"},
                )
                body = response.json()
                if response.status_code != 200 or "errors" in body:
                    raise RuntimeError(body)
                figures: dict[str, Any] = body["data"]["portfolio"]
                return figures

            live = post()
            now = datetime.now(UTC)
            assert post(at=(now + timedelta(hours=1)).isoformat()) == live, "future = live"
            year_ends = [date(year, 12, 31).isoformat() for year in range(2019, 2026)]
            events = application.recorder.select_notifications(start=1, limit=head)
            first = application.mapper.to_domain_event(events[0]).timestamp
            last = application.mapper.to_domain_event(events[-1]).timestamp
            middle = (first + (last - first) / 2).isoformat()
            ends = iter(year_ends * repeat)
            fresh = iter(range(1, 10**6))
            print(f"  live portfolio            {_ms(_time(lambda: post(), repeat))}")
            print("  on: (year ends)           " + _ms(_time(lambda: post(on=next(ends)), repeat)))
            print(
                "  on: + asKnownAt:          "
                + _ms(_time(lambda: post(on=next(ends), known=middle), repeat))
            )
            print(
                "  asOf: (a new instant)     "
                + _ms(
                    _time(
                        lambda: post(at=(now - timedelta(seconds=next(fresh))).isoformat()),
                        repeat,
                    )
                )
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        if backend == "postgresql" and not postgres_available():
            print("\npostgresql: no server at TRACKER_BENCH_POSTGRES_URL: skipped")
            continue
        run(backend, args.repeat)


if __name__ == "__main__":
    main()
