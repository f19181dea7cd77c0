"""The hash-chain rule of tracker's event log (rule `tracker-chain-v1`), standard library only.

An auditor must be able to recompute every value below from the events alone; the rule is
written out in docs/audit.md and scripted in docs/verify_export.py. Never change it: a new
rule gets a new name and a new migration.

Event hash: chains an event to the previous event of its stream (the same originator id)::

    sha256(b"tracker-event-v1\\n" + prev.encode() + b"\\n" + originator_id.encode() + b"\\n"
           + str(version).encode() + b"\\n" + topic.encode("utf-8") + b"\\n" + state)

where `prev` is the hex hash of the stream's previous version (64 zeros for version 1),
`originator_id` is the UUID in its canonical lowercase hyphenated form, `topic` the stored
topic and `state` the stored state bytes, exactly as the database holds them.

Running hash: chains every event of the whole log in position order::

    sha256(f"tracker-log-v1\\n{prev_running}\\n{position}\\n{event_hash}".encode())

with 64 zeros before the first event. A checkpoint row (position, running hash) is written
for the first event whose position reaches each multiple of `CHECKPOINT_INTERVAL`
(`position // N > previous_position // N`), so a truncated tail shows up as a checkpoint
beyond the last event.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from uuid import UUID

RULE = "tracker-chain-v1"
GENESIS = "0" * 64
CHECKPOINT_INTERVAL = 100


def canonical_id(originator_id: UUID | str) -> str:
    """The originator id as the chain hashes it: a lowercase hyphenated UUID."""
    return str(UUID(str(originator_id)))


def event_hash(
    prev_hash: str, originator_id: UUID | str, version: int, topic: str, state: bytes
) -> str:
    """The hex SHA-256 chaining one stored event to its stream's previous hash."""
    return canonical_event_hash(prev_hash, canonical_id(originator_id), version, topic, state)


def canonical_event_hash(
    prev_hash: str, originator_id: str, version: int, topic: str, state: bytes
) -> str:
    """`event_hash` for an id already in canonical form (the verifier's fast path).

    Every text is UTF-8 encoded, as the rule says: a stored hash or id that an insider
    replaced with non-ASCII text then hashes differently (a finding), instead of failing.
    """
    head = f"tracker-event-v1\n{prev_hash}\n{originator_id}\n{int(version)}\n{topic}\n"
    return hashlib.sha256(head.encode("utf-8") + bytes(state)).hexdigest()


def running_hash(prev_running: str, position: int, hash_: str) -> str:
    """The hex SHA-256 chaining one event's hash into the whole log's running hash."""
    line = f"tracker-log-v1\n{prev_running}\n{int(position)}\n{hash_}"
    return hashlib.sha256(line.encode("ascii")).hexdigest()


def crosses_checkpoint(previous_position: int, position: int) -> bool:
    """True when the event at `position` gets a checkpoint row."""
    return position // CHECKPOINT_INTERVAL > previous_position // CHECKPOINT_INTERVAL


# What the verifier reads, as plain tuples (no object per event: docs/benchmarks.md, verify).
# An event: (position, originator id in canonical form, version, topic, state).
EventRow = tuple[int, str, int, str, bytes]
# A row of `tracker_event_hashes`: (position, originator id, version, hash, previous hash).
RecordedRow = tuple[int, str, int, str, str]


@dataclass(frozen=True)
class HashRow:
    """What `tracker_event_hashes` holds for one stored event."""

    position: int
    originator_id: str
    originator_version: int
    hash: str
    prev_hash: str
    running_hash: str


@dataclass(frozen=True)
class Checkpoint:
    """A row of `tracker_audit_checkpoints`: the running hash at a position."""

    position: int
    running_hash: str


@dataclass(frozen=True)
class ChainedEvent:
    """A stored event's identity and bytes, at its position: the chain's input."""

    position: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes


@dataclass
class ChainState:
    """The previous hashes the next events chain to: stream heads and the log's running hash."""

    heads: dict[str, tuple[int, str]]
    last_position: int = 0
    running: str = GENESIS

    def append(self, event: ChainedEvent) -> tuple[HashRow, Checkpoint | None]:
        """Chain `event` after everything appended so far; returns its row and checkpoint."""
        _, prev = self.heads.get(event.originator_id, (0, GENESIS))
        hash_ = event_hash(
            prev, event.originator_id, event.originator_version, event.topic, event.state
        )
        running = running_hash(self.running, event.position, hash_)
        checkpoint = (
            Checkpoint(event.position, running)
            if crosses_checkpoint(self.last_position, event.position)
            else None
        )
        self.heads[event.originator_id] = (event.originator_version, hash_)
        self.last_position, self.running = event.position, running
        row = HashRow(
            event.position, event.originator_id, event.originator_version, hash_, prev, running
        )
        return row, checkpoint
