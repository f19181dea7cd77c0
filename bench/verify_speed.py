"""`tracker audit verify` speed, in events per second, beside its floor, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.verify_speed [--events 100000] [--backend sqlite|postgresql|both]
                                           [--signed]

Writes a log of `--events` events (bench.rebuild_speed's writer; with `--signed`, a signing
key signs every checkpoint and the head with every save), then times, on the same database:

- verify: `tracker.audit.verify.verify` (chains, checkpoints, signed heads; no projections);
- floor: reading the same rows (the events and the hash rows, streamed from one snapshot as
  verify reads them) and computing each event's hash and the running hash, with no checks.

Rates are also given per CPU-second of this process (on PostgreSQL the server's own time is
excluded), which a machine shared with other work disturbs less.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from itertools import chain
from pathlib import Path
from typing import Any

from bench.common import Figure
from bench.rebuild_speed import database, write_log
from tracker.application.services import Services
from tracker.audit.verify import verify
from tracker.config.logging import configure_logging
from tracker.config.settings import Settings
from tracker.store import migrate
from tracker.store.chain import GENESIS, canonical_event_hash, running_hash
from tracker.store.interface import audit_recorder
from tracker.store.signing import generate_key_file


def floor(services: Services) -> int:
    """Read every event and hash row as verify does, and hash them: the events read."""
    recorder = audit_recorder(services.application.recorder)
    heads: dict[str, str] = {}
    running, count = GENESIS, 0
    stop = max(recorder.max_notification_id() or 0, recorder.max_hash_position())
    with recorder.scan_chain(stop) as scan:
        recorded = chain.from_iterable(scan.recorded)
        for page in scan.events:
            for position, stream, version, topic, state in page:
                next(recorded, None)
                hash_ = canonical_event_hash(
                    heads.get(stream, GENESIS), stream, version, topic, state
                )
                heads[stream] = hash_
                running = running_hash(running, position, hash_)
            count += len(page)
    return count


def measure(backend: str, events: int, signed: bool) -> dict[str, Any]:
    with database(backend) as url, tempfile.TemporaryDirectory() as keys:
        key = None
        if signed:
            key = Path(keys) / "signing.key"
            generate_key_file(key)
        settings = Settings(
            database_url=url, audit_signing_key_file=key, audit_head_signing_seconds=0
        )
        migrate.upgrade(settings)
        services = Services.open(settings)
        try:
            write_log(services, events)
            started, cpu = time.perf_counter(), time.process_time()
            report = verify(services.application)
            verify_seconds = time.perf_counter() - started
            verify_cpu = time.process_time() - cpu
            assert report.intact, report.findings[:3]
            started, cpu = time.perf_counter(), time.process_time()
            read = floor(services)
            floor_seconds = time.perf_counter() - started
            floor_cpu = time.process_time() - cpu
        finally:
            services.close()
    return {
        "events": report.events,
        "signed_heads": report.signed_heads,
        "verify_seconds": round(verify_seconds, 2),
        "verify_events_per_s": report.events / verify_seconds,
        "floor_seconds": round(floor_seconds, 2),
        "floor_events_per_s": read / floor_seconds,
        "verify_events_per_cpu_s": report.events / verify_cpu,
        "floor_events_per_cpu_s": read / floor_cpu,
        "load_average": os.getloadavg()[0],
    }


TARGET_EVENTS_PER_S = 50_000


def run(backend: str, quick: bool = False) -> list[Figure]:
    """The `make bench` suite "verify": verify's rate beside its floor, on a signed log."""
    f = measure(backend, 20_000 if quick else 100_000, signed=True)
    return [
        Figure(
            suite="verify",
            name=f"audit verify of {f['events']:,} events (chains, checkpoints, signatures)",
            backend=backend,
            value=round(f["verify_events_per_s"]),
            unit="events/s",
            floor_name="reading the same rows and hashing them",
            floor=round(f["floor_events_per_s"]),
            target=f">= {TARGET_EVENTS_PER_S:,} events/s",
            met=f["verify_events_per_s"] >= TARGET_EVENTS_PER_S,
            note=(
                f"per CPU-second: {f['verify_events_per_cpu_s']:,.0f} (floor "
                f"{f['floor_events_per_cpu_s']:,.0f}); load average {f['load_average']:.1f}"
            ),
            extra=f,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--signed", action="store_true", help="sign checkpoints and heads")
    arguments = parser.parse_args()
    configure_logging("console", "ERROR")
    backends = ["sqlite", "postgresql"] if arguments.backend == "both" else [arguments.backend]
    for backend in backends:
        f = measure(backend, arguments.events, arguments.signed)
        print(
            f"{backend:10} {f['events']:>9,} events, {f['signed_heads']:,} signed heads  "
            f"verify {f['verify_events_per_s']:>9,.0f}/s ({f['verify_seconds']} s)  "
            f"floor {f['floor_events_per_s']:>9,.0f}/s ({f['floor_seconds']} s)  |  per "
            f"CPU-second of this process: verify {f['verify_events_per_cpu_s']:,.0f}, "
            f"floor {f['floor_events_per_cpu_s']:,.0f}  (load average {f['load_average']:.1f})",
            flush=True,
        )


if __name__ == "__main__":
    main()
