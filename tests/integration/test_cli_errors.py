"""The command line's own mistakes and the operators': one line naming the cause and the
fix, exit 1, and nothing created by a command that only reads (the real `tracker` script)."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

TRACKER = str(Path(sys.executable).parent / "tracker")


def tracker(
    *arguments: str, cwd: Path, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRACKER_")}
    if database_url is not None:
        env["TRACKER_DATABASE_URL"] = database_url
    return subprocess.run(
        [TRACKER, *arguments], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_version_prints_the_installed_version(tmp_path: Path) -> None:
    result = tracker("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == "tracker 0.1.0"


@pytest.mark.parametrize(
    "command",
    [
        ("token", "list"),
        ("events", "export", "--out", "log.ndjson"),
        ("audit", "verify"),
        ("projections", "status"),
    ],
)
def test_a_reading_command_never_creates_a_database(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    line = error_line(tracker(*command, cwd=tmp_path))
    assert "TRACKER_DATABASE_URL" in line
    assert "sqlite:///./var/tracker.db" in line
    assert list(tmp_path.iterdir()) == []  # no var/tracker.db, no empty log.ndjson


def test_an_unmigrated_database_says_to_migrate(empty_database_url: str, tmp_path: Path) -> None:
    if empty_database_url.startswith("sqlite"):
        sqlite3.connect(make_url(empty_database_url).database).close()
    line = error_line(tracker("token", "list", cwd=tmp_path, database_url=empty_database_url))
    assert "run `tracker migrate`" in line


def test_an_export_that_fails_leaves_no_file(empty_database_url: str, tmp_path: Path) -> None:
    if empty_database_url.startswith("sqlite"):
        sqlite3.connect(make_url(empty_database_url).database).close()
    out = tmp_path / "log.ndjson"
    result = tracker(
        "events", "export", "--out", str(out), cwd=tmp_path, database_url=empty_database_url
    )
    assert "run `tracker migrate`" in error_line(result)
    assert not out.exists()


def test_a_missing_postgresql_database_says_to_create_it(
    postgres_server_url: str, tmp_path: Path
) -> None:
    name = f"tracker_missing_{uuid.uuid4().hex[:8]}"
    url = make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    line = error_line(tracker("token", "list", cwd=tmp_path, database_url=url))
    assert f"createdb {name}" in line


def test_an_unreachable_database_says_so(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/tracker"
    line = error_line(tracker("token", "list", cwd=tmp_path, database_url=url))
    assert "cannot reach the database at TRACKER_DATABASE_URL" in line


def test_an_unsupported_url_scheme_names_the_supported_ones(tmp_path: Path) -> None:
    line = error_line(tracker("token", "list", cwd=tmp_path, database_url="mysql://x@localhost/db"))
    assert "unsupported database URL scheme 'mysql'" in line
    assert "postgresql+psycopg://" in line


def test_a_busy_port_says_to_pick_another(database_url: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = tracker(
            "serve", "--port", str(port), "--no-migrate", cwd=tmp_path, database_url=database_url
        )
    line = error_line(result)
    assert f"port {port} on 127.0.0.1 is in use" in line
    assert "--port" in line


def test_a_staff_token_for_an_unknown_lab_is_refused(database_url: str, tmp_path: Path) -> None:
    result = tracker(
        "token",
        "create",
        "--role",
        "staff",
        "--lab",
        "nope",
        cwd=tmp_path,
        database_url=database_url,
    )
    line = error_line(result)
    assert "no lab 'nope'" in line
    assert result.stdout == ""
