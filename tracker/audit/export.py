"""Export the whole event log as NDJSON with a manifest, and import it into an empty store.

One line per event, in position order, as canonical JSON (sorted keys, no spaces, ASCII):
its position, originator id, version, topic, state (base64 of the exact stored bytes), the
recorded hash row (hash, prev_hash, running_hash), and readable metadata decoded from the
state (type, recorded_at, occurred_on, actor, reason, correlation_id, data), and the
`readable_hash` of those readable fields bound to the event's hash (rule
`tracker-readable-v1`, `readable_hash`). The manifest gives the count, first and last
positions, each stream's head, the final running hash, the checkpoints, the signed heads,
the public keys and the SHA-256 of the NDJSON file, and is signed with the store's key when
one is configured. docs/audit.md says how to check it offline.

An import recomputes every hash with the chain rule and refuses the file at the first line
that disagrees, so what it writes is exactly what was exported: same positions, same bytes,
same hashes, same checkpoints, and the same signed heads (each checked against its key and
against the running hash the file leads to at its position), so that the imported store
verifies against the keys and witnesses of the one exported.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from eventsourcing.persistence import Notification
from sqlalchemy import Engine

from tracker.application.people import with_actor_names
from tracker.application.service import TrackerApplication
from tracker.audit.history import META_FIELDS, plain
from tracker.store.chain import (
    CHECKPOINT_INTERVAL,
    RULE,
    ChainedEvent,
    ChainState,
    Checkpoint,
    HashRow,
    canonical_id,
)
from tracker.store.interface import ImportedEvent, audit_recorder
from tracker.store.signing import (
    SIGNED_HEAD_RULE,
    SignedHead,
    bytes_signature_is_valid,
    key_id,
    signature_is_valid,
)

FORMAT = "tracker-export-v1"
READABLE_RULE = "tracker-readable-v1"
READABLE_FIELDS = (
    "type",
    "recorded_at",
    "occurred_on",
    "actor",
    "reason",
    "correlation_id",
    "data",
)
MANIFEST_SIGNATURE = "signature"
PAGE = 1000
Progress = Callable[[int, int], None]


class ExportFileError(Exception):
    """The file to import is not a faithful tracker export."""


def manifest_path(export: Path) -> Path:
    """Where the manifest of an export file lives: beside it."""
    return export.with_name(export.name + ".manifest.json")


def canonical_json(value: Any) -> bytes:
    """The one JSON spelling exports use, so that equal logs export to equal bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def readable_hash(event_hash: str | None, record: dict[str, Any]) -> str:
    """The hash of what a reader sees of an event, bound to the event's own hash.

    `sha256(b"tracker-readable-v1\\n" + event_hash + b"\\n" + canonical_json(readable))`,
    where `readable` holds exactly the keys of `READABLE_FIELDS` (null when absent) and
    `event_hash` is the line's `hash` ("" when it has none). docs/audit.md.
    """
    readable = {key: record.get(key) for key in READABLE_FIELDS}
    digest = hashlib.sha256(f"{READABLE_RULE}\n{event_hash or ''}\n".encode("ascii"))
    digest.update(canonical_json(readable))
    return digest.hexdigest()


def manifest_message(manifest: dict[str, Any]) -> bytes:
    """The bytes a manifest's signature signs: its canonical JSON without the signature."""
    return canonical_json({k: v for k, v in manifest.items() if k != MANIFEST_SIGNATURE})


def _readable(application: TrackerApplication, notification: Notification) -> dict[str, Any]:
    try:
        event: Any = application.mapper.to_domain_event(notification)
    except Exception:  # a tampered event may not decode: export its bytes all the same
        return {"type": None}
    fields = vars(event)
    return {
        "type": type(event).__name__,
        "recorded_at": event.timestamp.isoformat(),
        "occurred_on": plain(fields.get("occurred_on")),
        "actor": fields.get("actor"),
        "reason": fields.get("reason"),
        "correlation_id": fields.get("correlation_id"),
        "data": {k: plain(v) for k, v in fields.items() if k not in META_FIELDS},
    }


def export_records(
    application: TrackerApplication,
    stop: int,
    on_progress: Progress | None = None,
    *,
    after: int = 0,
    limit: int | None = None,
    engine: Engine | None = None,
) -> Iterator[dict[str, Any]]:
    """The events after `after` up to position `stop` (`limit` at most), as export records.

    With `engine`, each record also carries `actor_name` and `actor_name_erased`, read from
    tracker_people now (erasable, so outside `readable_hash`: docs/audit.md).
    """
    recorder = audit_recorder(application.recorder)
    start, after_row, left = after + 1, after, limit
    rows: dict[int, HashRow] = {}
    while left is None or left > 0:
        size = PAGE if left is None else min(PAGE, left)
        page = recorder.select_notifications(start=start, limit=size, stop=stop)
        if not page:
            return
        if left is not None:
            left -= len(page)
        while after_row < page[-1].id:
            fetched = recorder.select_hash_rows(after_row, PAGE)
            if not fetched:
                break
            rows.update((r.position, r) for r in fetched)
            after_row = fetched[-1].position
        records: list[dict[str, Any]] = []
        for notification in page:
            row = rows.pop(notification.id, None)
            record: dict[str, Any] = {
                "position": notification.id,
                "originator_id": canonical_id(notification.originator_id),
                "version": notification.originator_version,
                "topic": notification.topic,
                "state": base64.b64encode(bytes(notification.state)).decode("ascii"),
                "hash": row.hash if row else None,
                "prev_hash": row.prev_hash if row else None,
                "running_hash": row.running_hash if row else None,
            }
            record.update(_readable(application, notification))
            record["readable_hash"] = readable_hash(row.hash if row else None, record)
            records.append(record)
        if engine is not None:
            with_actor_names(engine, records)
        for record in records:
            yield record
            if on_progress is not None:
                on_progress(record["position"], stop)
        start = page[-1].id + 1


