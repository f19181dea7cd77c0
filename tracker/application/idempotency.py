"""Idempotency-Key: the first answer to a write, kept durably and replayed for retries.

A key belongs to the token that sent it (two clients cannot collide or read each other's
answers). Its life:

1. *Reservation* — a `pending` row inserted in its own transaction before the command
   runs. A second request with the key while it is pending gets 409; with another body
   (method, path and validated fields) it gets 422 whatever the state.
2. *Completion* — a side write (`CompletionWrite`) running inside the events' own
   transaction marks the row `completed` with the response. So the answer is stored if and
   only if the events were: a crash can never leave events without their record, nor a
   record without its events.
3. *Release* — a command that fails (domain refusal, stale version...) wrote nothing; its
   reservation is deleted, so a retry with the same key runs afresh. Only successful writes
   are replayed.
4. *Expiry* — after `idempotency_ttl_hours` a key is forgotten (lookups ignore it) and a
   periodic purge deletes it.

A reservation left `pending` by a crashed process: since completion is atomic with the
events, a pending row means no events were committed for it. After
`idempotency_lease_seconds` (far longer than any command can run: the store's lock timeout
times the retries) the next request with the same key and body takes the reservation over
and runs the command. Should the original request still be running after all, its
completion finds the row owned by someone else and aborts its own transaction
(`ReservationLostError`), so the command is still written at most once.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from eventsourcing.persistence import IntegrityError
from eventsourcing.sqlite import SQLiteCursor
from psycopg import Cursor
from psycopg.rows import DictRow
from sqlalchemy import Engine

from tracker.schema.access import idempotency_keys
from tracker.schema.event_store import EVENTS_TABLE

PENDING = "pending"
COMPLETED = "completed"

log = structlog.get_logger("tracker.idempotency")


class IdempotencyKeyReusedError(Exception):
    """The key was first used with another request (method, path or body)."""


class IdempotencyKeyInProgressError(Exception):
    """The first request with this key is still running."""


class ReservationLostError(IntegrityError):
    """Another request took this key's reservation over: abort this command's transaction.

    An `IntegrityError`, so that the group committer retries the other commands of a shared
    transaction on their own, and this command fails like a lost version race.
    """


@dataclass(frozen=True)
class StoredResponse:
    """A write's answer as first sent: replayed as is for a retry with the same key."""

    status_code: int
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass(frozen=True)
class Reservation:
    """The right to run the command for (token, key), held by `owner`."""

    token_id: str
    key: str
    owner: str


Renderer = Callable[[str, int, int], StoredResponse]
"""Builds a write's answer from the aggregate id, its new version and the last position."""


