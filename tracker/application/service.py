"""The service layer: an eventsourcing Application that runs tracker's commands.

`execute` is the one path that writes events: every command of `commands.py` (projects,
labs, the admin log, tokens, people, the seed's) loads its aggregate, lets the domain
decide, and saves the new events in one transaction. Without an expected version, a
command that loses a race on the aggregate's version is retried on the latest state
(`Settings.command_retries` attempts); with one (`If-Match`), a mismatch is refused with
`StaleVersionError` and nothing is written.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from domain.admin import ADMIN_LOG_ID, AdminLog
from domain.campaign import Campaign
from domain.lab import Lab
from domain.meta import Meta
from domain.project import Project
from domain.training import TrainingAction
from tracker.application.commands import (
    Command,
    Decision,
    Load,
    RecordSigningKeyAdopted,
    load_campaign,
    load_lab,
    load_project,
    load_training,
)
from tracker.application.group_commit import GroupCommitter
from tracker.config.settings import Settings
from tracker.schema.event_store import APPLICATION_NAME
from tracker.store.environment import event_store_env
from tracker.store.interface import SideWrite, Signing, audit_recorder
from tracker.store.signing import Signer
from tracker.store.transcodings import register_tracker_transcodings

log = structlog.get_logger("tracker.commands")

AGGREGATE_LOCK_STRIPES = 1024


class ApplicationError(Exception):
    """A command could not be applied for a reason outside the domain's rules."""


class StaleVersionError(ApplicationError):
    """The client's expected version is not the aggregate's current version."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"expected version {expected}, the current version is {actual}")
        self.expected = expected
        self.actual = actual


class ConflictRetriesExhaustedError(ApplicationError):
    """Concurrent writers kept winning the race for this aggregate."""


@dataclass(frozen=True)
class CommandResult:
    """What a command answers: the aggregate, its new version, and its last event's position."""

    id: UUID
    version: int
    position: int
    created_id: str | None = None


@dataclass(frozen=True)
class WriteOptions:
    """How the edge wants a command written: the expected version, and writes to join."""

    expected_version: int | None = None
    side_writes: Sequence[SideWrite] = ()


DEFAULT_OPTIONS = WriteOptions()


