"""Current-state load of projects with 10, 1,000 and 10,000 events.

Figure: `TrackerApplication.get_project` as a fresh process loads it (no aggregate cache:
the latest snapshot, taken every `snapshot_interval` events, plus the events after it),
beside the full replay of every event from `application.events.get` (no snapshot). A
second figure is the same call in a warm process (`aggregate_cache_size`: the cached
project, fast-forwarded by one query for newer events, deep-copied).
"""

from __future__ import annotations

from eventsourcing.application import project_aggregate

from bench.common import Figure, fresh_database, open_services, percentile, server_url, timed
from bench.loader import grow_project, register_bench_projects
from tracker.application.service import TrackerApplication
from tracker.application.services import Services

SIZES = (10, 1_000, 10_000)
TARGET_MS = 5.0  # the current state of a 10,000-event project


def _full_replay(services: Services, project_id: object) -> object:
    events = services.application.events.get(project_id)  # type: ignore[arg-type]
    return project_aggregate(None, events)


def run(backend: str, *, quick: bool) -> list[Figure]:
    repeat = 20 if quick else 50
    figures: list[Figure] = []
    with fresh_database(backend, server_url()) as url, open_services(url) as services:
        application = TrackerApplication(
            services.settings.model_copy(update={"aggregate_cache_size": 0})
        )
        warm = services.application
        for size in SIZES:
            (project_id,) = register_bench_projects(services, "banc-etat", 1)
            grow_project(services, project_id, size - 1)
            assert application.get_project(project_id).version == size
            with_snapshot = timed(lambda p=project_id: application.get_project(p), repeat)
            replay_repeat = max(3, repeat // 10) if size >= 10_000 else repeat
            without = timed(lambda p=project_id: _full_replay(services, p), replay_repeat)
            cached = timed(lambda p=project_id: warm.get_project(p), repeat)
            p50, p95 = percentile(with_snapshot, 50), percentile(with_snapshot, 95)
            floor_p50 = percentile(without, 50)
            figures.append(
                Figure(
                    suite="current state",
                    name=f"{size:,}-event project: get_project p50",
                    backend=backend,
                    value=round(p50, 3),
                    unit="ms (lower is better)",
                    floor_name="full replay, no snapshot, p50",
                    floor=round(floor_p50, 3),
                    target=f"< {TARGET_MS:.0f} ms" if size == 10_000 else "",
                    met=(p50 < TARGET_MS) if size == 10_000 else None,
                    note=f"p95 {p95:.2f} ms; full replay p95 {percentile(without, 95):.1f} ms",
                    extra={
                        "events": size,
                        "snapshot_interval": services.settings.snapshot_interval,
                        "p95_ms": p95,
                        "replay_p95_ms": percentile(without, 95),
                        "samples": len(with_snapshot),
                        "replay_samples": len(without),
                    },
                )
            )
            figures.append(
                Figure(
                    suite="current state",
                    name=f"{size:,}-event project: get_project p50, warm cache",
                    backend=backend,
                    value=round(percentile(cached, 50), 3),
                    unit="ms (lower is better)",
                    floor_name="full replay, no snapshot, p50",
                    floor=round(floor_p50, 3),
                    note=f"p95 {percentile(cached, 95):.2f} ms",
                    extra={"p95_ms": percentile(cached, 95), "samples": len(cached)},
                )
            )
        application.close()
    return figures
