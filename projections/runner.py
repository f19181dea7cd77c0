"""Running the projections: batches, locks, live following, status, waits and rebuilds.

Why not the library's `ProjectionRunner` (its `Projection`, `TrackingRecorder` and
notification selection are used as they are):

- it commits one transaction per event, about 5x slower than a batch of hundreds on both
  databases (docs/design-notes.md §0); a catch-up of the whole log should take seconds;
- its subscription needs `subscribe()`, which neither SQLite recorder implements
  (docs/design-notes.md §1);
- its runner builds its own copy of the application and a view on its own engine
  (docs/design-notes.md §2), where tracker wants the read models on the one SQLAlchemy engine;
- its PostgreSQL tracking insert let two runners both commit the same position
  (docs/design-notes.md §3).

So a `ProjectionWorker` reads notifications with the recorder's `select_notifications`,
decodes them with the application's mapper, and applies a batch in one SQLAlchemy
transaction that (1) takes the projection's lock, (2) re-reads the tracking position and
gives up if another projector moved it, (3) runs `process_event` for each event, and
(4) moves the position with a conditional update. Rows and position commit together: a
projector killed anywhere in a batch leaves the previous batch's state and position, and
the next run starts from there; nothing is lost or applied twice.

The lock is taken per batch, not for a projector's lifetime: PostgreSQL
`pg_advisory_xact_lock` (released at commit, or when a killed process's connection
drops), and on SQLite an exclusive `flock` on a file beside the database (released by
the kernel when the process dies). A second projector waits for the lock, then finds the
position moved and continues from there: never both apply an event. The per-batch lock
also lets a rebuild take the lock for its swap while the live projector keeps running.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import hashlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import psycopg
import sqlalchemy as sa
import structlog
from eventsourcing.persistence import Notification, Tracking
from sqlalchemy import Connection
from sqlalchemy.engine import make_url

from projections.activity import ActivityProjection
from projections.base import ReadModelProjection
from projections.portfolio import PortfolioProjection, recorded_at
from projections.reading import read_engine
from projections.rows import RowFeed
from projections.timeline import TimelineProjection
from projections.training import TrainingProjection
from projections.training_timeline import TrainingTimelineProjection
from projections.view import ReadModelView, now_utc, utc
from tracker.application.services import Services
from tracker.config.settings import Settings
from tracker.schema.event_store import APPLICATION_NAME, EVENTS_TABLE
from tracker.schema.metadata import NAMING_CONVENTION
from tracker.schema.read_models import projection_tracking
from tracker.store.postgres import notification_channel

log = structlog.get_logger("tracker.projections")

PROJECTIONS: tuple[type[ReadModelProjection], ...] = (
    PortfolioProjection,
    ActivityProjection,
    TrainingProjection,
    TimelineProjection,
    TrainingTimelineProjection,
)
SHADOW_SUFFIX = "__shadow"
# How long an idle PostgreSQL projector waits for a NOTIFY before looking anyway (and how
# long `stop()` can take at most while it waits).
LISTEN_TIMEOUT_SECONDS = 0.5
# Events per transaction of a rebuild's replay: the rows are in memory for one batch only,
# and a commit costs per batch, not per event (the live projector uses the setting).
REBUILD_BATCH_SIZE = 5000
# The cyclic garbage collector's thresholds while a rebuild replays the log. A batch makes
# hundreds of thousands of small dicts (rows, twins, decoded events) that live until its
# commit and hold no cycles; at the default thresholds (700, 10, 10) the collector walked
# them again and again: a quarter of a rebuild's CPU (docs/benchmarks.md).
REBUILD_GC_THRESHOLDS = (50_000, 20, 100)
# On PostgreSQL, a rebuild of at least this many events replays its groups of projections
# (a projection and the one feeding it stay together) in as many processes as there are
# cores, up to one per group: the replay is CPU-bound Python, one core per process. Below
# it, starting a process (importing tracker, ~1 CPU-second) costs more than it saves.
# SQLite takes one writer at a time (a batch holds the write lock): one process there.
REBUILD_PARALLEL_EVENTS = 50_000
# The role lock of `tracker serve --workers N` (BackgroundRole), and how often a process
# without it tries to take it over.
ROLE_LOCK_NAME = "serve-background-role"
ROLE_RETRY_SECONDS = 1.0
# How often a request waiting for a position re-reads the tracking table when no
# in-process projector tells it (the projections run in another process).
WAIT_POLL_SECONDS = 0.05


class Stoppable(Protocol):
    def stop(self) -> None: ...


class ConcurrentProjectorError(RuntimeError):
    """Another projector moved the position in the middle of this batch."""


def projection_named(name: str) -> type[ReadModelProjection]:
    """The projection class called `name` (ValueError listing the names otherwise)."""
    for projection in PROJECTIONS:
        if projection.name == name:
            return projection
    known = ", ".join(p.name for p in PROJECTIONS)
    msg = f"no projection {name!r}: the projections are {known}"
    raise ValueError(msg)


# -- locks -----------------------------------------------------------------------------------


def advisory_key(lock_name: str) -> int:
    """A stable signed 64-bit key for `pg_advisory_xact_lock`."""
    digest = hashlib.sha256(f"tracker.projection:{lock_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_file(services: Services, lock_name: str) -> Path:
    database = make_url(services.settings.database_url).database or "tracker.db"
    return Path(f"{database}.{lock_name}.lock")


@contextlib.contextmanager
def locked_transaction(
    services: Services, lock_name: str, on_wait: Callable[[], None] | None = None
) -> Iterator[Connection]:
    """A transaction holding the projection's lock; `on_wait` runs if another holds it."""
    if services.settings.is_sqlite:
        with lock_file(services, lock_name).open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None:
                    on_wait()
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                with services.engine.begin() as connection:
                    yield connection
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    with services.engine.begin() as connection:
        key = {"key": advisory_key(lock_name)}
        if not connection.scalar(sa.text("SELECT pg_try_advisory_xact_lock(:key)"), key):
            if on_wait is not None:
                on_wait()
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), key)
        yield connection


