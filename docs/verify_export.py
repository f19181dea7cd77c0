#!/usr/bin/env python3
"""Verify a tracker export offline: the standard library, plus `cryptography` for signatures.

    python3 verify_export.py EXPORT.ndjson [--manifest EXPORT.ndjson.manifest.json]
                             [--previous OLDER.manifest.json] [--witness WITNESS.json]
                             [--key PUBLIC_KEY_HEX ...]

Recomputes every event's hash from its bytes and its stream's previous hash, the running
hash over positions, the checkpoints, and each line's readable hash from exactly the
readable fields a person reads (type, recorded_at, occurred_on, actor, reason,
correlation_id, data); checks the file's SHA-256, the count, positions and chain heads
against the manifest, the manifest's signature and every signed head it lists (Ed25519,
rule tracker-signed-head-v1); with --previous, checks that an older export's log is still
the start of this one; with --witness, that this log still holds the witness's head. The
keys trusted are those given with --key and the witness's; without either, the manifest's
own keys (their ids are printed: compare them with the published ones). Prints each
problem; exits 0 when there is none, 1 otherwise. The rules: docs/audit.md.
"""

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:  # signatures cannot be checked; everything else can
    Ed25519PublicKey = None

GENESIS = "0" * 64
READABLE = ("type", "recorded_at", "occurred_on", "actor", "reason", "correlation_id", "data")


def canonical_json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def event_hash(prev, originator_id, version, topic, state):
    head = f"tracker-event-v1\n{prev}\n{originator_id}\n{version}\n{topic}\n".encode()
    return hashlib.sha256(head + state).hexdigest()


def running_hash(prev, position, hash_):
    return hashlib.sha256(f"tracker-log-v1\n{prev}\n{position}\n{hash_}".encode()).hexdigest()


def readable_hash(hash_, line):
    readable = canonical_json({key: line.get(key) for key in READABLE})
    return hashlib.sha256(f"tracker-readable-v1\n{hash_ or ''}\n".encode() + readable).hexdigest()


def key_id(public_key):
    return hashlib.sha256(bytes.fromhex(public_key)).hexdigest()[:16]


