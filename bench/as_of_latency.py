"""Latency of `portfolio(asOf:)` at the seed's 200 projects, beside the live `portfolio`.

    .venv/bin/python -m bench.as_of_latency [--backend sqlite|postgresql|both] [--repeat N]

A fresh database per backend, seeded as `tracker seed` does (200 projects, seed 42), the
live portfolio projection caught up; then `POST /graphql` through the whole app in this
process (TestClient: auth, GraphQL, resolver thread, SQL), one query at a time:

- live: `portfolio` over the live tables;
- cold: `portfolio(asOf:)` at an instant not asked before (a full replay each time);
- cold, mid-history: the same at the instant half-way through the seed's recording;
- warm: the same instant again, nothing new in the log (the cached replay);
- warm + 1 event: the same instant after one more event (a replay of the new event only).
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from bench.common import fresh_database, open_services, percentile, postgres_available, server_url
from projections.portfolio import PortfolioProjection
from projections.runner import ProjectionWorker, head_position
from tracker.application.access import Role, create_token
from tracker.application.commands import RegisterLab
from tracker.application.seed import seed_portfolio
from tracker.asgi import create_app

PROJECTS = 200
QUERY = """query($at: DateTime) { portfolio(asOf: $at) {
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
        ProjectionWorker(services, PortfolioProjection).run_until_caught_up()
        head = head_position(services)
        print(f"\n{backend}: {summary.line()} ({seeded:.1f} s); {head:,} events in the log")
        app = create_app(services.settings, run_projector=False)
        with TestClient(app) as client:
            token = create_token(client.app.state.services.application, Role.VIEWER, name="bench")[
                1
            ]  # type: ignore[attr-defined]
            application = client.app.state.services.application  # type: ignore[attr-defined]

            def post(at: datetime | None) -> dict[str, Any]:
                response = client.post(
                    "/graphql",
                    json={"query": QUERY, "variables": {"at": at.isoformat() if at else None}},
                    headers={"Authorization": f"Bearer {token}"},
                )
                body = response.json()
                if response.status_code != 200 or "errors" in body:
                    raise RuntimeError(body)
                figures: dict[str, Any] = body["data"]["portfolio"]
                return figures

            live = post(None)
            now = datetime.now(UTC)
            assert post(now + timedelta(hours=1)) == live, "as of the future must equal live"
            post(None)  # warm-up
            print(f"  live portfolio            {_ms(_time(lambda: post(None), repeat))}")
            fresh = iter(range(1, 10**6))
            print(
                "  asOf, cold (new instant)  "
                + _ms(
                    _time(lambda: post(now + timedelta(seconds=next(fresh))), max(3, repeat // 4))
                )
            )
            events = application.recorder.select_notifications(start=1, limit=head)
            first = application.mapper.to_domain_event(events[0]).timestamp
            last = application.mapper.to_domain_event(events[-1]).timestamp
            middle = first + (last - first) / 2
            mid = iter(range(1, 10**6))
            print(
                "  asOf, cold, mid-history   "
                + _ms(
                    _time(
                        lambda: post(middle + timedelta(microseconds=next(mid))),
                        max(3, repeat // 4),
                    )
                )
            )
            post(middle)
            print(f"  asOf, warm (same instant) {_ms(_time(lambda: post(middle), repeat))}")

            def one_more_then_read() -> None:
                application.execute(
                    RegisterLab(
                        slug=f"bench-{uuid.uuid4().hex[:10]}", name="Laboratoire", region_code="27"
                    ),
                    application.meta("bench", str(uuid.uuid4())),
                )
                started = time.perf_counter()
                post(middle)
                delta.append((time.perf_counter() - started) * 1000)

            delta: list[float] = []
            for _ in range(repeat):
                one_more_then_read()
            print(f"  asOf, warm + 1 new event  {_ms(delta)}")


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
