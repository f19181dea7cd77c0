"""What both event-store recorders write and read beside the events, whatever the database.

`write_chain` writes the hash rows (and the checkpoints that fall due) of the events a save
just inserted, through the save's own cursor, so they commit or roll back with the events;
the hash rule itself is `tracker.store.chain`. The statements here use `%s` placeholders:
each database module wraps its cursor in a `ChainCursor` that adapts them.
"""

# S608: every table name in this module's SQL is a constant, never input.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import structlog
from eventsourcing.persistence import StoredEvent

from tracker.schema.audit import CHECKPOINTS_TABLE, EVENT_HASHES_TABLE, SIGNATURES_TABLE
from tracker.store.chain import (
    GENESIS,
    ChainedEvent,
    ChainState,
    Checkpoint,
    HashRow,
    canonical_id,
)
from tracker.store.interface import SCAN_PAGE, SideWrite, Signing, StoreNotEmptyError
from tracker.store.signing import SignedHead, signed_age_seconds

log = structlog.get_logger("tracker.store.chaining")

SELECT_STREAM_HEAD = (
    f"SELECT hash FROM {EVENT_HASHES_TABLE} WHERE originator_id = %s AND originator_version = %s"
)
SELECT_LOG_HEAD = (
    f"SELECT position, running_hash FROM {EVENT_HASHES_TABLE}"
    " WHERE position < %s ORDER BY position DESC LIMIT 1"
)
INSERT_HASH_ROW = (
    f"INSERT INTO {EVENT_HASHES_TABLE} (position, originator_id, originator_version,"
    " hash, prev_hash, running_hash) VALUES (%s, %s, %s, %s, %s, %s)"
)
INSERT_CHECKPOINT = f"INSERT INTO {CHECKPOINTS_TABLE} (position, running_hash) VALUES (%s, %s)"
SELECT_HASH_ROWS = (
    "SELECT position, originator_id, originator_version, hash, prev_hash, running_hash"
    f" FROM {EVENT_HASHES_TABLE} WHERE position > %s ORDER BY position LIMIT %s"
)
SELECT_CHECKPOINTS = f"SELECT position, running_hash FROM {CHECKPOINTS_TABLE} ORDER BY position"
INSERT_SIGNATURE = (
    f"INSERT INTO {SIGNATURES_TABLE} (position, running_hash, signed_at, key_id, signature)"
    " VALUES (%s, %s, %s, %s, %s)"
)
SIGNATURE_COLUMNS = "position, running_hash, signed_at, key_id, signature"
SELECT_LATEST_SIGNATURE = (
    f"SELECT {SIGNATURE_COLUMNS} FROM {SIGNATURES_TABLE} ORDER BY position DESC LIMIT 1"
)
SELECT_SIGNATURES = f"SELECT {SIGNATURE_COLUMNS} FROM {SIGNATURES_TABLE} ORDER BY position"
MAX_HASH_POSITION = f"SELECT MAX(position) AS position FROM {EVENT_HASHES_TABLE}"
SCAN_RECORDED = (
    "SELECT position, originator_id, originator_version, hash, prev_hash"
    f" FROM {EVENT_HASHES_TABLE} WHERE position <= %s ORDER BY position"
)


class ChainCursor(Protocol):
    """The few cursor operations the chain writer needs, with `%s` placeholders.

    Rows come back as mappings (both libraries' cursors are set up to return them).
    """

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None: ...

    def executemany(self, statement: str, params: Sequence[Sequence[Any]]) -> None: ...

    def fetchone(self) -> Any: ...


class FetchingCursor(Protocol):
    """A DB-API cursor that has run a query: what `pages` reads."""

    def fetchmany(self, size: int) -> list[Any]: ...


def pages(cursor: FetchingCursor, size: int = SCAN_PAGE) -> Iterator[list[Any]]:
    """The rows of the cursor's query, `size` at a time (the last page may be shorter)."""
    while page := cursor.fetchmany(size):
        yield page


def side_writes(kwargs: dict[str, Any]) -> Sequence[SideWrite]:
    """The side writes a command passed to `save(..., side_writes=[...])`, if any."""
    writes: Sequence[SideWrite] = kwargs.get("side_writes") or ()
    return writes