@dataclass
class _Digest:
    """Writes lines to a stream while hashing them and summarising the log."""

    out: IO[bytes]
    sha256: Any = None
    count: int = 0
    first: int | None = None
    last: int | None = None
    running: str | None = None

    def __post_init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.heads: dict[str, dict[str, Any]] = {}

    def write(self, record: dict[str, Any]) -> None:
        line = canonical_json(record) + b"\n"
        self.out.write(line)
        self.sha256.update(line)
        self.count += 1
        self.first = record["position"] if self.first is None else self.first
        self.last = record["position"]
        self.running = record["running_hash"]
        self.heads[record["originator_id"]] = {"version": record["version"], "hash": record["hash"]}


def export_log(
    application: TrackerApplication,
    out: IO[bytes],
    on_progress: Progress | None = None,
    engine: Engine | None = None,
) -> dict[str, Any]:
    """Write the whole log to `out` as NDJSON and return its manifest (names: `engine`)."""
    recorder = audit_recorder(application.recorder)
    checkpoints = recorder.select_checkpoints()
    signed_heads = recorder.select_signatures()
    stop = recorder.max_notification_id() or 0
    digest = _Digest(out)
    for record in export_records(application, stop, on_progress, engine=engine):
        digest.write(record)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "chain_rule": RULE,
        "checkpoint_interval": CHECKPOINT_INTERVAL,
        "exported_at": datetime.now(UTC).isoformat(),
        "count": digest.count,
        "first_position": digest.first,
        "last_position": digest.last,
        "running_hash": digest.running,
        "chain_heads": dict(sorted(digest.heads.items())),
        "checkpoints": [
            {"position": c.position, "running_hash": c.running_hash}
            for c in checkpoints
            if c.position <= stop
        ],
        "readable_rule": READABLE_RULE,
        "signed_head_rule": SIGNED_HEAD_RULE,
        "signed_heads": [head.as_dict() for head in signed_heads if head.position <= stop],
        "signing_keys": dict(sorted(application.signing_keys().items())),
        "sha256": digest.sha256.hexdigest(),
    }
    signer = application.signer
    if signer is not None:
        manifest[MANIFEST_SIGNATURE] = {
            "key_id": signer.key_id,
            "signature": signer.sign_bytes(manifest_message(manifest)),
        }
    return manifest


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, as `sha256sum` prints it."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest beside an export, checked against the file; None when there is none."""
    found = manifest_path(path)
    if not found.exists():
        return None
    try:
        manifest: dict[str, Any] = json.loads(found.read_text())
    except ValueError as error:
        raise ExportFileError(f"{found.name} is not JSON: {error}") from None
    if manifest.get("format") != FORMAT or manifest.get("chain_rule") != RULE:
        raise ExportFileError(f"{found.name} is not a {FORMAT} manifest with rule {RULE}")
    if manifest.get("sha256") != file_sha256(path):
        raise ExportFileError(f"{path.name} does not match the SHA-256 in {found.name}")
    return manifest


