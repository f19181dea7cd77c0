"""The eventsourcing environment of tracker's event store, from one database URL.

Why the library's own SQLite and PostgreSQL modules and not the SQLAlchemy bridge: they
append 1.7-3x faster (README, "Design decisions"), PostgreSQL's recorder follows the log
with LISTEN/NOTIFY, and Alembic can own their tables all the same (`migrations/`), with
table creation turned off here (docs/design-notes.md §4).

The environment names tracker's factory for the URL's database (`tracker.store.sqlite`,
`tracker.store.postgres`) by its topic; both back ends name their tables `tracker_events`
and `tracker_snapshots`, whatever the Python class is called.
"""

from __future__ import annotations

from urllib.parse import unquote

from eventsourcing.utils import get_topic
from sqlalchemy.engine import make_url

from tracker.config.settings import Settings
from tracker.store.postgres import TrackerPostgresFactory
from tracker.store.sqlite import TrackerSQLiteFactory

CONNECT_TIMEOUT_SECONDS = 3


def event_store_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing environment for `settings.database_url`, with table creation off."""
    url = make_url(settings.database_url)
    env: dict[str, str] = {"CREATE_TABLE": "false"}
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            msg = "tracker needs a SQLite file: use sqlite:///path/to/tracker.db"
            raise ValueError(msg)
        env |= {
            "PERSISTENCE_MODULE": get_topic(TrackerSQLiteFactory),
            "SQLITE_DBNAME": url.database,
            "SQLITE_LOCK_TIMEOUT": str(settings.lock_timeout_seconds),
        }
    elif url.get_backend_name() == "postgresql":
        env |= {
            "PERSISTENCE_MODULE": get_topic(TrackerPostgresFactory),
            "POSTGRES_DBNAME": url.database or "",
            "POSTGRES_HOST": url.host or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": url.username or "",
            "POSTGRES_PASSWORD": unquote(url.password) if url.password else "",
            "POSTGRES_POOL_SIZE": str(settings.pool_size),
            "POSTGRES_MAX_OVERFLOW": str(settings.pool_size),
            "POSTGRES_LOCK_TIMEOUT": str(settings.lock_timeout_seconds),
            "POSTGRES_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT_SECONDS),
            "POSTGRES_PRE_PING": "true",
        }
    else:
        msg = f"unsupported database {url.get_backend_name()!r}: use sqlite or postgresql"
        raise ValueError(msg)
    return env
