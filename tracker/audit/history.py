"""History and time travel: a stream's events as recorded, and a project at a version or instant.

Reads go to the event store through the application (strongly consistent), never to the
projections. `recorded_at` is the library's event timestamp, set when the event was created
in the command's transaction; `occurred_on` is the business date the command gave.

`project_as_of` answers "what did we know at that instant": it replays the longest prefix of
the project's history whose events were all recorded at or before it (a stream's timestamps
only grow, so this is exactly the events recorded up to that instant).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Engine

from domain.admin import ADMIN_LOG_ID, AdminLog
from domain.errors import InvalidValueError, ProjectNotFoundError
from domain.project import Project
from tracker.application.people import actor_names
from tracker.application.service import TrackerApplication
from tracker.store.interface import PositionedEvent, audit_recorder

MAX_PAGE = 1000
PROJECT_REGISTERED_TOPIC = "domain.project:Project.ProjectRegistered"
# Fields every event of tracker carries; `data` holds the rest.
META_FIELDS = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "actor",
        "reason",
        "correlation_id",
        "occurred_on",
    }
)


class NotKnownAtError(ProjectNotFoundError):
    """The project had not been recorded yet at the instant asked for."""


class VersionNotFoundError(ProjectNotFoundError):
    """The project has no such version."""


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded event, as an auditor reads it."""

    position: int
    originator_id: UUID
    version: int
    type: str
    occurred_on: date | None
    recorded_at: datetime
    actor: str | None
    reason: str | None
    correlation_id: str | None
    data: dict[str, Any]
    hash: str | None
    # Who the actor is, read from tracker_people when the history is read (`named`).
    actor_name: str | None = None
    actor_name_erased: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "position": self.position,
            "originator_id": str(self.originator_id),
            "version": self.version,
            "type": self.type,
            "occurred_on": self.occurred_on.isoformat() if self.occurred_on else None,
            "recorded_at": self.recorded_at.isoformat(),
            "actor": self.actor,
            "actor_name": self.actor_name,
            "actor_name_erased": self.actor_name_erased,
            "reason": self.reason,
            "correlation_id": self.correlation_id,
            "data": self.data,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class HistoryPage:
    """A page of a stream's history; `next_after` is the cursor of the next page, if any."""

    entries: list[HistoryEntry]
    next_after: int | None


def plain(value: Any) -> Any:
    """A value as JSON-ready data: dates as ISO strings, value objects as dicts."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def entry(application: TrackerApplication, positioned: PositionedEvent) -> HistoryEntry:
    """Decode one stored event into a history entry."""
    event: Any = application.mapper.to_domain_event(positioned.stored_event)
    fields = vars(event)
    return HistoryEntry(
        position=positioned.position,
        originator_id=event.originator_id,
        version=event.originator_version,
        type=type(event).__name__,
        occurred_on=fields.get("occurred_on"),
        recorded_at=event.timestamp,
        actor=fields.get("actor"),
        reason=fields.get("reason"),
        correlation_id=fields.get("correlation_id"),
        data={k: plain(v) for k, v in fields.items() if k not in META_FIELDS},
        hash=positioned.hash,
    )


def named(engine: Engine, entries: list[HistoryEntry]) -> list[HistoryEntry]:
    """The entries with their actors' names (None, and `actor_name_erased`, once forgotten)."""
    names = actor_names(engine, (e.actor for e in entries))
    return [
        dataclasses.replace(
            e, actor_name=names[e.actor].name, actor_name_erased=names[e.actor].erased
        )
        if e.actor in names
        else e
        for e in entries
    ]


def _select(
    application: TrackerApplication,
    stream_id: UUID,
    after: int = 0,
    limit: int = MAX_PAGE,
    upto: int | None = None,
) -> list[PositionedEvent]:
    return audit_recorder(application.recorder).select_stream(
        stream_id, gt=after, lte=upto, limit=limit
    )


def stream_history(
    application: TrackerApplication, stream_id: UUID, after: int = 0, limit: int = 100
) -> HistoryPage:
    """A stream's events after version `after`, in version order, `limit` at most."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidValueError(f"limit must be between 1 and {MAX_PAGE}")
    if after < 0:
        raise InvalidValueError("after must be a version, 0 or more")
    found = _select(application, stream_id, after, limit + 1)
    entries = [entry(application, p) for p in found[:limit]]
    next_after = entries[-1].version if len(found) > limit else None
    return HistoryPage(entries, next_after)


def _require_project(application: TrackerApplication, project_id: UUID) -> PositionedEvent:
    first = _select(application, project_id, 0, 1)
    if not first or first[0].stored_event.topic != PROJECT_REGISTERED_TOPIC:
        raise ProjectNotFoundError(f"no project {project_id}")
    return first[0]


def project_history(
    application: TrackerApplication, project_id: UUID, after: int = 0, limit: int = 100
) -> HistoryPage:
    """A project's recorded events after version `after`, paged."""
    _require_project(application, project_id)
    return stream_history(application, project_id, after, limit)


