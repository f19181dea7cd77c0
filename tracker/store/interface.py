"""What tracker's event store offers beyond the library's `ApplicationRecorder`, typed.

`AuditRecorder` declares, once, the reads and the import that tracker's audit code needs
(`tracker.audit`): both database modules (`tracker.store.sqlite`, `tracker.store.postgres`)
implement it. Code that holds an application's recorder, typed as the library's
`ApplicationRecorder`, gets it as an `AuditRecorder` with `audit_recorder()`, which checks
the class instead of trusting it.

The value types that cross this interface live here too: `PositionedEvent` and
`ImportedEvent` (audit reads and the import), `ChainScan` (what the verifier reads),
`SideWrite` (a write that a command hands to `save()` to run in the events' transaction),
and the errors the store raises.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Recorder, StoredEvent
from eventsourcing.sqlite import SQLiteCursor
from psycopg import Cursor
from psycopg.rows import DictRow

from tracker.schema.event_store import SNAPSHOTS_TABLE
from tracker.store.chain import Checkpoint, EventRow, HashRow, RecordedRow
from tracker.store.signing import SignedHead, Signer


class SideWrite(Protocol):
    """A write that must commit or roll back with the events of one `save()`.

    A command passes these as `save(..., side_writes=[...])`; the recorder runs each one in
    the events' own transaction, after the events are inserted, with their positions.
    """

    def write_sqlite(self, cursor: SQLiteCursor, positions: Sequence[int]) -> None: ...

    def write_postgres(self, cursor: Cursor[DictRow], positions: Sequence[int]) -> None: ...


class StoreNotEmptyError(Exception):
    """An import needs an empty event store."""


class UnsupportedRecorderError(NotImplementedError):
    """A recorder the library's factory offers, but which tracker's event store does not.

    The library would build it on tables that tracker's migrations do not create, or on
    tracker's events table without the hash chain: better to refuse at construction than to
    fail at the first write (or to write events that `tracker audit verify` flags).
    """

    @classmethod
    def tracking(cls) -> UnsupportedRecorderError:
        """The factory's `tracking_recorder()` is refused."""
        return cls(
            "tracker's event store has no tracking recorder: the library's would write to a"
            " tracking table that tracker's migrations do not create (docs/design-notes.md §4);"
            " tracker's projections record their positions in projection_tracking"
            " (projections/view.py)"
        )

    @classmethod
    def process(cls) -> UnsupportedRecorderError:
        """The factory's `process_recorder()` is refused."""
        return cls(
            "tracker's event store has no process recorder: the library's would save events"
            " without tracker's hash chain, and tracking rows to a table that tracker's"
            " migrations do not create (docs/design-notes.md §4)"
        )

    @classmethod
    def aggregate(cls, purpose: str) -> UnsupportedRecorderError:
        """The factory's `aggregate_recorder(purpose)` is refused for this purpose."""
        return cls(
            f"tracker's event store has no {purpose!r} aggregate recorder: only 'snapshots'"
            f" ({SNAPSHOTS_TABLE}) has a table that tracker's migrations create"
            " (docs/design-notes.md §4), and events are saved through the application"
            " recorder, which chains their hashes"
        )


@dataclass(frozen=True)
class Signing:
    """How the event store signs: its key, and the longest a head may stay unsigned.

    A save signs its last event when the latest signed head is `head_seconds` old or more
    (so while events arrive, the head is signed at least that often), besides every
    checkpoint it writes.
    """

    signer: Signer
    head_seconds: float


@dataclass(frozen=True)
class PositionedEvent:
    """A stored event with its position in the log and its recorded hash (None if missing)."""

    position: int
    stored_event: StoredEvent
    hash: str | None


@dataclass(frozen=True)
class ImportedEvent:
    """An exported event to import: its bytes and the hash row recomputed for it."""

    row: HashRow
    topic: str
    state: bytes


