"""`tracker serve --demo` (what `make run` starts) as a real process on a fresh SQLite file."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.reliability.harness import client_mistakes_with_tracebacks

pytestmark = pytest.mark.e2e

TRACKER = str(Path(sys.executable).parent / "tracker")
START_DEADLINE_SECONDS = 120  # seeding 200 projects comes first on the first start
TOKEN = re.compile(r"tok_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text()


def wait_until_healthy(server: Server, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"the server exited with {server.process.returncode}:\n{server.output()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            # Not listening yet: wait for the process a moment (bounded), then look again.
            with suppress(subprocess.TimeoutExpired):
                server.process.wait(timeout=0.2)
    pytest.fail(f"/healthz did not answer within {START_DEADLINE_SECONDS} s")


@contextmanager
def serving(database: Path, tmp_path: Path, run: int) -> Iterator[Server]:
    port = free_port()
    stdout, stderr = tmp_path / f"stdout{run}.txt", tmp_path / f"stderr{run}.txt"
    env = {
        **os.environ,
        "TRACKER_DATABASE_URL": f"sqlite:///{database}",
        "TRACKER_LOG_FORMAT": "json",
    }
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [TRACKER, "serve", "--demo", "--port", str(port)], stdout=out, stderr=err, env=env
        )
    server = Server(process, f"http://127.0.0.1:{port}", stdout, stderr)
    try:
        wait_until_healthy(server, time.monotonic() + START_DEADLINE_SECONDS)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    mistakes = client_mistakes_with_tracebacks(stderr.read_text(errors="replace"))
    assert not mistakes, f"a traceback logged at ERROR for an answer below 500: {mistakes}"


def wait_until_ready(server: Server, seconds: float = 60) -> httpx.Response:
    deadline = time.monotonic() + seconds
    answer = httpx.get(f"{server.url}/readyz", timeout=5)
    while answer.status_code != 200 and time.monotonic() < deadline:
        with suppress(subprocess.TimeoutExpired):
            server.process.wait(timeout=0.2)
        answer = httpx.get(f"{server.url}/readyz", timeout=5)
    return answer


def test_first_start_seeds_prints_tokens_and_serves_and_a_second_start_keeps_the_data(
    tmp_path: Path,
) -> None:
    database = tmp_path / "demo.db"

    with serving(database, tmp_path, 1) as first:
        printed = first.output()
        tokens = dict(re.findall(r"^  (\S+(?: \(\S+\))?)\s+(tok_\S+)$", printed, re.MULTILINE))
        project = re.search(r"PROJECT=([0-9a-f-]{36})", printed)
        viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
        labs = httpx.get(f"{first.url}/api/v1/labs", headers=viewer, timeout=10)
        assert project is not None
        shown = httpx.get(f"{first.url}/api/v1/projects/{project[1]}", headers=viewer, timeout=10)
        docs = httpx.get(f"{first.url}/docs", timeout=10)
        ready = wait_until_ready(first)
        events = httpx.get(f"{first.url}/metrics", timeout=10).text
        first.process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal: -SIGTERM is its clean exit.
        assert first.process.wait(timeout=30) in (0, -signal.SIGTERM)
        logged = first.stderr.read_text()

    assert '"event": "stopped"' in logged  # the lifespan ran to its end: projector stopped
    assert "Traceback" not in logged
    assert "seeded 5 labs, 200 projects" in printed
    assert set(tokens) >= {
        "admin",
        "viewer",
        "auditor",
        "staff (region-bfc)",
        "staff (etat-bfc)",
        "staff (etat-grand-est)",
    }
    assert all(TOKEN.fullmatch(token) for token in tokens.values())
    assert f"{first.url}/docs" in printed
    assert f"{first.url}/graphql" in printed
    assert "curl -s" in printed
    assert labs.status_code == 200
    assert "region-bfc" in labs.text
    assert shown.status_code == 200
    assert shown.json()["lab"] == "region-bfc"
    assert docs.status_code == 200
    assert ready.status_code == 200, ready.text
    appended = re.search(r"^tracker_events_appended_total (\S+)$", events, re.MULTILINE)
    assert appended is not None
    assert float(appended[1]) > 5000

    with serving(database, tmp_path, 2) as second:
        again = second.output()
        still = httpx.get(f"{second.url}/api/v1/labs", headers=viewer, timeout=10)
        events_again = httpx.get(f"{second.url}/metrics", timeout=10).text

    assert "nothing was seeded" in again
    assert "tracker token create" in again
    assert not TOKEN.search(again)
    assert still.status_code == 200  # the first start's tokens still work
    assert still.json() == labs.json()
    appended_again = re.search(r"^tracker_events_appended_total (\S+)$", events_again, re.MULTILINE)
    assert appended_again is not None
    assert appended_again[1] == appended[1]


def run_cli(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TRACKER, *args],
        env={**os.environ, "TRACKER_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_unmigrated_database_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = run_cli("seed", database_url=f"sqlite:///{tmp_path / 'none.db'}")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: the database has no tracker tables (no such table: tracker_events): "
        "run `tracker migrate` first"
    ]


def test_an_unreachable_database_is_one_line_and_exit_1() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there once closed
    result = run_cli("migrate", database_url=f"postgresql+psycopg://nobody@127.0.0.1:{port}/x")

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: cannot reach the database at TRACKER_DATABASE_URL")
    assert "Traceback" not in result.stderr


def test_help_documents_every_command() -> None:
    result = subprocess.run(
        [TRACKER, "--help"], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0
    for command in ("serve", "migrate", "seed", "token", "projector", "projections", "audit"):
        assert re.search(rf"│ {command}\s+\S", result.stdout), command