class TrackerApplication(Application[UUID]):
    """tracker's commands and strongly consistent reads, over the event store."""

    name = APPLICATION_NAME  # pinned: table names derive from it
    is_snapshotting_enabled = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # The library declares the intervals as a class variable; tracker's come from settings.
        self.__dict__["snapshotting_intervals"] = {
            Project: settings.snapshot_interval,
            AdminLog: settings.snapshot_interval,
            TrainingAction: settings.snapshot_interval,
        }
        env = event_store_env(settings)
        if settings.aggregate_cache_size:
            # The library's aggregate cache, fast-forwarded on every get: a read costs one
            # query for the events after the cached version (instead of the snapshot's and
            # the events' queries), and sees other processes' writes. Gets return deep
            # copies, so a command that fails never leaves its changes in the cache.
            env |= {
                "AGGREGATE_CACHE_MAXSIZE": str(settings.aggregate_cache_size),
                "AGGREGATE_CACHE_FASTFORWARD": "y",
                "DEEPCOPY_FROM_AGGREGATE_CACHE": "y",
            }
        super().__init__(env=env)
        self.signer = (
            Signer.from_file(settings.audit_signing_key_file)
            if settings.audit_signing_key_file is not None
            else None
        )
        if self.signer is not None:
            audit_recorder(self.recorder).configure_signing(
                Signing(self.signer, settings.audit_head_signing_seconds)
            )
        self._locks = [threading.Lock() for _ in range(AGGREGATE_LOCK_STRIPES)]
        self.committer = (
            GroupCommitter(self.save, settings.group_commit_max_batch)
            if settings.group_commit
            else None
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_tracker_transcodings(transcoder)

    # -- context ---------------------------------------------------------------------------

    def today(self) -> date:
        """Today's date in the labs' time zone."""
        return datetime.now(self.settings.zone).date()

    def meta(self, actor: str, correlation_id: str, occurred_on: date | None = None) -> Meta:
        """Build a command's metadata; `occurred_on` defaults to today and may not be later."""
        today = self.today()
        return Meta(
            actor=actor,
            correlation_id=correlation_id,
            occurred_on=occurred_on or today,
            today=today,
        )

    # -- reads -------------------------------------------------------------------------------

    def get_project(self, project_id: UUID, version: int | None = None) -> Project:
        """A project's current state (or as of `version`), replayed from the store."""
        return load_project(lambda pid: self.repository.get(pid, version=version), project_id)

    def get_lab(self, slug: str) -> Lab:
        """A lab by its slug."""
        return load_lab(self.repository.get, slug)

    def get_training(self, training_id: UUID, version: int | None = None) -> TrainingAction:
        """A training action's current state (or as of `version`), replayed from the store."""
        return load_training(lambda tid: self.repository.get(tid, version=version), training_id)

    def get_campaign(self, slug: str) -> Campaign:
        """A campaign by its slug."""
        return load_campaign(self.repository.get, slug)

    def list_labs(self) -> list[Lab]:
        """Every registered lab, in registration order."""
        topic = f"{Lab.LabRegistered.__module__}:{Lab.LabRegistered.__qualname__}"
        labs: list[Lab] = []
        start = 1
        while True:
            notifications = self.recorder.select_notifications(
                start=start, limit=500, topics=[topic]
            )
            labs.extend(self.repository.get(UUID(str(n.originator_id))) for n in notifications)
            if len(notifications) < 500:
                return labs
            start = notifications[-1].id + 1

    def signing_keys(self) -> dict[str, str]:
        """The public keys (hex, by key id) that may sign this store's heads.

        Those the admin log records (SigningKeyAdopted) and the configured key, which may
        not be recorded yet (`adopt_signing_key` records it).
        """
        try:
            admin_log: Aggregate = self.repository.get(ADMIN_LOG_ID)
        except AggregateNotFoundError:
            keys: dict[str, str] = {}
        else:
            assert isinstance(admin_log, AdminLog)
            keys = dict(admin_log.signing_keys)
        if self.signer is not None:
            keys[self.signer.key_id] = self.signer.public_key
        return keys

    def adopt_signing_key(self, actor: str = "system") -> None:
        """Record the configured signing key in the admin log, once (a rotation adds one)."""
        if self.signer is None:
            return
        self.execute(
            RecordSigningKeyAdopted(key_id=self.signer.key_id, public_key=self.signer.public_key),
            self.meta(actor, f"signing-key-{self.signer.key_id}"),
        )

    # -- writes: the one command path ------------------------------------------------------

    def execute(
        self, command: Command, meta: Meta, options: WriteOptions = DEFAULT_OPTIONS
    ) -> CommandResult:
        """Decide `command` on the latest state and save its events: how tracker writes.

        Commands on one aggregate queue on its lock in this process; a lost version race
        with another process is decided again on fresh state (`Settings.command_retries`
        attempts) unless the caller pinned `expected_version` (then `StaleVersionError`).
        """
        started = time.perf_counter()
        expected = options.expected_version
        side_writes = [*command.side_writes(), *options.side_writes]
        with self._aggregate_lock(command.aggregate_id):
            for _attempt in range(self.settings.command_retries):
                decision = command.decide(self._loader(command.aggregate_id, expected), meta)
                try:
                    return self._save(command, decision, meta, side_writes, started)
                except IntegrityError:
                    if expected is not None:
                        current: int = self.repository.get(command.aggregate_id).version
                        raise StaleVersionError(expected, current) from None
                    if not command.retry_after_conflict(self.repository.get):
                        raise
                    log.info(
                        "command_conflict_retry",
                        command=command.command_name,
                        aggregate_id=str(command.aggregate_id),
                    )
        raise ConflictRetriesExhaustedError(
            f"{command.command_name} on {command.aggregate_id} lost "
            f"{self.settings.command_retries} races"
        )

    def execute_many(self, commands: Sequence[tuple[Command, Meta]]) -> list[CommandResult]:
        """Decide several commands in order and save all their events in one transaction.

        For bulk loads (the seed): the same commands and domain rules as `execute`, one
        commit instead of one each (docs/design-notes.md §0: batched saves are 8-15x faster
        per event). A later command sees the aggregates earlier ones changed. If the batch
        loses a race, the commands are run again one by one through `execute`.
        """
        started = time.perf_counter()
        held: dict[UUID, Aggregate] = {}

        def load(aggregate_id: UUID) -> Aggregate:
            if aggregate_id in held:
                return held[aggregate_id]
            aggregate: Aggregate = self.repository.get(aggregate_id)
            return aggregate

        decided: list[tuple[Decision, int]] = []
        for command, meta in commands:
            decision = command.decide(load, meta)
            held[decision.aggregate.id] = decision.aggregate
            decided.append((decision, decision.aggregate.version))
        side_writes = [w for command, _ in commands for w in command.side_writes()]
        try:
            recordings = self.save(*held.values(), side_writes=side_writes)
        except IntegrityError:
            return [self.execute(command, meta) for command, meta in commands]
        positions = {
            (r.domain_event.originator_id, r.domain_event.originator_version): r.notification.id
            for r in recordings
        }
        results = [
            CommandResult(
                d.aggregate.id, version, positions.get((d.aggregate.id, version), 0), d.created_id
            )
            for d, version in decided
        ]
        log.info(
            "commands",
            count=len(results),
            first_position=min(positions.values(), default=0),
            last_position=max(positions.values(), default=0),
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return results

    def _loader(self, target: UUID, expected_version: int | None) -> Load:
        def load(aggregate_id: UUID) -> Aggregate:
            aggregate: Aggregate = self.repository.get(aggregate_id)
            if (
                aggregate_id == target
                and expected_version is not None
                and aggregate.version != expected_version
            ):
                raise StaleVersionError(expected_version, aggregate.version)
            return aggregate

        return load

    def _aggregate_lock(self, aggregate_id: UUID) -> threading.Lock:
        # Commands on one aggregate queue up in this process instead of racing on its version;
        # the retries of `execute` are for writers in other processes.
        return self._locks[aggregate_id.int % len(self._locks)]

    def _save(
        self,
        command: Command,
        decision: Decision,
        meta: Meta,
        side_writes: Sequence[SideWrite],
        started: float,
    ) -> CommandResult:
        aggregate = decision.aggregate
        if self.committer is not None:
            recordings = self.committer.submit(aggregate, side_writes)
        else:
            recordings = self.save(aggregate, side_writes=list(side_writes))
        position = recordings[-1].notification.id if recordings else 0
        log.info(
            "command",
            command=command.command_name,
            aggregate_id=str(aggregate.id),
            version=aggregate.version,
            position=position,
            actor=meta.actor,
            correlation_id=meta.correlation_id,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return CommandResult(aggregate.id, aggregate.version, position, decision.created_id)