@dataclass(frozen=True)
class ChainScan:
    """The whole log and its hash rows up to a position, page by page, from one snapshot.

    `events` yields pages of `EventRow` tuples in position order, `recorded` pages of
    `RecordedRow` tuples of `tracker_event_hashes` in position order; the two are read side
    by side, each from its own cursor, so memory stays constant whatever the log's length.
    """

    events: Iterator[list[EventRow]]
    recorded: Iterator[list[RecordedRow]]


SCAN_PAGE = 2000


class AuditRecorder(ApplicationRecorder, ABC):
    """The library's application recorder, plus the reads and the import of tracker's audit.

    Implemented by `TrackerSQLiteApplicationRecorder` and `TrackerPostgresApplicationRecorder`,
    which also write each saved event's hash row (and the checkpoints) in the events' own
    transaction (`tracker.store.chaining`), and sign checkpoints and heads when `signing`
    is set (`configure_signing`).
    """

    signing: Signing | None = None

    def configure_signing(self, signing: Signing | None) -> None:
        """Sign from now on with `signing` (None: write unsigned checkpoints)."""
        self.signing = signing

    @abstractmethod
    def select_signatures(self) -> list[SignedHead]:
        """Every signed head of `tracker_audit_signatures`, in position order."""

    @abstractmethod
    def latest_signature(self) -> SignedHead | None:
        """The signed head at the highest position, if any."""

    @abstractmethod
    def select_stream(
        self, originator_id: UUID, gt: int | None = None, lte: int | None = None, limit: int = 100
    ) -> list[PositionedEvent]:
        """One stream's events in version order, with their positions and recorded hashes.

        Only versions after `gt` (when given) and up to `lte` (when given), `limit` at most.
        An event without a hash row (written outside the application) has `hash` None.
        """

    @abstractmethod
    def scan_chain(self, stop: int) -> AbstractContextManager[ChainScan]:
        """Every event and every hash row up to position `stop`, streamed from one snapshot.

        Events come with their ids in canonical form (no UUID parsed) and a NULL or
        non-binary state as bytes (b"" for NULL): what the verifier hashes. Pages hold
        `SCAN_PAGE` rows; the snapshot is released when the context exits.
        """

    @abstractmethod
    def select_hash_rows(self, after: int, limit: int) -> list[HashRow]:
        """Rows of `tracker_event_hashes` after position `after`, in position order."""

    @abstractmethod
    def select_checkpoints(self) -> list[Checkpoint]:
        """Every row of `tracker_checkpoints`, in position order."""

    @abstractmethod
    def max_hash_position(self) -> int:
        """The last position with a recorded hash (0 when there is none)."""

    @abstractmethod
    def import_log(
        self,
        batches: Iterable[Sequence[ImportedEvent]],
        checkpoints: Sequence[Checkpoint],
        signatures: Sequence[SignedHead] = (),
    ) -> int:
        """Insert exported events at their own positions into an empty store, in one transaction.

        Consumes `batches` first, inserting each event with its hash row, then inserts
        `checkpoints` and the exported `signatures` (which the caller may fill, or check,
        while `batches` is consumed). Returns the number of events inserted. Raises
        `StoreNotEmptyError` when the store already holds an event, a hash row, a checkpoint
        or a signature; any error rolls the whole import back.
        """


def audit_recorder(recorder: Recorder) -> AuditRecorder:
    """`recorder` as an `AuditRecorder`; a TypeError if it is not tracker's event store.

    An application's `recorder` attribute is typed as the library's `ApplicationRecorder`;
    it is tracker's only when the application was built with tracker's environment
    (`tracker.store.environment.event_store_env`).
    """
    if not isinstance(recorder, AuditRecorder):
        msg = (
            f"{type(recorder).__module__}.{type(recorder).__qualname__} is not tracker's event"
            " store recorder: build the application with tracker.store.environment's"
            " event_store_env(settings), whose factories make an AuditRecorder"
        )
        raise TypeError(msg)
    return recorder
