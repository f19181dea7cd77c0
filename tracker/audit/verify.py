"""Verify the event log against its hash chains and checkpoints, and say what was tampered with.

The log is read once, in position order, beside the recorded hash rows. Each finding names
one tampering, localised so that one change is reported once, not once per later event:

- `modified`: an event's bytes no longer match the hash recorded for it, or a recorded
  hash no longer links to its stream's previous one;
- `deleted`: a recorded event is missing, or a stream skips versions;
- `inserted`: an event has no recorded hash (it was written outside the application);
- `reordered`: a position holds another version of its stream than the one recorded there,
  or a stream's versions go backwards;
- `checkpoint`: the running hash disagrees with a checkpoint, and nothing else found in
  that stretch of the log explains why;
- `truncated`: a checkpoint lies beyond the last event: the tail of the log was cut off;
- `signature`: a signed head (tracker/store/signing.py) does not verify with its key, was
  signed by a key the store never published, or signs a running hash that the log no longer
  leads to: the log before it was rewritten and re-chained (the insider case);
- `unsigned`: a checkpoint after the first signed one has no signature (signatures deleted,
  or the key removed from the configuration);
- `witness`: the log does not hold the witness's head (`verify(..., witness=...)`);
- `projection`: a read-model row differs from what a rebuild from the log gives
  (`check_projections`, the projections' own `rebuild(check=True)`).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any, Literal

from projections.runner import PROJECTIONS, rebuild_all
from tracker.application.service import TrackerApplication
from tracker.application.services import Services
from tracker.store.chain import (
    GENESIS,
    Checkpoint,
    EventRow,
    RecordedRow,
    canonical_event_hash,
    running_hash,
)
from tracker.store.interface import audit_recorder
from tracker.store.signing import (
    SIGNED_HEAD_RULE,
    SignedHead,
    key_id,
    signature_is_valid,
)

# A stream the verifier has not met yet: version 0, chained from genesis.
UNSEEN = (0, GENESIS)
NEVER = float("inf")

Kind = Literal[
    "modified",
    "deleted",
    "inserted",
    "reordered",
    "checkpoint",
    "truncated",
    "signature",
    "unsigned",
    "witness",
    "projection",
]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Finding:
    """One piece of evidence that the log was changed after it was written."""

    kind: Kind
    position: int
    detail: str
    originator_id: str | None = None
    version: int | None = None

    def __str__(self) -> str:
        where = f"position {self.position}"
        if self.originator_id is not None:
            where += f" ({self.originator_id} v{self.version})"
        return f"{self.kind}: {where}: {self.detail}"

    def as_dict(self) -> dict[str, Any]:
        """The finding as plain data (the REST API's view)."""
        return asdict(self)


class WitnessFileError(ValueError):
    """A witness file that is not a witness `tracker audit witness` wrote."""


@dataclass(frozen=True)
class Witness:
    """A signed head kept outside the database (`tracker audit witness`), with its public key."""

    head: SignedHead
    public_key: str

    def as_dict(self) -> dict[str, Any]:
        """The witness's JSON: the signed head, its rule and its public key."""
        return {"rule": SIGNED_HEAD_RULE, **self.head.as_dict(), "public_key": self.public_key}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Witness:
        try:
            if data["rule"] != SIGNED_HEAD_RULE:
                msg = f"unknown witness rule {data['rule']!r}"
                raise WitnessFileError(msg)
            head = SignedHead(
                int(data["position"]),
                str(data["running_hash"]),
                str(data["signed_at"]),
                str(data["key_id"]),
                str(data["signature"]),
            )
            return cls(head, str(data["public_key"]))
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, WitnessFileError):
                raise
            msg = f"not a witness: {type(error).__name__}: {error}"
            raise WitnessFileError(msg) from None

    @classmethod
    def read(cls, path: Path) -> Witness:
        """A witness from its JSON file."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            msg = f"cannot read the witness {path}: {error}"
            raise WitnessFileError(msg) from None
        if not isinstance(data, dict):
            msg = f"{path} is not a witness (a JSON object)"
            raise WitnessFileError(msg)
        return cls.from_dict(data)


def latest_witness(application: TrackerApplication) -> Witness | None:
    """The latest signed head of the log with its public key (None while the log is unsigned)."""
    head = audit_recorder(application.recorder).latest_signature()
    if head is None:
        return None
    public_key = application.signing_keys().get(head.key_id)
    if public_key is None:
        return None
    return Witness(head, public_key)


@dataclass
class VerifyReport:
    """What `verify` checked and what it found."""

    events: int = 0
    streams: int = 0
    checkpoints: int = 0
    last_position: int = 0
    signed_heads: int = 0
    signing_keys: list[str] = field(default_factory=list)
    witness_position: int | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings

    @property
    def signed(self) -> bool:
        """False when no head of this log was ever signed: its history is unsigned."""
        return self.signed_heads > 0

    def summary(self) -> str:
        """One line for the operator."""
        verdict = "intact" if self.intact else f"{len(self.findings)} finding(s)"
        signed = (
            f"{self.signed_heads} signed heads checked (keys {', '.join(self.signing_keys)})"
            if self.signed
            else "history unsigned (no signing key configured: TRACKER_AUDIT_SIGNING_KEY_FILE)"
        )
        witness = (
            f", witness at position {self.witness_position} checked"
            if self.witness_position is not None
            else ""
        )
        return (
            f"{verdict}: {self.events} events in {self.streams} streams up to position "
            f"{self.last_position}, {self.checkpoints} checkpoints checked, {signed}{witness}"
        )

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data (the REST API's view)."""
        return {
            "intact": self.intact,
            "events": self.events,
            "streams": self.streams,
            "checkpoints": self.checkpoints,
            "last_position": self.last_position,
            "signed": self.signed,
            "signed_heads": self.signed_heads,
            "signing_keys": self.signing_keys,
            "witness_position": self.witness_position,
            "findings": [f.as_dict() for f in self.findings],
        }