def signature_ok(public_key, message, signature):
    if Ed25519PublicKey is None:
        return None
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
        key.verify(bytes.fromhex(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def head_message(head):
    fields = (head["position"], head["running_hash"], head["signed_at"], head["key_id"])
    return ("tracker-signed-head-v1\n" + "\n".join(str(f) for f in fields)).encode()


def verify_chain(export, interval, require_readable, problems):
    heads, running, last_position, count = {}, GENESIS, 0, 0
    runnings, checkpoints = {}, []
    with export.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            e = json.loads(line)
            position, stream, version = e["position"], e["originator_id"], e["version"]
            last_version, prev = heads.get(stream, (0, GENESIS))
            if position <= last_position:
                problems.append(f"line {number}: position {position} does not increase")
            if version != last_version + 1:
                problems.append(f"line {number}: {stream} v{version} follows v{last_version}")
            hash_ = event_hash(prev, stream, version, e["topic"], base64.b64decode(e["state"]))
            if (e["hash"], e["prev_hash"]) != (hash_, prev):
                problems.append(f"line {number}: position {position}: hash does not match")
            if (require_readable or "readable_hash" in e) and e.get(
                "readable_hash"
            ) != readable_hash(e["hash"], e):
                problems.append(
                    f"line {number}: position {position}: the readable fields were changed"
                )
            running = running_hash(running, position, hash_)
            if e["running_hash"] != running:
                problems.append(f"line {number}: position {position}: running hash differs")
            if position // interval > last_position // interval:
                checkpoints.append({"position": position, "running_hash": running})
            heads[stream], last_position, count = (version, hash_), position, count + 1
            runnings[position] = running
    return heads, running, last_position, count, runnings, checkpoints


def trusted_keys(manifest, witness, keys, problems):
    trusted = {key_id(k): k for k in keys}
    if witness is not None:
        trusted[witness["key_id"]] = witness["public_key"]
    if trusted:
        for kid, public_key in manifest.get("signing_keys", {}).items():
            if trusted.get(kid) not in (None, public_key):
                problems.append(f"manifest: key {kid} is not the trusted key of that id")
        return trusted, True
    return dict(manifest.get("signing_keys", {})), False


def verify_signatures(manifest, runnings, trusted, problems):
    signature = manifest.get("signature")
    if signature is None:
        return "manifest unsigned"
    if Ed25519PublicKey is None:
        problems.append("signatures not checked: install the `cryptography` package")
        return "signatures not checked"
    unsigned = {k: v for k, v in manifest.items() if k != "signature"}
    public_key = trusted.get(signature["key_id"])
    if public_key is None:
        problems.append(f"manifest: signed by key {signature['key_id']}, which is not trusted")
    elif not signature_ok(public_key, canonical_json(unsigned), signature["signature"]):
        problems.append("manifest: its signature does not verify: the manifest was changed")
    for head in manifest.get("signed_heads", []):
        public_key = trusted.get(head["key_id"])
        where = f"signed head at position {head['position']}"
        if public_key is None or not signature_ok(
            public_key, head_message(head), head["signature"]
        ):
            problems.append(f"{where}: its signature does not verify with a trusted key")
        elif runnings.get(head["position"]) != head["running_hash"]:
            problems.append(f"{where}: the log no longer leads to the signed running hash")
    return f"manifest signed by key {signature['key_id']}"


def verify_witness(witness, runnings, last_position, problems):
    where = f"witness at position {witness['position']}"
    ok = signature_ok(witness["public_key"], head_message(witness), witness["signature"])
    if key_id(witness["public_key"]) != witness["key_id"] or ok is False:
        problems.append(f"{where}: its signature does not verify with its own key")
    if witness["position"] > last_position:
        problems.append(f"{where}: the export ends at position {last_position}: cut off")
    elif runnings.get(witness["position"]) != witness["running_hash"]:
        problems.append(f"{where}: the log no longer leads to the witness's running hash")


def verify(export, manifest, previous, witness=None, keys=()):
    problems = []
    interval = (manifest or {}).get("checkpoint_interval", 100)
    require_readable = "readable_rule" in (manifest or {})
    heads, running, last_position, count, runnings, checkpoints = verify_chain(
        export, interval, require_readable, problems
    )
    notes = []
    if manifest is not None:
        digest = hashlib.sha256(export.read_bytes()).hexdigest()
        expected = {
            "sha256": digest,
            "count": count,
            "last_position": last_position or None,
            "running_hash": running if count else None,
            "chain_heads": {s: {"version": v, "hash": h} for s, (v, h) in sorted(heads.items())},
            "checkpoints": checkpoints,
        }
        problems += [f"manifest: {k} differs" for k, v in expected.items() if manifest.get(k) != v]
        trusted, pinned = trusted_keys(manifest, witness, keys, problems)
        notes.append(verify_signatures(manifest, runnings, trusted, problems))
        if not pinned and trusted:
            notes.append(f"keys {', '.join(sorted(trusted))} (not pinned: compare them)")
    old = previous or {}
    if old.get("count") and runnings.get(old["last_position"]) != old["running_hash"]:
        problems.append("the older export's log is not the start of this one")
    if witness is not None:
        verify_witness(witness, runnings, last_position, problems)
        notes.append(f"witness at position {witness['position']} checked")
    return problems, count, last_position, notes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path)
    parser.add_argument("--manifest", type=Path)
    parser.add_argument("--previous", type=Path)
    parser.add_argument("--witness", type=Path)
    parser.add_argument("--key", action="append", default=[], help="a trusted public key (hex)")
    args = parser.parse_args()
    manifest_file = args.manifest or args.export.with_name(args.export.name + ".manifest.json")
    manifest = json.loads(manifest_file.read_text()) if manifest_file.exists() else None
    previous = json.loads(args.previous.read_text()) if args.previous else None
    witness = json.loads(args.witness.read_text()) if args.witness else None
    problems, count, last, notes = verify(args.export, manifest, previous, witness, args.key)
    for problem in problems:
        print(problem)
    verdict = "intact" if not problems else f"{len(problems)} problem(s)"
    notes = notes if manifest else [*notes, "no manifest"]
    print(f"{verdict}: {count} events up to position {last}" + "".join(f", {n}" for n in notes))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
