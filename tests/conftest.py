"""Fixtures shared by every test layer.

`database_url` is parametrised: every test that uses it (directly or through `settings`,
`services` or `application`) runs once on a SQLite file and once on PostgreSQL. The
PostgreSQL run creates its own database on the server named by TRACKER_TEST_POSTGRES_URL
and drops it at the end; without that variable the PostgreSQL cases are skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tracker.application.service import TrackerApplication
from tracker.application.services import Services
from tracker.config.logging import configure_logging
from tracker.config.settings import Settings
from tracker.store import migrate

POSTGRES_URL_VARIABLE = "TRACKER_TEST_POSTGRES_URL"

configure_logging("console", "WARNING")


def _admin_conninfo(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The PostgreSQL server tests may create databases on (skips when not configured)."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set")
    return url


def create_postgres_database(server_url: str, prefix: str = "tracker_test") -> str:
    """Create a fresh database on the server and return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_conninfo(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(server_url: str, database_url: str) -> None:
    """Drop a database created by `create_postgres_database`, closing its connections."""
    name = make_url(database_url).database
    with psycopg.connect(_admin_conninfo(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The database back end a test runs on: every test using it runs on both."""
    if request.param == "postgresql":
        request.getfixturevalue("postgres_server_url")
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database for this test session, on each back end."""
    if backend == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "tracker.db"
        url = f"sqlite:///{path}"
        migrate.upgrade(Settings(database_url=url))
        yield url
        return
    server_url = request.getfixturevalue("postgres_server_url")
    url = create_postgres_database(server_url)
    try:
        migrate.upgrade(Settings(database_url=url))
        yield url
    finally:
        drop_postgres_database(server_url, url)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings for the parametrised database."""
    return Settings(database_url=database_url, snapshot_interval=50)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    """The application and the engine, closed after the test."""
    opened = Services.open(settings)
    yield opened
    opened.close()


@pytest.fixture
def application(services: Services) -> TrackerApplication:
    """The event-sourced application on the parametrised database."""
    return services.application


@pytest.fixture
def empty_database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """A brand-new, unmigrated database on each back end."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server_url = request.getfixturevalue("postgres_server_url")
    url = create_postgres_database(server_url, prefix="tracker_empty")
    try:
        yield url
    finally:
        drop_postgres_database(server_url, url)
