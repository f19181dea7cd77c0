"""Administrative actions are events of the AdminLog stream, readable by auditors."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from domain.admin import ADMIN_LOG_ID
from domain.errors import InvalidValueError
from tests.factories import registered_project
from tracker.application.commands import (
    AdminCommand,
    RecordAuditVerified,
    RecordEventsImported,
    RecordPersonForgotten,
    RecordProjectionsRebuilt,
    RecordTokenCreated,
    RecordTokenRevoked,
)
from tracker.application.service import TrackerApplication
from tracker.application.services import Services
from tracker.audit.export import export_log, manifest_path
from tracker.audit.history import HistoryEntry, admin_history
from tracker.audit.verify import verify
from tracker.cli import audit as cli_audit
from tracker.config.logging import configure_logging
from tracker.config.settings import Settings, get_settings
from tracker.store import migrate


def _last(application: TrackerApplication) -> HistoryEntry:
    stored = application.recorder.select_events(ADMIN_LOG_ID, desc=True, limit=1)
    return admin_history(application, after=stored[0].originator_version - 1).entries[0]


def test_each_admin_action_is_recorded_with_its_fields_and_actor(
    application: TrackerApplication,
) -> None:
    actions: dict[type[AdminCommand], dict[str, Any]] = {
        RecordTokenCreated: {"token_id": "tok_1", "role": "staff", "lab": "lab-bfc"},
        RecordTokenRevoked: {"token_id": "tok_1"},
        RecordProjectionsRebuilt: {"projections": ["portfolio"], "position": 42, "checked": True},
        RecordEventsImported: {
            "count": 3,
            "last_position": 3,
            "running_hash": "ab" * 32,
            "file_sha256": "cd" * 32,
        },
        RecordAuditVerified: {"events": 10, "last_position": 10, "findings": 0},
        RecordPersonForgotten: {"person_id": "per_1"},
    }
    for command, fields in actions.items():
        action = command.command_name.removeprefix("record_")
        meta = application.meta("tok_admin", f"corr-{action}")
        result = application.execute(command(**fields), meta)
        entry = _last(application)
        assert entry.position == result.position
        assert entry.type == "".join(w.capitalize() for w in action.split("_"))
        assert (entry.actor, entry.correlation_id) == ("tok_admin", f"corr-{action}")
        assert entry.data.items() >= fields.items()
        assert entry.hash is not None
    assert _last(application).data == {"person_id": "per_1"}


def test_an_admin_action_with_a_bad_field_is_refused(application: TrackerApplication) -> None:
    meta = application.meta("tok", "c")
    with pytest.raises(InvalidValueError):
        application.execute(RecordTokenRevoked(token_id="  "), meta)
    with pytest.raises(InvalidValueError):
        application.execute(RecordAuditVerified(events=-1, last_position=0, findings=0), meta)


def test_writers_in_two_processes_append_to_the_admin_log_without_losing_any(
    settings: Settings,
) -> None:
    first, second = TrackerApplication(settings), TrackerApplication(settings)
    try:
        first.execute(RecordTokenRevoked(token_id="warm-up"), first.meta("t", "c"))
        before = _last(first).version
        barrier = threading.Barrier(8)

        def record(index: int) -> int:
            application = first if index % 2 else second
            barrier.wait()
            meta = application.meta("tok", f"c{index}")
            return application.execute(RecordTokenRevoked(token_id=f"t{index}"), meta).version

        with ThreadPoolExecutor(max_workers=8) as pool:
            versions = sorted(pool.map(record, range(8)))
        assert versions == list(range(before + 1, before + 9))
    finally:
        first.close()
        second.close()


@pytest.fixture
def fresh(empty_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    settings = Settings(database_url=empty_database_url)
    migrate.upgrade(settings)
    services = Services.open(settings)
    monkeypatch.setenv("TRACKER_DATABASE_URL", empty_database_url)
    get_settings.cache_clear()
    yield services
    services.close()
    get_settings.cache_clear()
    configure_logging("console", "WARNING")


def _cli() -> typer.Typer:
    app = typer.Typer()
    cli_audit.register(app)
    return app


def test_the_verify_command_records_what_it_found(fresh: Services) -> None:
    registered_project(fresh.application)
    result = CliRunner().invoke(_cli(), ["audit", "verify", "--actor", "tok_auditor"])
    assert result.exit_code == 0, result.output
    entry = _last(fresh.application)
    assert entry.type == "AuditVerified"
    assert entry.actor == "tok_auditor"
    assert entry.data == {"events": 2, "last_position": 2, "findings": 0, "intact": True}
    assert verify(fresh.application).intact  # the admin stream chains like any other


def test_the_import_command_records_the_import(fresh: Services, tmp_path: Path) -> None:
    source = Services.open(Settings(database_url=f"sqlite:///{tmp_path / 'source.db'}"))
    try:
        migrate.upgrade(source.settings)
        registered_project(source.application)
        path = tmp_path / "log.ndjson"
        with path.open("wb") as out:
            manifest = export_log(source.application, out)
        manifest_path(path).write_text(json.dumps(manifest))
    finally:
        source.close()
    result = CliRunner().invoke(_cli(), ["events", "import", str(path)])
    assert result.exit_code == 0, result.output
    entry = _last(fresh.application)
    assert entry.type == "EventsImported"
    assert entry.data["count"] == 2
    assert entry.data["file_sha256"] == manifest["sha256"]
    # The admin log opens (position 3) and records the import (4), after the imported log.
    assert (entry.position, entry.version) == (manifest["last_position"] + 2, 2)
