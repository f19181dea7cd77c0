"""Reliability fixtures: a fresh database per test (SQLite file or PostgreSQL database) and a
`Deployment` that starts real `tracker` processes on it and kills them all afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import create_postgres_database, drop_postgres_database
from tests.reliability.harness import SOAK, Deployment


def fresh_database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.db'}"
        return
    server_url = request.getfixturevalue("postgres_server_url")
    url = create_postgres_database(server_url, prefix="tracker_rel")
    try:
        yield url
    finally:
        drop_postgres_database(server_url, url)


@pytest.fixture
def deployment(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Deployment]:
    """Processes on a fresh, migrated database of the parametrised back end."""
    for url in fresh_database(backend, request, tmp_path):
        deployed = Deployment(url, tmp_path)
        try:
            yield deployed
        finally:
            deployed.close()


@pytest.fixture
def postgres_deployment(
    postgres_server_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Deployment]:
    """Processes on a fresh, migrated PostgreSQL database."""
    for url in fresh_database("postgresql", request, tmp_path):
        deployed = Deployment(url, tmp_path)
        try:
            yield deployed
        finally:
            deployed.close()


@pytest.fixture
def sqlite_deployment(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """Processes on a fresh, migrated SQLite file."""
    for url in fresh_database("sqlite", request, tmp_path):
        deployed = Deployment(url, tmp_path)
        try:
            yield deployed
        finally:
            deployed.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`soak` tests run only under TRACKER_SOAK=1 (`make soak`), never in `make test`."""
    if SOAK:
        return
    skip = pytest.mark.skip(reason="a soak test: run `make soak` (TRACKER_SOAK=1)")
    for item in items:
        if item.get_closest_marker("soak") is not None:
            item.add_marker(skip)