class _Verifier:
    def __init__(
        self,
        checkpoints: list[Checkpoint],
        signatures: list[SignedHead],
        keys: dict[str, str],
        witness: Witness | None,
    ) -> None:
        self.report = VerifyReport(checkpoints=len(checkpoints))
        self.pending_checkpoints = deque(checkpoints)
        self.pending_signatures = deque(self._valid_signatures(signatures, keys))
        # An invalid signature is reported once, as such, not again as a missing one.
        self.signed_positions = {head.position for head in signatures}
        self.first_signed = min(self.signed_positions, default=None)
        self.report.signed_heads = len(self.pending_signatures)
        self.report.signing_keys = sorted({head.key_id for head in self.pending_signatures})
        # Report a rewrite once: later signed heads and checkpoints follow from the first.
        self.diverged = False
        self.unsigned = False
        self.witness = witness
        if witness is not None:
            self._check_witness_signature(witness, keys)
        # While nothing is wrong with any stream (`fast`), each stream's last (version,
        # hash) is all there is to know: `clean` holds it, and `_fast_page` checks an event
        # with a few comparisons and its two hashes. At the first event that is not exactly
        # what its hash row says, the three maps below take over (`_leave_fast`).
        self.fast = True
        self.clean: dict[str, tuple[int, str]] = {}
        # From the hash rows: each stream's last recorded (version, hash).
        self.recorded_heads: dict[str, tuple[int, str]] = {}
        # From the events: each stream's last version, and the hash the running hash used.
        self.versions: dict[str, int] = {}
        self.local_heads: dict[str, str] = {}
        self.deleted: set[tuple[str, int]] = set()
        self.running = GENESIS
        self.segment_findings = 0

    def add(self, finding: Finding) -> None:
        self.report.findings.append(finding)
        self.segment_findings += 1

    def _valid_signatures(
        self, signatures: list[SignedHead], keys: dict[str, str]
    ) -> list[SignedHead]:
        valid: list[SignedHead] = []
        for head in signatures:
            public_key = keys.get(head.key_id)
            if public_key is None:
                detail = (
                    f"this head was signed by key {head.key_id}, which the admin log never "
                    "published: the signature cannot be trusted"
                )
            elif not signature_is_valid(public_key, head):
                detail = (
                    f"the signed head recorded here does not verify with key {head.key_id}: "
                    "its position, running hash or time was altered"
                )
            else:
                valid.append(head)
                continue
            self.report.findings.append(Finding("signature", head.position, detail))
        return valid

    def _check_witness_signature(self, witness: Witness, keys: dict[str, str]) -> None:
        head = witness.head
        if key_id(witness.public_key) != head.key_id or not signature_is_valid(
            witness.public_key, head
        ):
            detail = "the witness's signature does not verify with its own public key"
        elif keys.get(head.key_id) != witness.public_key:
            detail = (
                f"the witness was signed by key {head.key_id}, which this store's admin log "
                "does not publish: another store's witness, or the admin log was rewritten"
            )
        else:
            return
        self.report.findings.append(Finding("witness", head.position, detail))

    def _interest(self) -> float:
        """The next position where `_advance` has more to do than chain the running hash."""
        interest = NEVER
        if self.pending_checkpoints:
            interest = self.pending_checkpoints[0].position
        if self.pending_signatures:
            interest = min(interest, self.pending_signatures[0].position)
        if self.witness is not None and self.report.witness_position is None:
            interest = min(interest, self.witness.head.position)
        return interest

    def page(
        self, page: list[EventRow], recorded: Iterator[RecordedRow], row: RecordedRow | None
    ) -> RecordedRow | None:
        """Check a page of events beside the hash rows (`row` first); the next hash row."""
        done = 0
        if self.fast:
            done, row = self._fast_page(page, recorded, row)
        for event in page[done:] if done else page:
            while row is not None and row[0] < event[0]:
                self.row_without_event(row)
                row = next(recorded, None)
            if row is not None and row[0] == event[0]:
                self.event(event, row)
                row = next(recorded, None)
            else:
                self.event(event, None)
        return row

    def _fast_page(
        self, page: list[EventRow], recorded: Iterator[RecordedRow], row: RecordedRow | None
    ) -> tuple[int, RecordedRow | None]:
        """Check events while each one is exactly what its hash row says.

        Returns how many events of `page` were checked, and the next hash row. Stops at the
        first event that needs a closer look (no hash row, another stream or version, a
        hash that does not match or does not link): `event` then reports it. This path
        never reports anything itself, except through `_advance` at checkpoints and signed
        heads, so a log checked here gets the verdict the closer look would give.
        """
        clean = self.clean
        running = self.running
        interest = self._interest()
        done = 0
        for position, stream, version, topic, state in page:
            if row is None or row[0] != position or row[1] != stream or row[2] != version:
                break
            prev = row[4]
            if clean.get(stream, UNSEEN) != (version - 1, prev):
                break
            local = canonical_event_hash(prev, stream, version, topic, state)
            if local != row[3]:
                break
            clean[stream] = (version, local)
            if position < interest:
                running = running_hash(running, position, local)
            else:
                self.running = running
                self._advance(position, local)
                running = self.running
                interest = self._interest()
            done += 1
            row = next(recorded, None)
        self.running = running
        if done:
            self.report.events += done
            self.report.last_position = page[done - 1][0]
        return done, row

    def _leave_fast(self) -> None:
        """Hand the streams' state from `clean` to the maps of the closer look."""
        if not self.fast:
            return
        self.fast = False
        self.versions = {stream: version for stream, (version, _) in self.clean.items()}
        self.recorded_heads = dict(self.clean)
        self.local_heads = {stream: hash_ for stream, (_, hash_) in self.clean.items()}
        self.clean = {}

    def row_without_event(self, row: RecordedRow) -> None:
        self._leave_fast()
        position, stream, version, hash_, _ = row
        self.deleted.add((stream, version))
        self.add(
            Finding(
                "deleted",
                position,
                "the event recorded here is missing from the log",
                stream,
                version,
            )
        )
        self.recorded_heads[stream] = (version, hash_)

    def event(self, event: EventRow, row: RecordedRow | None) -> None:
        self._leave_fast()
        position, stream, version, topic, state = event
        self.report.events += 1
        self.report.last_position = position
        if row is None:
            self.add(
                Finding(
                    "inserted",
                    position,
                    "this event has no recorded hash: it was written outside the application",
                    stream,
                    version,
                )
            )
            self._check_sequence(position, stream, version)
            prev = self.local_heads.get(stream, GENESIS)
            local = canonical_event_hash(prev, stream, version, topic, state)
        elif (row[1], row[2]) != (stream, version):
            _, row_stream, row_version, row_hash, row_prev = row
            same_stream = row_stream == stream
            self.add(
                Finding(
                    "reordered" if same_stream else "modified",
                    position,
                    f"this position holds {stream} v{version} but recorded "
                    f"{row_stream} v{row_version}",
                    stream,
                    version,
                )
            )
            self.versions[stream] = max(self.versions.get(stream, 0), version)
            self.recorded_heads[row_stream] = (row_version, row_hash)
            local = canonical_event_hash(row_prev, stream, version, topic, state)
        else:
            row_hash = row[3]
            local = canonical_event_hash(row[4], stream, version, topic, state)
            if local != row_hash:
                self.add(
                    Finding(
                        "modified",
                        position,
                        "the event's bytes do not match the hash recorded when it was written",
                        stream,
                        version,
                    )
                )
            else:
                self._check_link(position, row)
            self._check_sequence(position, stream, version)
            self.recorded_heads[stream] = (version, row_hash)
        self.local_heads[stream] = local
        self._advance(position, local)

    def _check_link(self, position: int, row: RecordedRow) -> None:
        _, stream, row_version, _, row_prev = row
        version, prev = self.recorded_heads.get(stream, UNSEEN)
        if version == row_version - 1 and prev != row_prev:
            self.add(
                Finding(
                    "modified",
                    position,
                    "the recorded previous hash is not the hash of the stream's previous "
                    "version: the hash records were altered",
                    stream,
                    row_version,
                )
            )

    def _check_sequence(self, position: int, stream: str, version: int) -> None:
        last = self.versions.get(stream, 0)
        if version <= last:
            self.add(
                Finding(
                    "reordered",
                    position,
                    f"version {version} comes after version {last} of the same stream",
                    stream,
                    version,
                )
            )
        else:
            missing = [v for v in range(last + 1, version) if (stream, v) not in self.deleted]
            if missing:
                self.add(
                    Finding(
                        "deleted",
                        position,
                        f"versions {missing[0]}..{missing[-1]} of this stream are missing",
                        stream,
                        version,
                    )
                )
            self.versions[stream] = version

    def _advance(self, position: int, hash_: str) -> None:
        self._pass_checkpoints_before(position)
        self._pass_signed_before(position)
        self.running = running_hash(self.running, position, hash_)
        if self.pending_signatures and self.pending_signatures[0].position == position:
            self._check_signed(self.pending_signatures.popleft())
        if self.witness is not None and self.witness.head.position == position:
            self._check_witness(self.witness.head)
        if self.pending_checkpoints and self.pending_checkpoints[0].position == position:
            checkpoint = self.pending_checkpoints.popleft()
            self._check_checkpoint_signed(checkpoint)
            if checkpoint.running_hash != self.running and not self.segment_findings:
                self.add(
                    Finding(
                        "checkpoint",
                        position,
                        "the running hash of the log up to here differs from its checkpoint: "
                        "events before it were changed, removed or added",
                    )
                )
            self._next_segment(checkpoint)

    def _check_signed(self, head: SignedHead) -> None:
        # Compared with the running hash recomputed from the events' bytes: a re-chained log
        # agrees with its own hash rows and checkpoints, never with what the key signed.
        matches = head.running_hash == self.running
        if not matches and not self.diverged and not self.segment_findings:
            self.add(
                Finding(
                    "signature",
                    head.position,
                    f"the log up to here no longer leads to the running hash that key "
                    f"{head.key_id} signed at {head.signed_at}: events before it were changed, "
                    "removed or added, and the chain recomputed",
                )
            )
        self.diverged = not matches

    def _check_witness(self, head: SignedHead) -> None:
        self.report.witness_position = head.position
        if head.running_hash != self.running:
            self.add(
                Finding(
                    "witness",
                    head.position,
                    "the log up to the witness's position no longer leads to the witness's "
                    "running hash: events before it were changed, removed or added",
                )
            )

    def _check_checkpoint_signed(self, checkpoint: Checkpoint) -> None:
        signed = checkpoint.position in self.signed_positions
        begun = self.first_signed is not None and self.first_signed < checkpoint.position
        if begun and not signed and not self.unsigned:
            self.add(
                Finding(
                    "unsigned",
                    checkpoint.position,
                    "this checkpoint has no signature although earlier ones have: "
                    "signatures were deleted, or the signing key was removed",
                )
            )
        self.unsigned = begun and not signed

    def _pass_signed_before(self, position: int) -> None:
        while self.pending_signatures and self.pending_signatures[0].position < position:
            head = self.pending_signatures.popleft()
            if not self.segment_findings:
                self.add(
                    Finding(
                        "signature",
                        head.position,
                        "a head was signed at this position but the log has no event here",
                    )
                )
        witness = self.witness
        if (
            witness is not None
            and witness.head.position < position
            and self.report.witness_position is None
        ):
            self.report.witness_position = witness.head.position
            self.add(
                Finding(
                    "witness",
                    witness.head.position,
                    "the witness's position holds no event: the log was cut or rewritten",
                )
            )

    def _pass_checkpoints_before(self, position: int) -> None:
        while self.pending_checkpoints and self.pending_checkpoints[0].position < position:
            checkpoint = self.pending_checkpoints.popleft()
            if not self.segment_findings:
                self.add(
                    Finding(
                        "checkpoint",
                        checkpoint.position,
                        "a checkpoint was recorded at this position but the log has no event here",
                    )
                )
            self._next_segment(checkpoint)

    def _next_segment(self, checkpoint: Checkpoint) -> None:
        # Resume from the recorded value, so a change is reported in its own stretch only.
        self.running = checkpoint.running_hash
        self.segment_findings = 0

    def finish(self) -> VerifyReport:
        self._leave_fast()
        last = self.report.last_position
        if self.pending_signatures:
            beyond_head = self.pending_signatures[-1]
            self.add(
                Finding(
                    "truncated",
                    beyond_head.position,
                    f"the log ends at position {last} but a head was signed at position "
                    f"{beyond_head.position}: its tail was cut off",
                )
            )
        if self.witness is not None and self.report.witness_position is None:
            self.report.witness_position = self.witness.head.position
            self.add(
                Finding(
                    "truncated",
                    self.witness.head.position,
                    f"the log ends at position {last} but the witness holds position "
                    f"{self.witness.head.position}: its tail was cut off",
                )
            )
        if self.pending_checkpoints:
            beyond = self.pending_checkpoints[-1]
            self.add(
                Finding(
                    "truncated",
                    beyond.position,
                    f"the log ends at position {self.report.last_position} but a checkpoint "
                    f"was recorded at position {beyond.position}: its tail was cut off",
                )
            )
        self.report.streams = len(self.versions)
        return self.report


