"""The long-lived objects a process needs, opened once and closed once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from tracker.application import TrackerApplication
from tracker.db import create_db_engine
from tracker.settings import Settings


@dataclass
class Services:
    """The event-sourced application and the SQLAlchemy engine, sharing one database."""

    settings: Settings
    application: TrackerApplication
    engine: Engine

    @classmethod
    def open(cls, settings: Settings) -> Services:
        """Connect to the configured database (tables must exist: run `tracker migrate`)."""
        engine = create_db_engine(settings)
        return cls(settings=settings, application=TrackerApplication(settings), engine=engine)

    def close(self) -> None:
        """Release every connection."""
        self.application.close()
        self.engine.dispose()
