"""The portfolio read model as it stood at a recorded instant: a replay into memory.

`portfolio(asOf: T)` answers "what did we know at T": the roll-ups over the events whose
recorded time (the library's event `timestamp`, as `project_as_of` uses it) is at or
before T. Rather than keep every read-model row with valid-from/valid-to columns (which
would change every handler and every live query), the portfolio projection itself is run
over exactly those events into a private in-memory SQLite database holding its tables,
and the dashboards' own roll-up queries are then pointed at that database. One code path
for the logic: the handlers are the live projection's (through `ProjectionWorker.apply`,
as a rebuild drives them) and the roll-ups are the live ones.

Which events: every event up to the head of the log, filtered by timestamp. Positions
are not in timestamp order: a command's events are stamped when it runs and positioned
when it commits, so a slower concurrent writer's event can be stamped before T and
positioned after an event stamped after T. Stopping at the first later timestamp would
lose it; nothing bounds that delay, so the whole log up to the head is read.

Why an incremental cache is exact: positions up to the head are final once the head is
visible (SQLite has one writer at a time; the PostgreSQL recorder takes an EXCLUSIVE table
lock while it inserts and commits, so ids become visible in order). A replay for T that
has read the log up to head H therefore holds exactly what a full replay up to H would
hold; reaching a later head H' means applying the events of (H, H'] stamped at or before
T, in position order, after the others: what a full replay up to H' does. So the cache
is keyed by T (per database) and each entry catches up to the head read by each request,
under its own lock, before the query runs. An entry is evicted least recently used first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.pool import StaticPool

from projections.portfolio import PortfolioProjection, recorded_at
from projections.runner import REBUILD_BATCH_SIZE, ProjectionWorker, head_position
from projections.view import now_utc
from tracker.application.services import Services
from tracker.schema.read_models import projection_tracking

TRACKING_NAME = f"{PortfolioProjection.name}__as_of"
# Instants kept per database. Each is a copy of the portfolio's tables (a few MB at the
# seed's 200 projects); dashboards tend to ask the same few instants (a month's end…).
CACHE_SIZE = 4
# Events read, decoded and applied at a time (the rows of one batch are in memory at once).
REPLAY_BATCH = REBUILD_BATCH_SIZE


def instant(as_of: datetime) -> datetime:
    """`as_of` as an aware UTC instant (a naive one is read as UTC, as `project_as_of` does)."""
    return as_of.astimezone(UTC) if as_of.tzinfo else as_of.replace(tzinfo=UTC)


class PortfolioAsOf:
    """The portfolio's tables replayed from the events recorded up to one instant."""

    def __init__(self, as_of: datetime) -> None:
        self.as_of = instant(as_of)
        # One connection for the engine's lifetime: an in-memory database lives and dies
        # with its connection. Threads share it one at a time, under `lock`.
        self.engine = sa.create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
        self.lock = threading.Lock()
        # The log has been read up to `read_up_to`; the last event applied is `applied`.
        self.read_up_to = 0
        self.applied = 0
        self.events = 0
        with self.engine.begin() as connection:
            for table in (*PortfolioProjection.tables, projection_tracking):
                table.create(connection)
            connection.execute(
                sa.insert(projection_tracking).values(
                    name=TRACKING_NAME, position=0, event_recorded_at=None, updated_at=now_utc()
                )
            )

    def catch_up(self, services: Services, head: int) -> None:
        """Apply the events of (`read_up_to`, `head`] recorded at or before the instant.

        Call it holding `lock`.
        """
        # The live projection's own batch entry point, writing into this database's tables.
        # (Made per call, and not kept: the cache must not hold the services it is keyed by.)
        worker = ProjectionWorker(
            services, PortfolioProjection, tracking_name=TRACKING_NAME, batch_size=REPLAY_BATCH
        )
        recorder, mapper = services.application.recorder, services.application.mapper
        while self.read_up_to < head:
            notifications = recorder.select_notifications(
                start=self.read_up_to,
                limit=REPLAY_BATCH,
                stop=head,
                inclusive_of_start=False,
            )
            if not notifications:
                break
            kept: list[Any] = []
            events: list[Any] = []
            for notification in notifications:
                event = mapper.to_domain_event(notification)
                moment = recorded_at(event)
                if moment is not None and moment <= self.as_of:
                    kept.append(notification)
                    events.append(event)
            if kept:
                with self.engine.begin() as connection:
                    worker.apply(connection, self.applied, kept, events)
                self.applied = kept[-1].id
                self.events += len(kept)
            self.read_up_to = notifications[-1].id
        self.read_up_to = max(self.read_up_to, head)


_cache: WeakKeyDictionary[Engine, OrderedDict[datetime, PortfolioAsOf]] = WeakKeyDictionary()
_cache_lock = threading.Lock()


def _entry(services: Services, as_of: datetime) -> PortfolioAsOf:
    key = instant(as_of)
    with _cache_lock:
        entries = _cache.setdefault(services.engine, OrderedDict())
        entry = entries.get(key)
        if entry is None:
            entry = entries[key] = PortfolioAsOf(key)
        entries.move_to_end(key)
        while len(entries) > CACHE_SIZE:
            # Not disposed: a request may still hold it; it goes with the last reference.
            entries.popitem(last=False)
    return entry


@contextmanager
def portfolio_as_of(services: Services, as_of: datetime) -> Iterator[Engine]:
    """An engine on the portfolio's tables as known at `as_of`, for the block's reads.

    The replay covers the log up to the head read on entry, at least (further if another
    request for the same instant read a later head). Blocking: call it off the event loop.
    The engine is shared with requests for the same instant: use it only inside the block,
    which holds its lock, and only to read.
    """
    head = head_position(services)
    entry = _entry(services, as_of)
    with entry.lock:
        entry.catch_up(services, head)
        yield entry.engine
