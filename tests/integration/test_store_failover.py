"""Writes recover at once after every pooled PostgreSQL connection was dropped (a failover).

PostgreSQL only: the test fills the application's pool to its maximum, terminates every
backend of the test database (what a restart or a failover does to a pool), and times the
next write, which must not wait for the pool to notice its dead connections one by one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from domain.values import Health
from tests.factories import registered_project
from tracker.application.commands import AssessHealth
from tracker.application.services import Services
from tracker.config.settings import Settings
from tracker.store import migrate

# A write right after the failover: the store's own connect timeout is 3 s (one attempt
# that waited on dead connections would already exceed this).
RECOVERY_SECONDS = 2.5


@pytest.fixture
def services(empty_database_url: str, backend: str) -> Iterator[Services]:
    if backend != "postgresql":
        pytest.skip("SQLite has no connection pool to lose")
    settings = Settings(database_url=empty_database_url, pool_size=4, group_commit=False)
    migrate.upgrade(settings)
    opened = Services.open(settings)
    yield opened
    opened.close()


def _fill_the_pool(services: Services) -> int:
    pool = services.application.recorder.datastore.pool  # type: ignore[attr-defined]
    held = [pool.getconn() for _ in range(pool.max_size)]
    for connection in held:
        connection.execute("SELECT 1")
        pool.putconn(connection)
    return len(held)


def _terminate_every_backend(database_url: str) -> int:
    url = make_url(database_url)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (url.database,),
        ).fetchall()
    return len(rows)


def test_a_write_succeeds_at_once_after_every_pooled_connection_was_dropped(
    services: Services,
) -> None:
    application = services.application
    project_id = registered_project(application)
    filled = _fill_the_pool(services)
    assert _terminate_every_backend(services.settings.database_url) >= filled
    started = time.perf_counter()
    result = application.execute(
        AssessHealth(project_id=project_id, health=Health.AT_RISK),
        application.meta("tok_failover", "failover"),
    )
    elapsed = time.perf_counter() - started
    assert result.version == 2
    assert elapsed < RECOVERY_SECONDS, f"the write took {elapsed:.1f} s"
