"""Group commit: concurrent commands on different aggregates share one store transaction.

A commit's cost is dominated by the database's commit (docs/design-notes.md §0: one `save` of 20
aggregates is 8-15x faster per event than 20 saves). Threads that finish deciding a command
while another thread is committing queue their aggregates; when that commit ends, the
first queued thread becomes the leader and saves everything queued in one `save(...)`.

Each command keeps its own guarantees: at most one aggregate per id goes in a batch; its side
writes (idempotency records) see only its own events' positions; and if the batch fails on
a version conflict it is retried one command at a time, so only the command that lost the
race sees the conflict (and its caller retries it on fresh state, as without batching).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Recording
from eventsourcing.sqlite import SQLiteCursor
from psycopg import Cursor
from psycopg.rows import DictRow

from tracker.store.interface import SideWrite

SaveFunction = Callable[..., list[Recording[UUID]]]


@dataclass(frozen=True)
class _Scoped:
    """A command's side write, seeing only the positions of its own events in a batch."""

    side_write: SideWrite
    offset: int
    count: int

    def write_sqlite(self, cursor: SQLiteCursor, positions: Sequence[int]) -> None:
        self.side_write.write_sqlite(cursor, positions[self.offset : self.offset + self.count])

    def write_postgres(self, cursor: Cursor[DictRow], positions: Sequence[int]) -> None:
        self.side_write.write_postgres(cursor, positions[self.offset : self.offset + self.count])


@dataclass
class _Pending:
    aggregate: Any
    side_writes: Sequence[SideWrite]
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    recordings: list[Recording[UUID]] | None = None
    error: BaseException | None = None


class GroupCommitter:
    """Saves aggregates submitted by concurrent threads in shared transactions."""

    def __init__(self, save: SaveFunction, max_batch: int = 64) -> None:
        self._save = save
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._leader_active = False

    def submit(self, aggregate: Any, side_writes: Sequence[SideWrite]) -> list[Recording[UUID]]:
        """Save `aggregate` (with its side writes), alone or with others; block until done."""
        pending = _Pending(aggregate, side_writes)
        with self._lock:
            self._queue.append(pending)
            if self._leader_active:
                lead = False
            else:
                self._leader_active = lead = True
        if not lead:
            pending.done.wait()
            if not pending.lead:
                return self._outcome(pending)
            pending.done.clear()
        self._lead()
        return self._outcome(pending)

    @staticmethod
    def _outcome(pending: _Pending) -> list[Recording[UUID]]:
        if pending.error is not None:
            raise pending.error
        assert pending.recordings is not None
        return pending.recordings

    def _lead(self) -> None:
        """Commit one batch, then hand leadership to the next queued thread, if any."""
        with self._lock:
            batch: list[_Pending] = []
            ids: set[UUID] = set()
            for item in list(self._queue):
                if len(batch) == self._max_batch:
                    break
                if item.aggregate.id not in ids:
                    ids.add(item.aggregate.id)
                    batch.append(item)
                    self._queue.remove(item)
        self._commit(batch)
        with self._lock:
            if self._queue:
                successor = self._queue[0]
                successor.lead = True
                successor.done.set()
            else:
                self._leader_active = False
        for item in batch:
            item.done.set()

    def _commit(self, batch: list[_Pending]) -> None:
        if len(batch) == 1:
            self._commit_one(batch[0])
            return
        scoped: list[SideWrite] = []
        offset = 0
        for item in batch:
            count = len(item.aggregate.pending_events)
            scoped.extend(_Scoped(s, offset, count) for s in item.side_writes)
            offset += count
        # The library collects pending events during save; keep them to retry singly.
        saved_events = [list(item.aggregate.pending_events) for item in batch]
        try:
            recordings = self._save(*(item.aggregate for item in batch), side_writes=scoped)
        except IntegrityError:
            for item, events in zip(batch, saved_events, strict=True):
                item.aggregate.pending_events[:] = events
                self._commit_one(item)
            return
        except BaseException as error:
            for item in batch:
                item.error = error
            return
        by_aggregate: dict[UUID, list[Recording[UUID]]] = {}
        for recording in recordings:
            by_aggregate.setdefault(recording.domain_event.originator_id, []).append(recording)
        for item in batch:
            item.recordings = by_aggregate.get(item.aggregate.id, [])

    def _commit_one(self, item: _Pending) -> None:
        try:
            item.recordings = self._save(item.aggregate, side_writes=list(item.side_writes))
        except BaseException as error:
            item.error = error
