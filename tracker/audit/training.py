"""History and time travel of training actions, as `tracker.audit.history` gives projects'.

The same generic reads (a stream's events with their hashes, the version known at an
instant), checked to name a training action.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain.errors import InvalidValueError, TrainingNotFoundError
from domain.training import TrainingAction
from tracker.application.service import TrackerApplication
from tracker.audit.history import HistoryPage, stream_history, version_as_of
from tracker.store.interface import audit_recorder

TRAINING_SCHEDULED_TOPIC = "domain.training:TrainingAction.TrainingScheduled"


class TrainingVersionNotFoundError(TrainingNotFoundError):
    """The training action has no such version."""


class TrainingNotKnownAtError(TrainingNotFoundError):
    """The training action had not been recorded yet at the instant asked for."""


def _require_training(application: TrackerApplication, training_id: UUID) -> None:
    first = audit_recorder(application.recorder).select_stream(training_id, gt=0, limit=1)
    if not first or first[0].stored_event.topic != TRAINING_SCHEDULED_TOPIC:
        raise TrainingNotFoundError(f"no training action {training_id}")


def training_history(
    application: TrackerApplication, training_id: UUID, after: int = 0, limit: int = 100
) -> HistoryPage:
    """A training action's recorded events after version `after`, paged."""
    _require_training(application, training_id)
    return stream_history(application, training_id, after, limit)


def training_at_version(
    application: TrackerApplication, training_id: UUID, version: int
) -> TrainingAction:
    """The training action replayed up to and including `version`."""
    if version < 1:
        raise InvalidValueError("version must be 1 or more")
    training = application.get_training(training_id, version=version)
    if training.version != version:
        raise TrainingVersionNotFoundError(
            f"training action {training_id} has {training.version} versions, not {version}"
        )
    return training


def training_as_of(
    application: TrackerApplication, training_id: UUID, as_of: datetime
) -> TrainingAction:
    """The training action as it was known at `as_of`: its events recorded up to then."""
    _require_training(application, training_id)
    version = version_as_of(application, training_id, as_of)
    if version == 0:
        raise TrainingNotKnownAtError(
            f"training action {training_id} was not recorded yet at {as_of.isoformat()}"
        )
    return application.get_training(training_id, version=version)
