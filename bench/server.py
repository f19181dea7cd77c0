"""A real `tracker serve` process for the benchmarks, and its peak memory."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TRACKER = Path(sys.executable).parent / "tracker"
# How long a server may take to answer /healthz: its imports alone take a minute on a
# 2-core machine at a load average of 15.
START_SECONDS = 180


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float | None:
    """The process's resident-set high-water mark (VmHWM), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time the process has used so far (all its threads), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def tracker_env(url: str, **extra: str) -> dict[str, str]:
    """The environment of a tracker process on `url`: production settings, quiet logs."""
    env = dict(os.environ)
    env.update(
        {
            "TRACKER_DATABASE_URL": url,
            "TRACKER_ENV": "production",
            "TRACKER_LOG_FORMAT": "json",
            "TRACKER_LOG_LEVEL": os.environ.get("TRACKER_BENCH_LOG_LEVEL", "WARNING"),
        }
    )
    env.update(extra)
    return env


def descendants(pid: int) -> list[int]:
    """The process's children, their children, and so on (a `--workers` supervisor's)."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                found += [int(child), *descendants(int(child))]
    return found


def threads(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def peak_rss_mb(self) -> float | None:
        return peak_rss_mb(self.process.pid)

    def cpu_seconds(self) -> float | None:
        """The CPU of the server and of its worker processes, if any (alive ones)."""
        spent = [cpu_seconds(pid) for pid in [self.process.pid, *descendants(self.process.pid)]]
        return None if spent[0] is None else sum(s for s in spent if s is not None)


@contextlib.contextmanager
def serve(
    url: str,
    log_dir: Path,
    *,
    projector: bool = True,
    name: str = "serve",
    workers: int = 1,
    env: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """`tracker serve --no-migrate` on a free port until the block ends (then SIGTERM).

    With `workers` > 1, ready once /healthz answers and every worker has started its
    lifespan's threads (more than the main one and uvicorn's ping thread: the logs are at
    WARNING, so they cannot say it). `env`: more of the server's settings
    (`TRACKER_…` variables), over `tracker_env`'s.
    """
    port = free_port()
    log_path = log_dir / f"{name}-{port}.log"
    args = [str(TRACKER), "serve", "--no-migrate", "--host", "127.0.0.1", "--port", str(port)]
    args += ["--workers", str(workers)]
    if not projector:
        args.append("--no-projector")
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, env=tracker_env(url, **(env or {})), stdout=log, stderr=log, cwd=ROOT
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if process.poll() is not None:
                msg = f"tracker serve exited with {process.returncode}: see {log_path}"
                raise RuntimeError(msg)
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200 and (
                    workers == 1 or _workers_started(process.pid, workers)
                ):
                    break
            if time.monotonic() > deadline:
                msg = f"tracker serve did not answer /healthz in {START_SECONDS} s: see {log_path}"
                raise RuntimeError(msg)
            time.sleep(0.1)
        yield Server(process, base_url, log_path)
    finally:
        stop(process)


def _workers_started(pid: int, workers: int) -> bool:
    # uvicorn's workers are `multiprocessing.spawn` children (beside its resource tracker).
    spawned = [
        child
        for child in descendants(pid)
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]
    return len(spawned) == workers and all(threads(child) > 2 for child in spawned)


@contextlib.contextmanager
def projector_process(url: str, log_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`tracker projector` until the block ends (then SIGTERM)."""
    log_path = log_dir / "projector.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(TRACKER), "projector"], env=tracker_env(url), stdout=log, stderr=log, cwd=ROOT
        )
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