def verify(
    application: TrackerApplication,
    on_progress: Progress | None = None,
    witness: Witness | None = None,
) -> VerifyReport:
    """Recompute every hash, checkpoint and signed head of the log; report each tampering.

    With a `witness`, also check that the log still leads to the witness's running hash at
    its position (a truncation or a rewrite before it is reported).
    """
    # Checkpoints and signatures first: any read now lies at or before the last position
    # read next.
    recorder = audit_recorder(application.recorder)
    checkpoints = recorder.select_checkpoints()
    signatures = recorder.select_signatures()
    stop = max(recorder.max_notification_id() or 0, recorder.max_hash_position())
    verifier = _Verifier(checkpoints, signatures, application.signing_keys(), witness)
    with recorder.scan_chain(stop) as scan:
        recorded = chain.from_iterable(scan.recorded)
        row = next(recorded, None)
        for page in scan.events:
            row = verifier.page(page, recorded, row)
            if on_progress is not None:
                on_progress(page[-1][0], stop)
        while row is not None:
            verifier.row_without_event(row)
            row = next(recorded, None)
    if on_progress is not None:
        on_progress(stop, stop)
    return verifier.finish()


def check_projections(services: Services, on_progress: Progress | None = None) -> list[Finding]:
    """Rebuild every projection into shadow tables and report each row that differs."""

    try:
        results = rebuild_all(services, PROJECTIONS, check=True, on_progress=on_progress)
    except Exception as error:
        detail = f"cannot rebuild the projections: {type(error).__name__}: {error}"
        return [Finding("projection", 0, detail)]
    return [
        Finding("projection", result.position, f"{result.name}: {d.describe()}")
        for result in results
        for d in result.differences
    ]
