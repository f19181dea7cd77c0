#!/usr/bin/env python3
"""Verify a tracker export offline, with the standard library only (rule tracker-chain-v1).

    python3 verify_export.py EXPORT.ndjson [--manifest EXPORT.ndjson.manifest.json]
                             [--previous OLDER.manifest.json]

Recomputes every event's hash from its bytes and its stream's previous hash, the running
hash over positions, and the checkpoints; checks the file's SHA-256, the count, positions
and chain heads against the manifest; with --previous, checks that an older export's log is
still the start of this one. Prints each problem; exits 0 when there is none, 1 otherwise.
"""

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path

GENESIS = "0" * 64


def event_hash(prev, originator_id, version, topic, state):
    head = f"tracker-event-v1\n{prev}\n{originator_id}\n{version}\n{topic}\n".encode()
    return hashlib.sha256(head + state).hexdigest()


def running_hash(prev, position, hash_):
    return hashlib.sha256(f"tracker-log-v1\n{prev}\n{position}\n{hash_}".encode()).hexdigest()


def verify(export, manifest, previous):
    problems = []
    heads, running, last_position, count = {}, GENESIS, 0, 0
    runnings, checkpoints, interval = {}, [], (manifest or {}).get("checkpoint_interval", 100)
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
            running = running_hash(running, position, hash_)
            if e["running_hash"] != running:
                problems.append(f"line {number}: position {position}: running hash differs")
            if position // interval > last_position // interval:
                checkpoints.append({"position": position, "running_hash": running})
            heads[stream], last_position, count = (version, hash_), position, count + 1
            runnings[position] = running
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
    old = previous or {}
    if old.get("count") and runnings.get(old["last_position"]) != old["running_hash"]:
        problems.append("the older export's log is not the start of this one")
    return problems, count, last_position


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path)
    parser.add_argument("--manifest", type=Path)
    parser.add_argument("--previous", type=Path)
    args = parser.parse_args()
    manifest_file = args.manifest or args.export.with_name(args.export.name + ".manifest.json")
    manifest = json.loads(manifest_file.read_text()) if manifest_file.exists() else None
    previous = json.loads(args.previous.read_text()) if args.previous else None
    problems, count, last = verify(args.export, manifest, previous)
    for problem in problems:
        print(problem)
    verdict = "intact" if not problems else f"{len(problems)} problem(s)"
    print(
        f"{verdict}: {count} events up to position {last}" + ("" if manifest else ", no manifest")
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