# -- positions ---------------------------------------------------------------------------


def _ensure_tracking_row(connection: Connection, name: str) -> None:
    exists = connection.scalar(
        sa.select(projection_tracking.c.position).where(projection_tracking.c.name == name)
    )
    if exists is None:
        connection.execute(
            sa.insert(projection_tracking).values(
                name=name, position=0, event_recorded_at=None, updated_at=now_utc()
            )
        )


def read_position(connection: Connection, name: str) -> int:
    position = connection.scalar(
        sa.select(projection_tracking.c.position).where(projection_tracking.c.name == name)
    )
    return int(position or 0)


def _position_column(services: Services) -> str:
    # The library's SQLite recorder uses the rowid as the notification id.
    return "rowid" if services.settings.is_sqlite else "notification_id"


def head_position(services: Services) -> int:
    """The position of the newest event in the log (0 when it is empty)."""
    column = _position_column(services)
    with read_engine(services).connect() as connection:
        head = connection.scalar(sa.text(f"SELECT max({column}) FROM {EVENTS_TABLE}"))  # noqa: S608
    return int(head or 0)


class PositionBoard:
    """The positions committed in this process, for requests waiting to read their writes."""

    def __init__(self) -> None:
        self._positions: dict[str, int] = {}
        self._changed = threading.Condition()

    def publish(self, name: str, position: int) -> None:
        with self._changed:
            if position > self._positions.get(name, -1):
                self._positions[name] = position
                self._changed.notify_all()

    def reached(self, names: Sequence[str], position: int) -> bool:
        return all(self._positions.get(n, -1) >= position for n in names)

    def wait(self, names: Sequence[str], position: int, timeout: float) -> bool:
        """Block until every named projection reached `position`; False at the timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not self.reached(names, position):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True


# -- the worker ----------------------------------------------------------------------------


class ProjectionWorker:
    """Applies one projection's batches: into its live tables, or into shadows (rebuild)."""

    def __init__(
        self,
        services: Services,
        projection_class: type[ReadModelProjection],
        *,
        tracking_name: str | None = None,
        tables: Mapping[sa.Table, sa.Table] | None = None,
        batch_size: int | None = None,
        board: PositionBoard | None = None,
        on_wait: Callable[[], None] | None = None,
    ) -> None:
        self.services = services
        self.name = tracking_name or projection_class.name
        self.view = ReadModelView(
            read_engine(services), self.name, tables or {t: t for t in projection_class.tables}
        )
        self.projection = projection_class(self.view)
        self.projection.attach(services)
        self.batch_size = batch_size or services.settings.projection_batch_size
        self.board = board
        self.on_wait = on_wait
        # Where this worker records what each event did to its rows, for a projection fed
        # by this one (`ReadModelProjection.fed_by`) in the same rebuild.
        self.feed: RowFeed | None = None

    def record_into(self, feed: RowFeed) -> None:
        """Record, per event of each batch, what the handlers did to the rows (copies)."""
        self.feed = feed
        self.view.recording = True

    def position(self) -> int:
        """The committed position (0 before the first batch)."""
        return self.view.max_tracking_id(APPLICATION_NAME) or 0

    def _fetch(self, after: int) -> tuple[list[Notification], list[Any]]:
        application = self.services.application
        notifications = list(
            application.recorder.select_notifications(
                start=after, limit=self.batch_size, inclusive_of_start=False
            )
        )
        return notifications, [application.mapper.to_domain_event(n) for n in notifications]

    def apply(
        self,
        connection: Connection,
        after: int,
        notifications: Sequence[Notification],
        events: Sequence[Any],
    ) -> int:
        """Apply a batch in `connection` (which holds the lock) and move the position."""
        with self.view.bind(connection):
            self.projection.prefetch(events)
            # Bound once per batch: the dispatch itself still happens per event.
            process_event = self.projection.process_event
            feed = self.feed
            if feed is None:
                for notification, event in zip(notifications, events, strict=True):
                    process_event(event, Tracking(APPLICATION_NAME, notification.id))
            else:
                feed.clear()  # the previous batch's: its readers ran before this one
                rows = self.view.rows
                for notification, event in zip(notifications, events, strict=True):
                    process_event(event, Tracking(APPLICATION_NAME, notification.id))
                    feed[notification.id] = rows.take_touched(copy=True)
            for event in reversed(events):
                moment = recorded_at(event)
                if moment is not None:
                    self.view.note_recorded_at(moment)
                    break
            self.projection.end_batch()
            self.view.flush()
            pending = self.view.pending
            if pending is None:
                return 0
            moved = connection.execute(
                sa.update(projection_tracking)
                .where(
                    projection_tracking.c.name == self.name,
                    projection_tracking.c.position == after,
                )
                .values(
                    position=pending.notification_id,
                    event_recorded_at=self.view.pending_recorded_at,
                    updated_at=now_utc(),
                )
            )
            if moved.rowcount != 1:
                msg = f"projection {self.name} moved past {after} during this batch"
                raise ConcurrentProjectorError(msg)
            return len(notifications)

    def run_batch(self, page: tuple[Sequence[Notification], Sequence[Any]] | None = None) -> int:
        """Apply the next batch; the number of events applied (0: caught up).

        `page` is notifications already read and decoded (with their events) by a caller
        replaying several projections at once; those this projection already applied are
        skipped.
        """
        after = self.position()
        if self.board is not None:
            self.board.publish(self.name, after)
        notifications: Sequence[Notification]
        events: Sequence[Any]
        if page is None:
            notifications, events = self._fetch(after)
        else:
            start = next((i for i, n in enumerate(page[0]) if n.id > after), len(page[0]))
            notifications, events = page[0][start:], page[1][start:]
        if not notifications:
            return 0
        # Decoding happened before the lock, which is held only to write.
        with locked_transaction(self.services, self.name, self.on_wait) as connection:
            _ensure_tracking_row(connection, self.name)
            if read_position(connection, self.name) != after:
                # Another projector applied these events while this one waited: start over.
                return -1
            applied = self.apply(connection, after, notifications, events)
        if self.board is not None:
            self.board.publish(self.name, notifications[-1].id)
        return applied

    def catch_up_in(self, connection: Connection) -> int:
        """Apply every remaining event inside `connection`, which already holds the lock."""
        _ensure_tracking_row(connection, self.name)
        total = 0
        while True:
            after = read_position(connection, self.name)
            notifications, events = self._fetch(after)
            if not notifications:
                return total
            total += self.apply(connection, after, notifications, events)

    def run_until_caught_up(self, on_batch: Callable[[int], None] | None = None) -> int:
        """Apply batches until the log is exhausted; the number of events applied."""
        total = 0
        while (applied := self.run_batch()) != 0:
            if applied > 0:
                total += applied
                if on_batch is not None:
                    on_batch(self.position())
        return total


