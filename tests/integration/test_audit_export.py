"""Export → import reproduces the log exactly; the offline script verifies a real export."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from domain.values import Health
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.factories import registered_lab, registered_project
from tracker.application.commands import AssessHealth
from tracker.application.services import Services
from tracker.audit.export import ExportFileError, export_log, import_log, manifest_path
from tracker.audit.verify import verify
from tracker.cli import audit as cli_audit
from tracker.config.logging import configure_logging
from tracker.config.settings import Settings, get_settings
from tracker.store import chain, migrate
from tracker.store.interface import StoreNotEmptyError

VERIFY_EXPORT = Path(__file__).resolve().parents[2] / "docs" / "verify_export.py"


def _open(url: str) -> Services:
    settings = Settings(database_url=url)
    migrate.upgrade(settings)
    return Services.open(settings)


@pytest.fixture
def source(empty_database_url: str) -> Iterator[Services]:
    services = _open(empty_database_url)
    yield services
    services.close()


@pytest.fixture
def target(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    """A second empty store on the same back end."""
    if backend == "sqlite":
        services = _open(f"sqlite:///{tmp_path / 'target.db'}")
        yield services
        services.close()
        return
    server_url = request.getfixturevalue("postgres_server_url")
    url = create_postgres_database(server_url, prefix="tracker_target")
    services = _open(url)
    try:
        yield services
    finally:
        services.close()
        drop_postgres_database(server_url, url)


def _fill(services: Services) -> None:
    """Two labs, several projects, and enough events in one save to pass a checkpoint."""
    application = services.application
    lab = registered_lab(application)
    for _ in range(3):
        project_id = registered_project(application, lab)
        application.execute(
            AssessHealth(project_id=project_id, health=Health.AT_RISK, reason="é"),
            application.meta("t", "c"),
        )
    project_id = registered_project(application)
    project = application.get_project(project_id)
    for index in range(chain.CHECKPOINT_INTERVAL):
        project.record_decision(f"Décision {index}", "oui", "car", application.meta("t", "c"))
    application.save(project)


def _export(services: Services, path: Path) -> dict[str, Any]:
    with path.open("wb") as out:
        manifest = export_log(services.application, out)
    manifest_path(path).write_text(json.dumps(manifest))
    return manifest


def _log(services: Services) -> list[tuple[Any, ...]]:
    recorder: Any = services.application.recorder
    return [
        (n.id, str(n.originator_id), n.originator_version, n.topic, bytes(n.state))
        for n in recorder.select_notifications(start=1, limit=10**6)
    ]


def test_export_then_import_reproduces_positions_bytes_hashes_and_checkpoints(
    source: Services, target: Services, tmp_path: Path
) -> None:
    _fill(source)
    path = tmp_path / "log.ndjson"
    manifest = _export(source, path)
    assert manifest["count"] == len(_log(source))
    assert manifest["checkpoints"]
    result = import_log(target.application, path)
    assert result.count == manifest["count"]
    assert _log(target) == _log(source)
    source_recorder: Any = source.application.recorder
    target_recorder: Any = target.application.recorder
    assert target_recorder.select_hash_rows(0, 10**6) == source_recorder.select_hash_rows(0, 10**6)
    assert target_recorder.select_checkpoints() == source_recorder.select_checkpoints()
    assert verify(target.application).intact
    again = tmp_path / "again.ndjson"
    assert _export(target, again)["sha256"] == manifest["sha256"]
    assert again.read_bytes() == path.read_bytes()


def test_new_events_after_an_import_continue_the_positions_and_chains(
    source: Services, target: Services, tmp_path: Path
) -> None:
    _fill(source)
    path = tmp_path / "log.ndjson"
    manifest = _export(source, path)
    import_log(target.application, path)
    project_id = registered_project(target.application)
    result = target.application.execute(
        AssessHealth(project_id=project_id, health=Health.OFF_TRACK),
        target.application.meta("t", "c"),
    )
    assert result.position > manifest["last_position"]
    assert verify(target.application).intact


def test_import_refuses_a_store_that_is_not_empty(
    source: Services, target: Services, tmp_path: Path
) -> None:
    _fill(source)
    path = tmp_path / "log.ndjson"
    _export(source, path)
    registered_lab(target.application)
    before = _log(target)
    with pytest.raises(StoreNotEmptyError, match="not empty"):
        import_log(target.application, path)
    assert _log(target) == before


def test_import_refuses_an_altered_export_and_writes_nothing(
    source: Services, target: Services, tmp_path: Path
) -> None:
    _fill(source)
    path = tmp_path / "log.ndjson"
    _export(source, path)
    lines = path.read_bytes().splitlines(keepends=True)
    record = json.loads(lines[3])
    record["topic"] = record["topic"] + "x"
    lines[3] = json.dumps(record).encode() + b"\n"
    path.write_bytes(b"".join(lines))
    manifest_path(path).unlink()  # without it, the chain rule alone must catch the change
    with pytest.raises(ExportFileError, match="line 4"):
        import_log(target.application, path)
    assert _log(target) == []


def _run_script(*args: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(VERIFY_EXPORT), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_offline_script_verifies_a_real_export(source: Services, tmp_path: Path) -> None:
    _fill(source)
    older = tmp_path / "older.ndjson"
    _export(source, older)
    registered_project(source.application)
    path = tmp_path / "log.ndjson"
    manifest = _export(source, path)
    done = _run_script(path, Path("--previous"), manifest_path(older))
    assert done.returncode == 0, done.stdout
    assert (
        done.stdout.strip()
        == f"intact: {manifest['count']} events up to position {manifest['last_position']}"
        ", manifest unsigned"
    )


def test_the_offline_script_reports_a_changed_byte_and_a_wrong_sha256(
    source: Services, tmp_path: Path
) -> None:
    _fill(source)
    path = tmp_path / "log.ndjson"
    _export(source, path)
    text = path.read_text()
    record = json.loads(text.splitlines()[1])
    changed = record["state"][:-4] + ("AAAA" if record["state"][-4:] != "AAAA" else "BBBB")
    path.write_text(text.replace(record["state"], changed, 1))
    done = _run_script(path)
    assert done.returncode == 1
    assert "line 2: position 2: hash does not match" in done.stdout
    assert "manifest: sha256 differs" in done.stdout


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield
    get_settings.cache_clear()
    configure_logging("console", "WARNING")


@pytest.mark.usefixtures("cli_env")
def test_the_cli_exports_and_imports_with_clear_errors(
    source: Services, target: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(source)
    app = typer.Typer()
    cli_audit.register(app)
    path = tmp_path / "cli.ndjson"
    monkeypatch.setenv("TRACKER_DATABASE_URL", source.settings.database_url)
    get_settings.cache_clear()
    exported = CliRunner().invoke(app, ["events", "export", "--out", str(path)])
    assert exported.exit_code == 0, exported.output
    assert json.loads(manifest_path(path).read_text())["count"] == len(_log(source))
    monkeypatch.setenv("TRACKER_DATABASE_URL", target.settings.database_url)
    get_settings.cache_clear()
    imported = CliRunner().invoke(app, ["events", "import", str(path)])
    assert imported.exit_code == 0, imported.output
    refused = CliRunner().invoke(app, ["events", "import", str(path)])
    assert refused.exit_code == 1
    assert "the event store is not empty" in refused.stderr
