"""The long-lived objects a process needs, opened once and closed once."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import Engine

from tracker.application.access import PrincipalCache
from tracker.application.service import TrackerApplication
from tracker.config.settings import Settings
from tracker.store.engines import create_db_engine, create_read_engine


class ProjectLabs:
    """Which lab each project belongs to, remembered once read by the API's lab check.

    Used from the event loop only (tracker/api/deps.py), so it needs no lock.

    Safe to keep for the process's life: a project is never deleted and no command moves it
    to another lab, so a project once seen in a lab stays there. Unknown projects are not
    remembered (a 404 is read again next time). Bounded: the oldest entries go first.
    """

    def __init__(self, max_size: int = 50_000) -> None:
        self.max_size = max_size
        self._labs: dict[UUID, str] = {}

    def get(self, project_id: UUID) -> str | None:
        return self._labs.get(project_id)

    def put(self, project_id: UUID, lab: str) -> None:
        if len(self._labs) >= self.max_size:
            del self._labs[next(iter(self._labs))]
        self._labs[project_id] = lab


@dataclass
class Services:
    """The event-sourced application and the SQLAlchemy engines, sharing one database.

    `engine` is for writes (and reads that must see the write lock's order); `read_engine`
    is for pure reads: on SQLite it begins deferred, read-only transactions, so a token
    lookup or a dashboard never queues behind a commit for the write lock; on PostgreSQL it
    is `engine` itself.
    """

    settings: Settings
    application: TrackerApplication
    engine: Engine
    read_engine: Engine
    principals: PrincipalCache = field(default_factory=lambda: PrincipalCache(0))
    project_labs: ProjectLabs = field(default_factory=ProjectLabs)

    @classmethod
    def open(cls, settings: Settings, adopt_signing_key: bool = True) -> Services:
        """Connect to the configured database (tables must exist: run `tracker migrate`).

        A new or rotated signing key is published in the admin log first, unless
        `adopt_signing_key` is False (an import needs the store empty: the key is recorded
        when the store is next opened).
        """
        engine = create_db_engine(settings)
        application = TrackerApplication(settings)
        if adopt_signing_key:
            application.adopt_signing_key()
        return cls(
            settings=settings,
            application=application,
            engine=engine,
            read_engine=create_read_engine(settings, engine),
            principals=PrincipalCache(settings.principal_cache_seconds),
        )

    def close(self) -> None:
        """Release every connection."""
        self.application.close()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
        self.engine.dispose()
