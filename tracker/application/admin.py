"""Record administrative actions in the AdminLog stream, and read it back.

`record_admin_action(application, "token_created", meta, token_id=..., role=..., lab=...)`
appends one event; the action names are AdminLog's methods (`domain.admin.ADMIN_ACTIONS`).
Writers in other processes may append at the same time: a lost version race is retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.admin import ADMIN_ACTIONS, ADMIN_LOG_ID, AdminLog
from domain.errors import InvalidValueError
from domain.meta import Meta
from tracker.application.service import (
    CommandResult,
    ConflictRetriesExhaustedError,
    TrackerApplication,
)
from tracker.store.recorders import SideWrite

ATTEMPTS = 10
SNAPSHOT_EVERY = 100


def record_admin_action(
    application: TrackerApplication,
    action: str,
    meta: Meta,
    *,
    side_writes: Sequence[SideWrite] = (),
    **fields: Any,
) -> CommandResult:
    """Append one administrative event (`action` names an AdminLog method) and save it.

    `side_writes` commit or roll back with the event (e.g. erasing a person's name).
    """
    if action not in ADMIN_ACTIONS:
        raise InvalidValueError(f"unknown admin action {action!r}: one of {sorted(ADMIN_ACTIONS)}")
    for _attempt in range(ATTEMPTS):
        try:
            log: AdminLog = application.repository.get(ADMIN_LOG_ID)
        except AggregateNotFoundError:
            log = AdminLog.open(meta)
        getattr(log, action)(meta, **fields)
        try:
            recordings = application.save(log, side_writes=list(side_writes))
        except IntegrityError:
            continue  # another writer appended first: decide again on the latest version
        if log.version % SNAPSHOT_EVERY == 0:
            application.take_snapshot(ADMIN_LOG_ID, log.version)
        return CommandResult(log.id, log.version, recordings[-1].notification.id)
    raise ConflictRetriesExhaustedError(f"{action}: the admin log kept changing under us")
