"""Fixtures shared by every test layer.

`database_url` is parametrised: every test that uses it (directly or through `settings`,
`services` or `application`) runs once on a SQLite file and once on PostgreSQL. The
PostgreSQL run creates its own database on the server named by TRACKER_TEST_POSTGRES_URL
and drops it at the end; without that variable the PostgreSQL cases are skipped.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import structlog
from sqlalchemy.engine import make_url

from tracker.application.service import TrackerApplication
from tracker.application.services import Services
from tracker.config.logging import configure_logging
from tracker.config.settings import Settings
from tracker.store import migrate

POSTGRES_URL_VARIABLE = "TRACKER_TEST_POSTGRES_URL"

configure_logging("console", "WARNING")


class RequestLog(logging.Handler):
    """What the in-process apps log, by request id: each request's final status (the access
    log) and each record logged at ERROR with a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.statuses: dict[str, int] = {}
        self.tracebacks: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        event: dict[str, Any] = record.msg if isinstance(record.msg, dict) else {}
        request_id = event.get("request_id") or structlog.contextvars.get_contextvars().get(
            "request_id"
        )
        if request_id is None:
            return
        if record.name == "tracker.access" and event.get("event") == "request":
            self.statuses[str(request_id)] = int(event.get("status") or 0)
        elif record.levelno >= logging.ERROR and (record.exc_info or event.get("exc_info")):
            self.tracebacks[str(request_id)] = f"{record.name}: {event.get('event', record.msg)}"


REQUEST_LOG = RequestLog()
# The access log is read by REQUEST_LOG, not printed: the stderr handler keeps WARNING.
logging.getLogger("tracker").addHandler(REQUEST_LOG)
logging.getLogger("tracker.access").setLevel(logging.INFO)
for _handler in logging.getLogger().handlers:
    _handler.setLevel(logging.WARNING)


@pytest.fixture(autouse=True)
def no_traceback_for_a_clients_mistake(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test: no request answered below 500 logged a traceback at ERROR (a client's
    mistake is logged at INFO, without one; docs/errors.md). A test that provokes a server
    fault answered 200 (GraphQL's INTERNAL_SERVER_ERROR) is marked `server_fault`."""
    REQUEST_LOG.statuses.clear()
    REQUEST_LOG.tracebacks.clear()
    yield
    if request.node.get_closest_marker("server_fault"):
        return
    mistakes = {
        request_id: (REQUEST_LOG.statuses[request_id], logged)
        for request_id, logged in REQUEST_LOG.tracebacks.items()
        if 0 < REQUEST_LOG.statuses.get(request_id, 0) < 500
    }
    assert not mistakes, f"a traceback logged at ERROR for an answer below 500: {mistakes}"


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