def write_chain(
    db: ChainCursor,
    stored_events: Sequence[StoredEvent],
    positions: Sequence[int],
    signing: Signing | None = None,
) -> None:
    """Write the hash rows (and due checkpoints) of events just inserted at `positions`.

    With `signing`, every checkpoint is signed, and so is the save's last event when the
    latest signed head is older than `signing.head_seconds` (docs/audit.md "Signed heads").
    """
    if not positions:
        return
    events = sorted(zip(positions, stored_events, strict=True), key=lambda pair: pair[0])
    chain = ChainState(heads={})
    seen: set[str] = set()
    for _, stored in events:
        stream = canonical_id(stored.originator_id)
        first_in_batch = stream not in seen
        seen.add(stream)
        # Only a stream's first event in this save chains to a stored hash; later ones chain
        # to their predecessor in the same save (a new stream starts from genesis).
        if first_in_batch and stored.originator_version > 1:
            db.execute(SELECT_STREAM_HEAD, (stream, stored.originator_version - 1))
            found = db.fetchone()
            if found is None:
                # Tampering or a bug: chain from genesis and let `tracker audit verify` say so.
                log.warning("chain_head_missing", stream=stream, version=stored.originator_version)
            chain.heads[stream] = (
                stored.originator_version - 1,
                found["hash"] if found else GENESIS,
            )
    db.execute(SELECT_LOG_HEAD, (events[0][0],))
    head = db.fetchone()
    if head is not None:
        chain.last_position, chain.running = head["position"], head["running_hash"]
    rows: list[HashRow] = []
    checkpoints: list[Checkpoint] = []
    for position, stored in events:
        row, checkpoint = chain.append(
            ChainedEvent(
                position,
                canonical_id(stored.originator_id),
                stored.originator_version,
                stored.topic,
                stored.state,
            )
        )
        rows.append(row)
        if checkpoint is not None:
            checkpoints.append(checkpoint)
    # Every read before the first write: in psycopg's pipeline mode a fetch after an
    # `executemany` would read that statement's result instead.
    heads = _heads_to_sign(db, signing, rows[-1], checkpoints) if signing is not None else []
    db.executemany(INSERT_HASH_ROW, [hash_params(row) for row in rows])
    db.executemany(INSERT_CHECKPOINT, checkpoint_params(checkpoints))
    db.executemany(INSERT_SIGNATURE, [signature_params(head) for head in heads])


def _heads_to_sign(
    db: ChainCursor, signing: Signing, last: HashRow, checkpoints: Sequence[Checkpoint]
) -> list[SignedHead]:
    signer = signing.signer
    heads = [signer.sign(k.position, k.running_hash) for k in checkpoints]
    if checkpoints and checkpoints[-1].position == last.position:
        return heads
    db.execute(SELECT_LATEST_SIGNATURE)
    latest = db.fetchone()
    if latest is None or signed_age_seconds(latest["signed_at"]) >= signing.head_seconds:
        heads.append(signer.sign(last.position, last.running_hash))
    return heads


def signature_params(head: SignedHead) -> tuple[Any, ...]:
    """The parameters of `INSERT_SIGNATURE` for one signed head."""
    return (head.position, head.running_hash, head.signed_at, head.key_id, head.signature)


def signed_head(row: Any) -> SignedHead:
    """A `SignedHead` from a row of `tracker_audit_signatures`."""
    return SignedHead(
        row["position"], row["running_hash"], row["signed_at"], row["key_id"], row["signature"]
    )


def hash_params(row: HashRow) -> tuple[Any, ...]:
    """The parameters of `INSERT_HASH_ROW` for one hash row."""
    return (
        row.position,
        row.originator_id,
        row.originator_version,
        row.hash,
        row.prev_hash,
        row.running_hash,
    )


def checkpoint_params(checkpoints: Sequence[Checkpoint]) -> list[tuple[int, str]]:
    """The parameters of `INSERT_CHECKPOINT` for each checkpoint."""
    return [(k.position, k.running_hash) for k in checkpoints]


def hash_row(row: Any) -> HashRow:
    """A `HashRow` from a row that `SELECT_HASH_ROWS` returned."""
    return HashRow(
        row["position"],
        row["originator_id"],
        row["originator_version"],
        row["hash"],
        row["prev_hash"],
        row["running_hash"],
    )


def refuse_non_empty(db: ChainCursor, events_table: str) -> None:
    """Raise `StoreNotEmptyError` unless the events, hash and checkpoint tables are empty."""
    for table in (events_table, EVENT_HASHES_TABLE, CHECKPOINTS_TABLE, SIGNATURES_TABLE):
        db.execute(f"SELECT 1 AS found FROM {table} LIMIT 1")
        if db.fetchone() is not None:
            msg = f"the event store is not empty ({table} has rows): import needs an empty store"
            raise StoreNotEmptyError(msg)