def fingerprint(method: str, path: str, body: dict[str, Any]) -> str:
    """What makes two requests 'the same': method, path and the validated body."""
    canonical = json.dumps(
        {"method": method, "path": path, "body": body}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class CompletionWrite:
    """The side write that stores a command's answer in the events' own transaction."""

    reservation: Reservation
    render: Renderer

    def _row(self, status: str, stored: StoredResponse, position: int) -> tuple[Any, ...]:
        return (
            COMPLETED,
            stored.status_code,
            json.dumps(stored.body),
            json.dumps(stored.headers),
            position,
            self.reservation.token_id,
            self.reservation.key,
            self.reservation.owner,
            status,
        )

    def write_sqlite(self, cursor: SQLiteCursor, positions: Sequence[int]) -> None:
        if not positions:
            return
        # On SQLite the position is the events table's rowid.
        cursor.execute(
            f"SELECT originator_id, originator_version FROM {EVENTS_TABLE} WHERE rowid = ?",  # noqa: S608
            (positions[-1],),
        )
        event = cursor.fetchone()
        # SQLite keeps the originator id as 32 hex digits.
        stored = self.render(str(uuid.UUID(str(event[0]))), int(event[1]), positions[-1])
        cursor.execute(
            "UPDATE idempotency_keys SET state = ?, status_code = ?, response_body = ?,"
            " response_headers = ?, position = ?"
            " WHERE token_id = ? AND idempotency_key = ? AND owner = ? AND state = ?",
            self._row(PENDING, stored, positions[-1]),
        )
        cursor.execute("SELECT changes()")
        if cursor.fetchone()[0] != 1:
            raise ReservationLostError(f"idempotency key {self.reservation.key!r} was taken over")

    def write_postgres(self, cursor: Cursor[DictRow], positions: Sequence[int]) -> None:
        if not positions:
            return
        cursor.execute(
            "SELECT originator_id, originator_version FROM "  # noqa: S608
            f"{EVENTS_TABLE} WHERE notification_id = %s",
            (positions[-1],),
        )
        event = cursor.fetchone()
        assert event is not None
        stored = self.render(
            str(event["originator_id"]), int(event["originator_version"]), positions[-1]
        )
        cursor.execute(
            "UPDATE idempotency_keys SET state = %s, status_code = %s, response_body = %s,"
            " response_headers = %s, position = %s"
            " WHERE token_id = %s AND idempotency_key = %s AND owner = %s AND state = %s"
            " RETURNING owner",
            self._row(PENDING, stored, positions[-1]),
        )
        # The recorder runs in pipeline mode, where `rowcount` is not known until the
        # results are fetched: count the returned rows instead.
        if len(cursor.fetchall()) != 1:
            raise ReservationLostError(f"idempotency key {self.reservation.key!r} was taken over")


class IdempotencyStore:
    """Reserve, replay, release and purge idempotency records (one per process)."""

    def __init__(
        self,
        ttl: timedelta,
        lease: timedelta,
        purge_interval: timedelta = timedelta(minutes=10),
    ) -> None:
        self.ttl = ttl
        self.lease = lease
        self.purge_interval = purge_interval
        self._last_purge = float("-inf")
        self._purge_lock = threading.Lock()

    def reserve(
        self, engine: Engine, token_id: str, key: str, request_fingerprint: str
    ) -> Reservation | StoredResponse:
        """Reserve the key for this request, or return the first answer to replay.

        Raises `IdempotencyKeyReusedError` (another body) or `IdempotencyKeyInProgressError`.
        """
        self._maybe_purge(engine)
        table = idempotency_keys
        this_key = sa.and_(table.c.token_id == token_id, table.c.idempotency_key == key)
        for _attempt in range(3):
            now = datetime.now(UTC)
            owner = uuid.uuid4().hex
            try:
                with engine.begin() as connection:
                    connection.execute(table.delete().where(this_key, table.c.expires_at <= now))
                    connection.execute(
                        table.insert().values(
                            token_id=token_id,
                            idempotency_key=key,
                            fingerprint=request_fingerprint,
                            owner=owner,
                            state=PENDING,
                            reserved_at=now,
                            expires_at=now + self.ttl,
                        )
                    )
                return Reservation(token_id, key, owner)
            except sa.exc.IntegrityError:
                pass
            with engine.begin() as connection:
                row = connection.execute(
                    sa.select(table).where(this_key, table.c.expires_at > now)
                ).first()
                if row is None:
                    continue  # expired or released meanwhile: try to reserve again
                if row.fingerprint != request_fingerprint:
                    raise IdempotencyKeyReusedError(
                        "this Idempotency-Key was used for a different request"
                    )
                if row.state == COMPLETED:
                    return StoredResponse(
                        row.status_code,
                        json.loads(row.response_body),
                        json.loads(row.response_headers),
                    )
                taken_over = connection.execute(
                    table.update()
                    .where(
                        this_key,
                        table.c.owner == row.owner,
                        table.c.state == PENDING,
                        table.c.reserved_at < now - self.lease,
                    )
                    .values(owner=owner, reserved_at=now, expires_at=now + self.ttl)
                )
                if taken_over.rowcount == 1:
                    log.warning("idempotency_reservation_taken_over", token_id=token_id)
                    return Reservation(token_id, key, owner)
                raise IdempotencyKeyInProgressError(
                    "a request with this Idempotency-Key is in progress"
                )
        raise IdempotencyKeyInProgressError("a request with this Idempotency-Key is in progress")

    def release(self, engine: Engine, reservation: Reservation) -> None:
        """Forget a reservation whose command wrote nothing, so a retry runs afresh."""
        table = idempotency_keys
        with engine.begin() as connection:
            connection.execute(
                table.delete().where(
                    table.c.token_id == reservation.token_id,
                    table.c.idempotency_key == reservation.key,
                    table.c.owner == reservation.owner,
                    table.c.state == PENDING,
                )
            )

    def purge_expired(self, engine: Engine) -> int:
        """Delete every expired record; returns how many."""
        with engine.begin() as connection:
            result = connection.execute(
                idempotency_keys.delete().where(idempotency_keys.c.expires_at <= datetime.now(UTC))
            )
        return result.rowcount

    def _maybe_purge(self, engine: Engine) -> None:
        # Opportunistic: at most one purge per interval per process, run by whichever
        # request comes first. Lookups ignore expired rows, so correctness never waits on it.
        now = time.monotonic()
        if now - self._last_purge < self.purge_interval.total_seconds():
            return
        if not self._purge_lock.acquire(blocking=False):
            return
        try:
            self._last_purge = now
            purged = self.purge_expired(engine)
            if purged:
                log.info("idempotency_keys_purged", count=purged)
        finally:
            self._purge_lock.release()
