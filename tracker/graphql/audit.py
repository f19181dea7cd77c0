"""Auditors' GraphQL fields: `projectHistory` and `projectAsOf` (docs/api.md, GraphQL).

Unlike the dashboards' fields these read the event store, not the projections: history is
not in the read models, and time travel replays the log (tracker/audit/history.py). They
need an `auditor` token. `Query` inherits them from `AuditQuery`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast
from uuid import UUID

import strawberry
from graphql import GraphQLError
from strawberry.permission import BasePermission
from strawberry.scalars import JSON
from strawberry.types import Info

from domain.errors import InvalidValueError, ProjectNotFoundError
from domain.project import Project as ProjectAggregate
from tracker.application.access import Role
from tracker.application.service import TrackerApplication
from tracker.audit.history import (
    HistoryEntry,
    project_as_of,
    project_at_version,
    project_history,
)
from tracker.graphql.context import Context
from tracker.graphql.types import field

GraphInfo = Info[Context, None]


class CanAudit(BasePermission):
    """A valid `auditor` token (the request's own refusal, e.g. a bad token, comes first)."""

    message = "needs an auditor token"

    def has_permission(self, source: Any, info: GraphInfo, **kwargs: Any) -> bool:
        refusal = info.context.refusal
        if refusal is not None:
            self.message = refusal.message
            self.error_extensions = {"code": refusal.code}
            return False
        self.message = "needs an auditor token"
        self.error_extensions = {"code": "FORBIDDEN"}
        principal = info.context.principal
        return principal is not None and principal.role is Role.AUDITOR


def _client_error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def _project_id(id: strawberry.ID) -> UUID:
    try:
        return UUID(str(id))
    except ValueError:
        raise _client_error(f"no project {id}", "NOT_FOUND") from None


@strawberry.type(description="One recorded event of a project, as auditors read it.")
class ProjectEvent:
    position: int
    version: int
    type: str
    occurred_on: date | None
    recorded_at: datetime
    actor: str | None
    reason: str | None
    correlation_id: str | None
    data: JSON
    hash: str | None

    @classmethod
    def from_entry(cls, entry: HistoryEntry) -> ProjectEvent:
        return cls(
            position=entry.position,
            version=entry.version,
            type=entry.type,
            occurred_on=entry.occurred_on,
            recorded_at=entry.recorded_at,
            actor=entry.actor,
            reason=entry.reason,
            correlation_id=entry.correlation_id,
            data=cast(JSON, entry.data),
            hash=entry.hash,
        )


@strawberry.type(description="A project replayed from the event store to a version or instant.")
class ProjectState:
    id: strawberry.ID
    version: int
    title: str
    phase: str
    health: str
    status: str
    modified_on: datetime
    state: JSON = strawberry.field(description="The whole state, as the REST API shows it.")

    @classmethod
    def from_project(cls, project: ProjectAggregate) -> ProjectState:
        return cls(
            id=strawberry.ID(str(project.id)),
            version=project.version,
            title=project.title,
            phase=project.phase.value,
            health=project.health.value,
            status=project.status.value,
            modified_on=project.modified_on,
            state=cast(JSON, project.as_dict()),
        )


def _history(application: TrackerApplication, project_id: UUID) -> list[HistoryEntry]:
    entries: list[HistoryEntry] = []
    after: int | None = 0
    while after is not None:
        page = project_history(application, project_id, after, 1000)
        entries.extend(page.entries)
        after = page.next_after
    return entries


def _state(
    application: TrackerApplication, project_id: UUID, as_of: datetime | None, version: int | None
) -> ProjectAggregate | None:
    try:
        if version is not None:
            return project_at_version(application, project_id, version)
        assert as_of is not None
        return project_as_of(application, project_id, as_of)
    except ProjectNotFoundError:
        return None


@strawberry.type
class AuditQuery:
    @field(permission_classes=[CanAudit], description="A project's recorded events (auditor).")
    async def project_history(self, info: GraphInfo, id: strawberry.ID) -> list[ProjectEvent]:
        project_id = _project_id(id)
        application = info.context.services.application
        try:
            entries = await info.context.run(_history, application, project_id)
        except ProjectNotFoundError as error:
            raise _client_error(str(error), "NOT_FOUND") from None
        return [ProjectEvent.from_entry(e) for e in entries]

    @field(
        permission_classes=[CanAudit],
        description="A project as known at an instant, or at a version (auditor); give one.",
    )
    async def project_as_of(
        self,
        info: GraphInfo,
        id: strawberry.ID,
        as_of: datetime | None = None,
        version: int | None = None,
    ) -> ProjectState | None:
        if (as_of is None) == (version is None):
            raise _client_error("give exactly one of asOf or version", "BAD_USER_INPUT")
        project_id = _project_id(id)
        application = info.context.services.application
        try:
            project = await info.context.run(_state, application, project_id, as_of, version)
        except InvalidValueError as error:
            raise _client_error(str(error), "BAD_USER_INPUT") from None
        return ProjectState.from_project(project) if project else None