def project_at_version(application: TrackerApplication, project_id: UUID, version: int) -> Project:
    """The project replayed up to and including `version`."""
    if version < 1:
        raise InvalidValueError("version must be 1 or more")
    project = application.get_project(project_id, version=version)
    if project.version != version:
        raise VersionNotFoundError(
            f"project {project_id} has {project.version} versions, not {version}"
        )
    return project


def _recorded(application: TrackerApplication, stream_id: UUID) -> Iterator[tuple[int, datetime]]:
    after = 0
    while True:
        page = _select(application, stream_id, after, MAX_PAGE)
        for positioned in page:
            event: Any = application.mapper.to_domain_event(positioned.stored_event)
            yield event.originator_version, event.timestamp
        if len(page) < MAX_PAGE:
            return
        after = page[-1].stored_event.originator_version


def version_as_of(application: TrackerApplication, stream_id: UUID, as_of: datetime) -> int:
    """The last version of a stream recorded at or before `as_of` (0 if none was)."""
    instant = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    known = 0
    for version, recorded_at in _recorded(application, stream_id):
        if recorded_at > instant:
            break
        known = version
    return known


def project_as_of(application: TrackerApplication, project_id: UUID, as_of: datetime) -> Project:
    """The project as it was known at `as_of`: its events recorded up to then, replayed."""
    _require_project(application, project_id)
    version = version_as_of(application, project_id, as_of)
    if version == 0:
        raise NotKnownAtError(f"project {project_id} was not recorded yet at {as_of.isoformat()}")
    return application.get_project(project_id, version=version)


def project_on(
    application: TrackerApplication,
    project_id: UUID,
    on: date | None,
    known_at: datetime | None = None,
) -> Project:
    """The project on the business date `on` (None: every date), as known at `known_at`
    (None: now): its events dated on or before `on`, recorded by `known_at`, replayed in
    order (docs/time.md). The replay is one project's history, never the log's."""
    _require_project(application, project_id)
    version = version_as_of(application, project_id, known_at) if known_at is not None else None
    events: Iterable[Any] = application.repository.event_store.get(project_id, lte=version)
    project: Project | None = None
    for event in events:
        if on is not None and event.occurred_on > on:
            continue
        if project is None:
            if not isinstance(event, Project.ProjectRegistered):
                break  # dated before its registration (a store older than the rules)
            project = cast(Project, event.mutate(None))
        else:
            # The events kept skip versions: apply them as `mutate` does, without its check
            # that each follows the previous version. `version` is the last one applied.
            event.apply(project)
            project.version = event.originator_version
            project.modified_on = event.timestamp
    if project is None:
        when = f"on {on.isoformat()}" if on else ""
        known = f" as known at {known_at.isoformat()}" if known_at else ""
        raise NotKnownAtError(f"project {project_id} did not exist {when}{known}".strip())
    return project


def reasons_at(application: TrackerApplication, positions: Iterable[int]) -> dict[int, str | None]:
    """The reason each event at these positions of the log gives (None without one)."""
    found: dict[int, str | None] = {}
    for position in positions:
        (notification,) = application.recorder.select_notifications(start=position, limit=1)
        event: Any = application.mapper.to_domain_event(notification)
        found[position] = getattr(event, "reason", None)
    return found


def admin_history(application: TrackerApplication, after: int = 0, limit: int = 100) -> HistoryPage:
    """The admin log's events after version `after`, paged."""
    return stream_history(application, ADMIN_LOG_ID, after, limit)


@dataclass(frozen=True)
class LastVerification:
    """The latest recorded verification of the log (an `AuditVerified` admin event)."""

    recorded_at: datetime
    actor: str | None
    events: int
    last_position: int
    findings: int
    intact: bool


def last_verification(application: TrackerApplication) -> LastVerification | None:
    """The admin log's latest `AuditVerified`, read from its newest event backwards
    (None when the log was never verified)."""
    lte: int | None = None
    while True:
        page = application.recorder.select_events(ADMIN_LOG_ID, lte=lte, desc=True, limit=MAX_PAGE)
        for stored in page:
            event: Any = application.mapper.to_domain_event(stored)
            if isinstance(event, AdminLog.AuditVerified):
                return LastVerification(
                    recorded_at=event.timestamp,
                    actor=getattr(event, "actor", None),
                    events=event.events,
                    last_position=event.last_position,
                    findings=event.findings,
                    intact=event.intact,
                )
        if len(page) < MAX_PAGE:
            return None
        lte = page[-1].originator_version - 1