def manifest_signed_heads(manifest: dict[str, Any]) -> list[SignedHead]:
    """The manifest's signed heads, in position order, each checked with the manifest's key.

    Also checks the manifest's own signature, when it has one. Raises `ExportFileError` at
    the first one that does not verify: nothing forged is carried into the imported store.
    """
    keys = manifest.get("signing_keys") or {}
    if not isinstance(keys, dict):
        raise ExportFileError("the manifest's signing_keys are not a mapping of key ids to keys")
    signature = manifest.get(MANIFEST_SIGNATURE)
    if signature is not None:
        signer = signature.get("key_id") if isinstance(signature, dict) else None
        public_key = keys.get(signer)
        if not (
            isinstance(public_key, str)
            and isinstance(signature, dict)
            and bytes_signature_is_valid(
                public_key, manifest_message(manifest), str(signature.get("signature"))
            )
        ):
            raise ExportFileError(
                f"the manifest's signature does not verify with its key {signer}: "
                "the manifest was altered"
            )
    heads: list[SignedHead] = []
    for item in manifest.get("signed_heads") or []:
        try:
            head = SignedHead(
                int(item["position"]),
                str(item["running_hash"]),
                str(item["signed_at"]),
                str(item["key_id"]),
                str(item["signature"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ExportFileError(
                f"a signed head of the manifest is not readable: {error}"
            ) from None
        public_key = keys.get(head.key_id)
        if not (
            isinstance(public_key, str)
            and key_id(public_key) == head.key_id
            and signature_is_valid(public_key, head)
        ):
            raise ExportFileError(
                f"the manifest's signed head at position {head.position} does not verify with "
                f"key {head.key_id}"
            )
        heads.append(head)
    return sorted(heads, key=lambda head: head.position)


def _check_signed_heads(heads: deque[SignedHead], chain: ChainState) -> None:
    """Check the signed heads up to the chain's last position against its running hash."""
    while heads and heads[0].position <= chain.last_position:
        head = heads.popleft()
        if head.position < chain.last_position or head.running_hash != chain.running:
            raise ExportFileError(
                f"the manifest's signed head at position {head.position} does not match the "
                "file: the export was altered, or the log was tampered with before it"
            )


def _imported(
    path: Path, chain: ChainState, checkpoints: list[Checkpoint], heads: deque[SignedHead]
) -> Iterator[ImportedEvent]:
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, start=1):
            try:
                record = json.loads(raw)
                event = ChainedEvent(
                    int(record["position"]),
                    canonical_id(record["originator_id"]),
                    int(record["version"]),
                    str(record["topic"]),
                    base64.b64decode(record["state"], validate=True),
                )
            except (ValueError, KeyError, TypeError) as error:
                raise ExportFileError(f"line {number} is not an exported event: {error}") from None
            if event.position <= chain.last_position:
                raise ExportFileError(f"line {number}: positions must increase")
            row, checkpoint = chain.append(event)
            recorded = (record.get("hash"), record.get("prev_hash"), record.get("running_hash"))
            if recorded != (row.hash, row.prev_hash, row.running_hash):
                raise ExportFileError(
                    f"line {number} (position {event.position}): its hashes do not match the "
                    "chain rule: the export was altered, or the log was tampered with before it"
                )
            if checkpoint is not None:
                checkpoints.append(checkpoint)
            _check_signed_heads(heads, chain)
            yield ImportedEvent(row, event.topic, event.state)


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote."""

    count: int
    last_position: int
    running_hash: str
    file_sha256: str


def import_log(
    application: TrackerApplication, path: Path, on_progress: Progress | None = None
) -> ImportResult:
    """Import an export file into an empty store, exactly; refuse a non-empty store.

    The manifest's signed heads are imported too (checked first with their keys, then each
    against the running hash at its position), so the store verifies as the exported one
    did. Without a manifest, nothing vouches for them: the imported history is unsigned.
    """
    manifest = read_manifest(path)
    total = int(manifest["count"]) if manifest else 0
    signed = manifest_signed_heads(manifest) if manifest else []
    heads = deque(signed)
    chain = ChainState(heads={})
    checkpoints: list[Checkpoint] = []

    def batches() -> Iterator[list[ImportedEvent]]:
        batch: list[ImportedEvent] = []
        done = 0
        for imported in _imported(path, chain, checkpoints, heads):
            batch.append(imported)
            if len(batch) == PAGE:
                yield batch
                done += len(batch)
                batch = []
                if on_progress is not None:
                    on_progress(done, total)
        if batch:
            yield batch
            done += len(batch)
        if manifest is not None:
            # Still inside the import's transaction: a disagreement rolls everything back.
            _check_against_manifest(manifest, done, chain, checkpoints)
        if heads:
            raise ExportFileError(
                f"the manifest has a signed head at position {heads[0].position}, beyond the "
                f"file's last event ({chain.last_position}): the file was cut"
            )

    # The recorder consumes `batches()` first, then inserts `checkpoints` (filled meanwhile)
    # and the signed heads (checked meanwhile).
    count = audit_recorder(application.recorder).import_log(batches(), checkpoints, signed)
    if on_progress is not None:
        on_progress(count, count)
    return ImportResult(count, chain.last_position, chain.running, file_sha256(path))


def _check_against_manifest(
    manifest: dict[str, Any], count: int, chain: ChainState, checkpoints: list[Checkpoint]
) -> None:
    heads = {k: {"version": v, "hash": h} for k, (v, h) in chain.heads.items()}
    expected_checkpoints = [
        {"position": c.position, "running_hash": c.running_hash} for c in checkpoints
    ]
    problems = [
        what
        for what, ok in (
            ("count", manifest.get("count") == count),
            ("last_position", manifest.get("last_position") == (chain.last_position or None)),
            (
                "running_hash",
                manifest.get("running_hash") == (chain.running if chain.heads else None),
            ),
            ("chain_heads", manifest.get("chain_heads") == heads),
            ("checkpoints", manifest.get("checkpoints") == expected_checkpoints),
        )
        if not ok
    ]
    if problems:
        raise ExportFileError(f"the manifest disagrees with the file on: {', '.join(problems)}")
