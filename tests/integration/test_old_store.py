"""A store written by round one's code (before the house was redrawn) opens and verifies.

`tests/fixtures/round1/` holds a SQLite store and its NDJSON export, written by the code of
commit 0a628f6 with `tracker seed --projects 12 --seed 7`, a token created and revoked, and
a person added then forgotten. The stored log is never rewritten: the new code must read
every event, chain and checkpoint of it as they are.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from domain.admin import ADMIN_LOG_ID
from tests.factories import run_tracker
from tracker.application.services import Services
from tracker.audit.verify import verify
from tracker.config.settings import Settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "round1"
EVENTS = 321


def test_a_round_one_sqlite_store_migrates_and_verifies_intact(tmp_path: Path) -> None:
    store = tmp_path / "round1.db"
    shutil.copyfile(FIXTURES / "round1.db", store)
    url = f"sqlite:///{store}"

    migrated = run_tracker(url, "migrate")
    verified = run_tracker(url, "audit", "verify")

    assert migrated.returncode == 0, migrated.stderr
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"intact: {EVENTS} events" in verified.stdout


def test_a_round_one_store_reads_its_projects_and_admin_log(tmp_path: Path) -> None:
    store = tmp_path / "round1.db"
    shutil.copyfile(FIXTURES / "round1.db", store)
    services = Services.open(Settings(database_url=f"sqlite:///{store}"))
    try:
        application = services.application
        report = verify(application)
        labs = application.list_labs()
        admin = application.repository.get(ADMIN_LOG_ID)
    finally:
        services.close()
    assert report.intact
    assert report.last_position == EVENTS
    assert len(labs) == 5
    # Opened, a token created, the token revoked, a person forgotten (a verification too).
    assert admin.version >= 4


def test_a_round_one_export_imports_into_an_empty_store_and_verifies(
    empty_database_url: str,
) -> None:
    assert run_tracker(empty_database_url, "migrate").returncode == 0
    imported = run_tracker(empty_database_url, "events", "import", str(FIXTURES / "round1.ndjson"))
    verified = run_tracker(empty_database_url, "audit", "verify")

    assert imported.returncode == 0, imported.stderr
    assert f"imported {EVENTS} events" in imported.stderr
    assert verified.returncode == 0, verified.stdout + verified.stderr