# -- running in the background, or as `tracker projector` ------------------------------------


class Projector:
    """Every projection, followed live in one thread; `stop()` ends at a batch boundary."""

    def __init__(
        self,
        services: Services,
        projections: Sequence[type[ReadModelProjection]] = PROJECTIONS,
    ) -> None:
        self.services = services
        self.board = PositionBoard()
        self.workers = [ProjectionWorker(services, p, board=self.board) for p in projections]
        self.live_batch_size = services.settings.projection_live_batch_size
        self.names = [w.name for w in self.workers]
        self._stopping = threading.Event()
        self._listener: psycopg.Connection[Any] | None = None
        self._thread = threading.Thread(target=self._run, name="tracker-projector", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> Projector:
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """Ask the loop to stop after the current batch (safe from a signal handler)."""
        self._stopping.set()

    def stop(self) -> None:
        """Stop after the current batch commits, and wait for the thread to end."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def run_forever(self) -> None:
        """Run in the calling thread until `stop()` (from another thread or a signal)."""
        self._run()

    def wait_for(self, position: int, timeout: float) -> bool:
        """Block until every projection reached `position`; False at the timeout."""
        return self.board.wait(self.names, position, timeout)

    def _listen(self) -> psycopg.Connection[Any] | None:
        if self.services.settings.is_sqlite:
            return None
        url = make_url(self.services.settings.database_url).set(drivername="postgresql")
        connection = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
        channel = notification_channel(self.services.application.recorder)
        connection.execute(psycopg.sql.SQL("LISTEN {}").format(psycopg.sql.Identifier(channel)))
        return connection

    def _wait_for_events(self, listener: psycopg.Connection[Any] | None) -> None:
        if listener is None:
            # SQLite cannot notify: look again after a short poll (or at once on stop).
            self._stopping.wait(self.services.settings.projection_poll_seconds)
            return
        for _ in listener.notifies(timeout=LISTEN_TIMEOUT_SECONDS, stop_after=1):
            pass

    def _run(self) -> None:
        listener: psycopg.Connection[Any] | None = None
        failures = 0
        try:
            while not self._stopping.is_set():
                try:
                    if listener is None:
                        # LISTEN before looking, so no notification falls in between.
                        listener = self._listen()
                    busy = False
                    for worker in self.workers:
                        if self._stopping.is_set():
                            return
                        applied = worker.run_batch()
                        busy = applied != 0 or busy
                        if 0 <= applied < worker.batch_size:
                            # Caught up: follow from now on in small batches. A batch holds
                            # its transaction (on SQLite, the database's write lock) while
                            # it applies, ~1 ms per event: 500 events kept every save
                            # waiting ~0.5 s. The catch-up before (and rebuilds) keep
                            # large batches, where the per-batch cost matters.
                            worker.batch_size = min(worker.batch_size, self.live_batch_size)
                    failures = 0
                    if not busy:
                        self._wait_for_events(listener)
                except Exception as error:  # the database went away, a bug in a handler…
                    failures += 1
                    self.error = error
                    log.exception("projector_failed", attempt=failures)
                    if listener is not None:
                        with contextlib.suppress(Exception):
                            listener.close()
                        listener = None
                    # Back off (interruptibly) and try again: the batch rolled back whole.
                    self._stopping.wait(min(30.0, 0.5 * 2 ** min(failures, 6)))
        finally:
            if listener is not None:
                listener.close()


def start_background_projector(services: Services) -> Projector:
    """Start the projections in a daemon thread of this process (`tracker serve`)."""
    projector = Projector(services).start()
    log.info("projector_started", projections=projector.names)
    return projector


class BackgroundRole:
    """The background work of several `tracker serve` processes on one store, run by one.

    Each process of `tracker serve --workers N` starts one. A thread tries to take the
    store's role lock without waiting: a PostgreSQL session advisory lock on a connection of
    its own, or an exclusive `flock` on a file beside the SQLite database. The process that
    takes it calls `start` (the projector, the webhook deliverer) and keeps the lock until
    it stops; the others try again every `ROLE_RETRY_SECONDS`, so when the holder dies (the
    server drops its connection, the kernel its file) another takes the role over within
    about that delay. The lock only saves work: the projections' per-batch locks keep two
    projectors correct anyway (this module's docstring), e.g. while a holder whose
    PostgreSQL connection broke is still stopping.
    """

    def __init__(self, services: Services, start: Callable[[], Sequence[Stoppable]]) -> None:
        self.services = services
        self._start = start
        self._running: list[Stoppable] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tracker-role", daemon=True)

    def start(self) -> BackgroundRole:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop what this process runs (if it holds the role), then release the lock."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    @contextlib.contextmanager
    def _lock(self) -> Iterator[bool]:
        """Whether this process took the role; held until the block ends."""
        if self.services.settings.is_sqlite:
            with lock_file(self.services, ROLE_LOCK_NAME).open("a") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    yield False
                    return
                try:
                    yield True
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
            return
        url = make_url(self.services.settings.database_url).set(drivername="postgresql")
        with psycopg.connect(
            url.render_as_string(hide_password=False), autocommit=True
        ) as connection:
            row = connection.execute(
                "SELECT pg_try_advisory_lock(%s)", (advisory_key(ROLE_LOCK_NAME),)
            ).fetchone()
            yield bool(row and row[0])
            # Closing the connection releases the session lock.

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with self._lock() as taken:
                    if taken:
                        log.info("background_role_taken", pid=os.getpid())
                        self._running = list(self._start())
                        try:
                            self._stopping.wait()
                        finally:
                            for running in reversed(self._running):
                                running.stop()
                            self._running = []
                        return
            except Exception:  # the database is away: try again after the delay
                log.exception("background_role_failed")
            self._stopping.wait(ROLE_RETRY_SECONDS)


# -- status and waits ----------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectionStatus:
    """How far one projection is behind the log."""

    name: str
    position: int
    head: int
    lag_events: int
    lag_seconds: float
    updated_at: datetime | None


def status(services: Services) -> list[ProjectionStatus]:
    """Position, head and lag (events, seconds) of every projection (for ops and the CLI)."""
    column = _position_column(services)
    statuses: list[ProjectionStatus] = []
    with read_engine(services).connect() as connection:
        head = int(
            connection.scalar(sa.text(f"SELECT max({column}) FROM {EVENTS_TABLE}"))  # noqa: S608
            or 0
        )
        rows = {
            row.name: row
            for row in connection.execute(
                sa.select(projection_tracking).where(
                    projection_tracking.c.name.in_([p.name for p in PROJECTIONS])
                )
            )
        }
        for projection in PROJECTIONS:
            row = rows.get(projection.name)
            position = int(row.position) if row else 0
            lag_events = int(
                connection.scalar(
                    sa.text(f"SELECT count(*) FROM {EVENTS_TABLE} WHERE {column} > :p"),  # noqa: S608
                    {"p": position},
                )
                or 0
            )
            lag_seconds = _lag_seconds(services, position) if lag_events else 0.0
            statuses.append(
                ProjectionStatus(
                    name=projection.name,
                    position=position,
                    head=head,
                    lag_events=lag_events,
                    lag_seconds=lag_seconds,
                    updated_at=utc(row.updated_at) if row else None,
                )
            )
    return statuses


def _lag_seconds(services: Services, position: int) -> float:
    """How long ago the oldest event not yet applied was recorded."""
    application = services.application
    notifications = application.recorder.select_notifications(
        start=position, limit=1, inclusive_of_start=False
    )
    if not notifications:
        return 0.0
    recorded = recorded_at(application.mapper.to_domain_event(notifications[0]))
    if recorded is None:
        return 0.0
    return max(0.0, (datetime.now(UTC) - recorded).total_seconds())


def committed_positions(services: Services) -> dict[str, int]:
    """Each projection's committed position, read from the tracking table."""
    names = [p.name for p in PROJECTIONS]
    with read_engine(services).connect() as connection:
        rows = connection.execute(
            sa.select(projection_tracking.c.name, projection_tracking.c.position).where(
                projection_tracking.c.name.in_(names)
            )
        )
        found = {row.name: int(row.position) for row in rows}
    return {name: found.get(name, 0) for name in names}


def wait_for_position(
    services: Services,
    position: int,
    timeout: float,
    projector: Projector | None = None,
) -> bool:
    """Block until every projection applied `position`; False when `timeout` passes first.

    With the projector in this process, waits on its condition (woken at each commit);
    otherwise re-reads the tracking table every `WAIT_POLL_SECONDS`. Call it off the
    event loop.
    """
    if projector is not None and projector.board.reached(projector.names, position):
        return True
    deadline = time.monotonic() + timeout
    pause = threading.Event()  # never set: a timed wait that can't spin
    while True:
        if min(committed_positions(services).values()) >= position:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        if projector is not None:
            if projector.wait_for(position, min(remaining, 1.0)):
                return True
        else:
            pause.wait(min(remaining, WAIT_POLL_SECONDS))


# -- rebuilds ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """A row that differs between a live table and its rebuilt shadow."""

    table: str
    key: tuple[Any, ...]
    live: dict[str, Any] | None
    rebuilt: dict[str, Any] | None

    def describe(self) -> str:
        if self.live is None:
            return f"{self.table} {self.key}: missing from the live table"
        if self.rebuilt is None:
            return f"{self.table} {self.key}: in the live table, not in the rebuilt one"
        changed = [
            f"{column}: live={self.live[column]!r} rebuilt={self.rebuilt[column]!r}"
            for column in self.live
            if self.live[column] != self.rebuilt[column]
        ]
        return f"{self.table} {self.key}: " + "; ".join(changed)


@dataclass(frozen=True)
class RebuildResult:
    name: str
    position: int
    events: int
    swapped: bool
    differences: list[Difference]
    seconds: float


def shadow_tables(projection_class: type[ReadModelProjection]) -> dict[sa.Table, sa.Table]:
    """A copy of each of the projection's tables, named `<table>__shadow`, with its keys
    and constraints but no secondary index.

    A replay reads its shadows only by primary key (a batch loads partitions: the key's
    first column), and a swap copies them whole: an index there would be kept up at every
    insert for nothing (the live table's own are kept up by the swap's copy).
    """
    shadow_metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    shadows: dict[sa.Table, sa.Table] = {}
    for table in projection_class.tables:
        shadow = table.to_metadata(shadow_metadata, name=f"{table.name}{SHADOW_SUFFIX}")
        # The copy keeps the primary key's explicit name, which must be unique per schema.
        shadow.primary_key.name = f"pk_{shadow.name}"
        shadow.indexes.clear()
        shadows[table] = shadow
    return shadows


def _rows(connection: Connection, table: sa.Table) -> dict[tuple[Any, ...], dict[str, Any]]:
    keys = [c.name for c in table.primary_key.columns]
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in connection.execute(sa.select(table)).mappings():
        values = {k: utc(v) if isinstance(v, datetime) else v for k, v in row.items()}
        rows[tuple(values[k] for k in keys)] = values
    return rows


def compare(connection: Connection, tables: Mapping[sa.Table, sa.Table]) -> list[Difference]:
    """Every row that differs between each live table and its shadow."""
    differences: list[Difference] = []
    for live_table, shadow in tables.items():
        live, rebuilt = _rows(connection, live_table), _rows(connection, shadow)
        for key in sorted(live.keys() | rebuilt.keys(), key=repr):
            if live.get(key) != rebuilt.get(key):
                differences.append(
                    Difference(live_table.name, key, live.get(key), rebuilt.get(key))
                )
    return differences


def rebuild(
    services: Services,
    projection_class: type[ReadModelProjection],
    *,
    check: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> RebuildResult:
    """Replay the log into shadow tables, then swap them in (or, with `check`, compare).

    The replay runs in batches beside the live projector. The swap holds the live
    projection's lock for one transaction: it applies the last events to the shadows,
    replaces each live table's rows with its shadow's and sets the live position. Readers
    see the old rows until that commit and the new ones after it, never a mixture.

    Why copy rows rather than rename tables: index and constraint names are global to a
    schema, so a renamed shadow would carry `__shadow` names that drift from the
    migrations; the copy is one `INSERT … SELECT` per table, inside the same transaction.
    """
    (result,) = rebuild_all(services, (projection_class,), check=check, on_progress=on_progress)
    return result


def rebuild_all(
    services: Services,
    projection_classes: Sequence[type[ReadModelProjection]] = PROJECTIONS,
    *,
    check: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    batch_size: int | None = None,
    processes: int | None = None,
) -> list[RebuildResult]:
    """`rebuild` several projections over one replay of the log.

    Reading and decoding an event costs about as much as applying it to a projection, so
    the replay reads each page once and applies it to every projection's shadows (each in
    its own transaction); then each projection catches up and swaps (or compares) under its
    own lock, one after the other, as `rebuild` does. A projection fed by another
    (`ReadModelProjection.fed_by`, the timeline by the portfolio) reads what that one's
    handlers did to its rows, event by event, instead of running them again. `batch_size`
    (events per transaction) defaults to `REBUILD_BATCH_SIZE`.

    On PostgreSQL the projections are rebuilt in up to `processes` processes at once (by
    default, when the log holds `REBUILD_PARALLEL_EVENTS` events or more, the
    `rebuild_processes` setting, else one per core):
    each process replays its own group of projections (`replay_groups`; a fed projection
    stays beside its feeder) with a read of the log of its own, then catches up and swaps
    (or compares) each of them as above. This process keeps the first group and reports
    its progress; the others are spawned (the caller's main module must be importable
    without side effects, as `multiprocessing` requires).
    """
    started = time.perf_counter()
    plans = [(cls, shadow_tables(cls), f"{cls.name}{SHADOW_SUFFIX}") for cls in projection_classes]
    results: list[RebuildResult] = []
    thresholds = gc.get_threshold()
    gc.set_threshold(*REBUILD_GC_THRESHOLDS)
    try:
        for _, shadows, shadow_name in plans:
            _drop_shadows(services, shadows, shadow_name)
            with services.engine.begin() as connection:
                for shadow in shadows.values():
                    shadow.create(connection)
        batch_size = batch_size or max(REBUILD_BATCH_SIZE, services.settings.projection_batch_size)
        head = head_position(services)
        groups = replay_groups(
            projection_classes, _replay_processes(services, head, len(plans), processes)
        )
        rebuilt: list[Future[list[RebuildResult]]] = []
        with contextlib.ExitStack() as stack:
            if len(groups) > 1:
                # Spawned, not forked: a fork would share this process's open connections.
                pool = stack.enter_context(
                    ProcessPoolExecutor(
                        len(groups) - 1, mp_context=multiprocessing.get_context("spawn")
                    )
                )
                rebuilt = [
                    pool.submit(
                        _rebuild_apart,
                        services.settings,
                        [cls.name for cls in group],
                        check=check,
                        batch_size=batch_size,
                        head=head,
                        started=started,
                    )
                    for group in groups[1:]
                ]
            results = _rebuild_group(
                services,
                [plan for plan in plans if plan[0] in groups[0]],
                check=check,
                batch_size=batch_size,
                head=head,
                started=started,
                on_progress=on_progress,
            )
            for child in rebuilt:
                results += child.result()
        order = {cls.name: index for index, cls in enumerate(projection_classes)}
        results.sort(key=lambda result: order[result.name])
    finally:
        gc.set_threshold(*thresholds)
        for _, shadows, shadow_name in plans:
            _drop_shadows(services, shadows, shadow_name)
    return results


Plan = tuple[type[ReadModelProjection], dict[sa.Table, sa.Table], str]


def _rebuild_group(
    services: Services,
    plans: Sequence[Plan],
    *,
    check: bool,
    batch_size: int,
    head: int,
    started: float,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[RebuildResult]:
    """Replay the log once into these projections' shadows (created already), then catch
    each up and swap it in (or compare it) under its own lock, one after the other."""
    workers = [
        ProjectionWorker(
            services, cls, tracking_name=shadow_name, tables=shadows, batch_size=batch_size
        )
        for cls, shadows, shadow_name in plans
    ]
    _feed(workers)
    replayed = _replay(workers, (lambda p: on_progress(p, head)) if on_progress else None)
    results: list[RebuildResult] = []
    for (cls, shadows, shadow_name), worker, events in zip(plans, workers, replayed, strict=True):
        with locked_transaction(services, cls.name) as connection:
            events += worker.catch_up_in(connection)
            position = read_position(connection, shadow_name)
            differences: list[Difference] = []
            if check:
                ProjectionWorker(services, cls).catch_up_in(connection)
                differences = compare(connection, shadows)
            else:
                _swap(connection, shadows, cls.name, position)
        _drop_shadows(services, shadows, shadow_name)
        if on_progress is not None:
            on_progress(position, max(head, position))
        results.append(
            RebuildResult(
                name=cls.name,
                position=position,
                events=events,
                swapped=not check,
                differences=differences,
                # The monotonic clock is the machine's: a child's figure counts from the
                # caller's start too.
                seconds=time.perf_counter() - started,
            )
        )
    return results


def _rebuild_apart(
    settings: Settings,
    names: Sequence[str],
    *,
    check: bool,
    batch_size: int,
    head: int,
    started: float,
) -> list[RebuildResult]:
    """`_rebuild_group` in a process of its own, for the named projections."""
    gc.set_threshold(*REBUILD_GC_THRESHOLDS)
    services = Services.open(settings, adopt_signing_key=False)
    try:
        plans = [
            (cls, shadow_tables(cls), f"{cls.name}{SHADOW_SUFFIX}")
            for cls in map(projection_named, names)
        ]
        return _rebuild_group(
            services, plans, check=check, batch_size=batch_size, head=head, started=started
        )
    finally:
        services.close()


def replay_groups(
    projection_classes: Sequence[type[ReadModelProjection]], processes: int
) -> list[list[type[ReadModelProjection]]]:
    """The projections split for `processes` replays: a projection stays with the one that
    feeds it (`fed_by`), the first group (this process's) holds the first projection's,
    and the other groups are dealt to the other processes in turn."""
    linked: list[list[type[ReadModelProjection]]] = []
    for cls in projection_classes:
        home = next((g for g in linked if cls.fed_by is not None and cls.fed_by in g), None)
        if home is None:
            linked.append([cls])
        else:
            home.append(cls)
    count = max(1, min(processes, len(linked)))
    groups: list[list[type[ReadModelProjection]]] = [[] for _ in range(count)]
    groups[0] = linked[0] if linked else []
    for index, group in enumerate(linked[1:]):
        groups[1 + index % (count - 1) if count > 1 else 0].extend(group)
    # Each process replays its projections in the order asked (a feeder before the fed).
    order = {cls: i for i, cls in enumerate(projection_classes)}
    return [sorted(g, key=order.__getitem__) for g in groups if g]


def _replay_processes(
    services: Services, head: int, projections: int, processes: int | None
) -> int:
    """How many processes replay: one on SQLite, `processes` if given, else for a log of
    `REBUILD_PARALLEL_EVENTS` or more the `rebuild_processes` setting or one per core (up
    to one per projection)."""
    if services.settings.is_sqlite or projections < 2:
        return 1
    if processes is not None:
        return max(1, processes)
    if head < REBUILD_PARALLEL_EVENTS:
        return 1
    chosen = services.settings.rebuild_processes or len(os.sched_getaffinity(0))
    return min(projections, chosen)


def _feed(workers: Sequence[ProjectionWorker]) -> None:
    """Hand each projection fed by another (`fed_by`) that one's rows, event by event, when
    both replay here and the feeding one runs first on each page."""
    for index, consumer in enumerate(workers):
        source = next(
            (w for w in workers[:index] if type(w.projection) is consumer.projection.fed_by),
            None,
        )
        if source is not None:
            if source.feed is None:
                source.record_into({})
            consumer.projection.feed = source.feed


def _replay(
    workers: Sequence[ProjectionWorker], on_batch: Callable[[int], None] | None
) -> list[int]:
    """Apply the log to every worker, each page read and decoded once; events applied."""
    totals = [0] * len(workers)
    while True:
        after = min(worker.position() for worker in workers)
        page = workers[0]._fetch(after)
        if not page[0]:
            return totals
        for i, worker in enumerate(workers):
            while (applied := worker.run_batch(page)) < 0:
                pass  # another writer moved this shadow's position: look again
            totals[i] += applied
        if on_batch is not None:
            on_batch(min(worker.position() for worker in workers))


def _swap(
    connection: Connection, shadows: Mapping[sa.Table, sa.Table], name: str, position: int
) -> None:
    for live_table, shadow in shadows.items():
        connection.execute(sa.delete(live_table))
        columns = [c.name for c in live_table.columns]
        connection.execute(
            sa.insert(live_table).from_select(columns, sa.select(*[shadow.c[c] for c in columns]))
        )
    _ensure_tracking_row(connection, name)
    recorded_at = connection.scalar(
        sa.select(projection_tracking.c.event_recorded_at).where(
            projection_tracking.c.name == f"{name}{SHADOW_SUFFIX}"
        )
    )
    connection.execute(
        sa.update(projection_tracking)
        .where(projection_tracking.c.name == name)
        .values(position=position, event_recorded_at=recorded_at, updated_at=now_utc())
    )


def _drop_shadows(
    services: Services, shadows: Mapping[sa.Table, sa.Table], shadow_name: str
) -> None:
    with services.engine.begin() as connection:
        for shadow in shadows.values():
            shadow.drop(connection, checkfirst=True)
        connection.execute(
            sa.delete(projection_tracking).where(projection_tracking.c.name == shadow_name)
        )
