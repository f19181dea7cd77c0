"""What every benchmark shares: figures with their floors, fresh databases, the machine.

A `Figure` is one measured number beside the floor it is compared with, measured in the
same run on the same database. `ratio` is always `value / floor`: for rates (higher is
better) a ratio above 1 beats the floor; for latencies (lower is better) a ratio of 3
means three times slower than the floor.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.store_save import DEFAULT_SERVER_URL, _postgres_reachable, fresh_database
from tracker.application.services import Services
from tracker.config.settings import Settings
from tracker.store import migrate

__all__ = [
    "Figure",
    "fresh_database",
    "machine",
    "open_services",
    "percentile",
    "postgres_available",
    "server_url",
]

PACKAGES = (
    "eventsourcing",
    "sqlalchemy",
    "psycopg",
    "fastapi",
    "starlette",
    "uvicorn",
    "strawberry-graphql",
    "pydantic",
    "structlog",
    "alembic",
)


@dataclass
class Figure:
    """One measured figure beside its floor (measured in the same run)."""

    suite: str
    name: str
    backend: str
    value: float | None
    unit: str
    floor_name: str = ""
    floor: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.floor:
            return None
        return self.value / self.floor

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = None if self.ratio is None else round(self.ratio, 3)
        return data


def server_url() -> str:
    """The PostgreSQL server benchmarks create their databases on."""
    return os.environ.get("TRACKER_BENCH_POSTGRES_URL", DEFAULT_SERVER_URL)


def postgres_available() -> bool:
    return _postgres_reachable(server_url())


@contextlib.contextmanager
def open_services(url: str, **overrides: Any) -> Iterator[Services]:
    """Migrate a fresh database and open tracker's services on it."""
    settings = Settings(database_url=url, **overrides)
    migrate.upgrade(settings)
    services = Services.open(settings)
    try:
        yield services
    finally:
        services.close()


def cpu_seconds() -> float:
    """CPU time of this process and of its children that ended (a PostgreSQL rebuild's
    replay processes): what a rate per CPU-second divides by."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0-100) of `samples`, interpolated."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[round(q) - 1]


def timed(function: Callable[[], Any], repeat: int) -> list[float]:
    """Milliseconds of `repeat` calls of `function`."""
    samples: list[float] = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    versions: dict[str, str] = {}
    for package in PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[package] = importlib.metadata.version(package)
    postgres = ""
    with contextlib.suppress(Exception):
        import psycopg

        from bench.store_save import _admin_conninfo

        with psycopg.connect(_admin_conninfo(server_url()), connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            postgres = str(row[0]) if row else ""
    import sqlite3

    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres,
        "packages": versions,
        "load_average_at_start": list(os.getloadavg()),
    }
