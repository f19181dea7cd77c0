"""Auditors' GraphQL fields: `projectHistory`, `projectAsOf`, `trainingHistory` and
`trainingAsOf` (docs/api.md, GraphQL).

Unlike the dashboards' fields these read the event store, not the projections: history is
not in the read models, and time travel replays the log (tracker/audit/history.py). They
need an `auditor` token, or a `staff` token of the project's (or action's) lab. `Query`
inherits them from `AuditQuery`.
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

from domain.errors import InvalidValueError, ProjectNotFoundError, TrainingNotFoundError
from domain.project import Project as ProjectAggregate
from domain.training import TrainingAction
from tracker.application.access import Principal, Role
from tracker.application.service import TrackerApplication
from tracker.application.services import Services
from tracker.audit.history import (
    HistoryEntry,
    named,
    project_as_of,
    project_at_version,
    project_history,
)
from tracker.audit.training import training_as_of, training_at_version, training_history
from tracker.graphql.context import Context
from tracker.graphql.types import field

GraphInfo = Info[Context, None]


class CanAudit(BasePermission):
    """A valid `auditor` or `staff` token (the request's own refusal comes first).

    Staff read only their own lab's projects: the resolvers check the lab (`_readable`).
    """

    message = "needs an auditor token, or a staff token of the project's lab"

    def has_permission(self, source: Any, info: GraphInfo, **kwargs: Any) -> bool:
        refusal = info.context.refusal
        if refusal is not None:
            self.message = refusal.message
            self.error_extensions = {"code": refusal.code}
            return False
        self.message = "needs an auditor token, or a staff token of the project's lab"
        self.error_extensions = {"code": "FORBIDDEN"}
        principal = info.context.principal
        return principal is not None and principal.role in (Role.AUDITOR, Role.STAFF)


def _check_lab(application: TrackerApplication, principal: Principal, project_id: UUID) -> None:
    if principal.role is Role.AUDITOR:
        return
    try:
        lab = application.get_project(project_id).lab
    except ProjectNotFoundError as error:
        raise _client_error(str(error), "NOT_FOUND") from None
    if lab != principal.lab:
        raise _client_error(
            f"this token reads lab {principal.lab!r}, not {lab!r}", "FORBIDDEN"
        ) from None


def _check_training_lab(
    application: TrackerApplication, principal: Principal, training_id: UUID
) -> None:
    """Staff read only their own lab's training actions (an unknown one is NOT_FOUND)."""
    try:
        lab = application.get_training(training_id).lab
    except TrainingNotFoundError as error:
        raise _client_error(str(error), "NOT_FOUND") from None
    if principal.role is not Role.AUDITOR and lab != principal.lab:
        raise _client_error(
            f"this token reads lab {principal.lab!r}, not {lab!r}", "FORBIDDEN"
        ) from None


def _client_error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def _project_id(id: strawberry.ID) -> UUID:
    try:
        return UUID(str(id))
    except ValueError:
        raise _client_error(f"no project {id}", "NOT_FOUND") from None


def _training_id(id: strawberry.ID) -> UUID:
    try:
        return UUID(str(id))
    except ValueError:
        raise _client_error(f"no training action {id}", "NOT_FOUND") from None


@strawberry.type(description="One recorded event of a project, as auditors read it.")
class ProjectEvent:
    position: int
    version: int
    type: str
    occurred_on: date | None
    recorded_at: datetime
    actor: str | None
    actor_name: str | None = strawberry.field(
        description="The name of the person the actor's token was issued to; null when "
        "there is none, or once they were forgotten (then actorNameErased)."
    )
    actor_name_erased: bool
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
            actor_name=entry.actor_name,
            actor_name_erased=entry.actor_name_erased,
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


@strawberry.type(
    description="A training action replayed from the event store to a version or instant."
)
class TrainingState:
    id: strawberry.ID
    version: int
    lab: str
    title: str
    status: str
    modified_on: datetime
    state: JSON = strawberry.field(description="The whole state, as the REST API shows it.")

    @classmethod
    def from_training(cls, training: TrainingAction) -> TrainingState:
        return cls(
            id=strawberry.ID(str(training.id)),
            version=training.version,
            lab=training.lab,
            title=training.title,
            status=training.status,
            modified_on=training.modified_on,
            state=cast(JSON, training.as_dict()),
        )


def _history(services: Services, principal: Principal, project_id: UUID) -> list[HistoryEntry]:
    application = services.application
    _check_lab(application, principal, project_id)
    entries: list[HistoryEntry] = []
    after: int | None = 0
    while after is not None:
        page = project_history(application, project_id, after, 1000)
        entries.extend(page.entries)
        after = page.next_after
    return named(services.read_engine, entries)


def _training_history(
    services: Services, principal: Principal, training_id: UUID
) -> list[HistoryEntry]:
    application = services.application
    _check_training_lab(application, principal, training_id)
    entries: list[HistoryEntry] = []
    after: int | None = 0
    while after is not None:
        page = training_history(application, training_id, after, 1000)
        entries.extend(page.entries)
        after = page.next_after
    return named(services.read_engine, entries)


def _training_state(
    application: TrackerApplication,
    principal: Principal,
    training_id: UUID,
    as_of: datetime | None,
    version: int | None,
) -> TrainingState | None:
    _check_training_lab(application, principal, training_id)
    try:
        if version is not None:
            return TrainingState.from_training(
                training_at_version(application, training_id, version)
            )
        assert as_of is not None
        return TrainingState.from_training(training_as_of(application, training_id, as_of))
    except TrainingNotFoundError:
        return None


def _state(
    application: TrackerApplication,
    principal: Principal,
    project_id: UUID,
    as_of: datetime | None,
    version: int | None,
) -> ProjectAggregate | None:
    _check_lab(application, principal, project_id)
    try:
        if version is not None:
            return project_at_version(application, project_id, version)
        assert as_of is not None
        return project_as_of(application, project_id, as_of)
    except ProjectNotFoundError:
        return None


@strawberry.type
class AuditQuery:
    @field(
        permission_classes=[CanAudit],
        description="A project's recorded events (auditor, or staff of its lab).",
    )
    async def project_history(self, info: GraphInfo, id: strawberry.ID) -> list[ProjectEvent]:
        project_id = _project_id(id)
        principal = info.context.principal
        assert principal is not None  # CanAudit
        try:
            entries = await info.context.run(_history, info.context.services, principal, project_id)
        except ProjectNotFoundError as error:
            raise _client_error(str(error), "NOT_FOUND") from None
        return [ProjectEvent.from_entry(e) for e in entries]

    @field(
        permission_classes=[CanAudit],
        description="A project as known at an instant, or at a version (auditor, or staff "
        "of its lab); give one.",
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
        principal = info.context.principal
        assert principal is not None  # CanAudit
        try:
            project = await info.context.run(
                _state, application, principal, project_id, as_of, version
            )
        except InvalidValueError as error:
            raise _client_error(str(error), "BAD_USER_INPUT") from None
        return ProjectState.from_project(project) if project else None

    @field(
        permission_classes=[CanAudit],
        description="A training action's recorded events, with the actors' names (auditor, "
        "or staff of its lab).",
    )
    async def training_history(self, info: GraphInfo, id: strawberry.ID) -> list[ProjectEvent]:
        training_id = _training_id(id)
        principal = info.context.principal
        assert principal is not None  # CanAudit
        entries = await info.context.run(
            _training_history, info.context.services, principal, training_id
        )
        return [ProjectEvent.from_entry(e) for e in entries]

    @field(
        permission_classes=[CanAudit],
        description="A training action as known at an instant, or at a version (auditor, or "
        "staff of its lab); give one.",
    )
    async def training_as_of(
        self,
        info: GraphInfo,
        id: strawberry.ID,
        as_of: datetime | None = None,
        version: int | None = None,
    ) -> TrainingState | None:
        if (as_of is None) == (version is None):
            raise _client_error("give exactly one of asOf or version", "BAD_USER_INPUT")
        training_id = _training_id(id)
        principal = info.context.principal
        assert principal is not None  # CanAudit
        try:
            return await info.context.run(
                _training_state,
                info.context.services.application,
                principal,
                training_id,
                as_of,
                version,
            )
        except InvalidValueError as error:
            raise _client_error(str(error), "BAD_USER_INPUT") from None
