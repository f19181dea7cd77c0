"""The offline verifier (docs/verify_export.py) on a signed export: every readable byte counts.

Each test edits an export as someone who wants a reader to see something else would, and
runs the script as an auditor would, with the store's public key pinned (`--key`).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import create_postgres_database, drop_postgres_database
from tests.factories import registered_project
from tracker.application.services import Services
from tracker.audit.export import (
    ExportFileError,
    canonical_json,
    export_log,
    import_log,
    manifest_path,
    readable_hash,
)
from tracker.audit.verify import Witness, latest_witness, verify
from tracker.config.settings import Settings
from tracker.store import migrate
from tracker.store.interface import audit_recorder
from tracker.store.signing import Signer, generate_key_file

VERIFY_EXPORT = Path(__file__).resolve().parents[2] / "docs" / "verify_export.py"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "signing.key"
    generate_key_file(path)
    return path


@pytest.fixture
def signed(empty_database_url: str, key_file: Path) -> Iterator[Services]:
    settings = Settings(
        database_url=empty_database_url,
        audit_signing_key_file=key_file,
        audit_head_signing_seconds=0,
    )
    migrate.upgrade(settings)
    services = Services.open(settings)
    yield services
    services.close()


@pytest.fixture
def export(signed: Services, tmp_path: Path) -> Path:
    application = signed.application
    project_id = registered_project(application)
    project = application.get_project(project_id)
    project.record_decision("Essaimer", "oui", "onze participants", application.meta("t", "c"))
    application.save(project)
    path = tmp_path / "log.ndjson"
    with path.open("wb") as stream:
        manifest = export_log(application, stream)
    manifest_path(path).write_bytes(canonical_json(manifest) + b"\n")
    return path


def _run(*args: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(VERIFY_EXPORT), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def _pinned(export: Path, key_file: Path, *more: Any) -> subprocess.CompletedProcess[str]:
    return _run(export, "--key", Signer.from_file(key_file).public_key, *more)


def _lines(export: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in export.read_text().splitlines()]


def _write(export: Path, lines: list[dict[str, Any]]) -> None:
    export.write_bytes(b"".join(canonical_json(line) + b"\n" for line in lines))


def _manifest(export: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(manifest_path(export).read_text())
    return manifest


def _rewrite_manifest(export: Path, **changes: Any) -> None:
    manifest = _manifest(export) | changes
    manifest["sha256"] = hashlib.sha256(export.read_bytes()).hexdigest()
    manifest_path(export).write_bytes(canonical_json(manifest) + b"\n")


def _decision_line(lines: list[dict[str, Any]]) -> dict[str, Any]:
    return next(line for line in lines if line["type"] == "DecisionRecorded")


def test_a_signed_export_verifies_offline_with_its_key_pinned(export: Path, key_file: Path) -> None:
    done = _pinned(export, key_file)
    assert done.returncode == 0, done.stdout
    key_id = Signer.from_file(key_file).key_id
    assert done.stdout.strip().endswith(f", manifest signed by key {key_id}")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("type", "ProjectClosed"),
        ("occurred_on", "2020-01-01"),
        ("actor", "tok_someone_else"),
        ("reason", "une autre raison"),
        ("recorded_at", "2020-01-01T00:00:00+00:00"),
        ("data", {"title": "Abandonner"}),
    ],
)
def test_a_changed_readable_field_is_detected_offline(
    export: Path, key_file: Path, field: str, value: Any
) -> None:
    lines = _lines(export)
    _decision_line(lines)[field] = value
    _write(export, lines)
    done = _pinned(export, key_file)
    assert done.returncode == 1
    assert "the readable fields were changed" in done.stdout


def test_a_changed_readable_field_with_its_hash_and_sha256_recomputed_breaks_the_signature(
    export: Path, key_file: Path
) -> None:
    lines = _lines(export)
    line = _decision_line(lines)
    line["data"] = {**line["data"], "rationale": "neuf cent quatre-vingt-dix-neuf participants"}
    line["readable_hash"] = readable_hash(line["hash"], line)
    _write(export, lines)
    _rewrite_manifest(export)
    done = _pinned(export, key_file)
    assert done.returncode == 1
    assert "manifest: its signature does not verify" in done.stdout


def test_a_manifest_resigned_with_another_key_is_not_trusted(
    export: Path, key_file: Path, tmp_path: Path
) -> None:
    forger = generate_key_file(tmp_path / "forger.key")
    lines = _lines(export)
    line = _decision_line(lines)
    line["reason"] = "réécrit"
    line["readable_hash"] = readable_hash(line["hash"], line)
    _write(export, lines)
    manifest = _manifest(export)
    manifest.pop("signature")
    manifest["signing_keys"] = {forger.key_id: forger.public_key}
    manifest["sha256"] = hashlib.sha256(export.read_bytes()).hexdigest()
    manifest["signature"] = {
        "key_id": forger.key_id,
        "signature": forger.sign_bytes(canonical_json(manifest)),
    }
    manifest_path(export).write_bytes(canonical_json(manifest) + b"\n")
    done = _pinned(export, key_file)
    assert done.returncode == 1
    assert f"signed by key {forger.key_id}, which is not trusted" in done.stdout


def test_a_witness_is_checked_offline(signed: Services, export: Path, tmp_path: Path) -> None:
    witness = latest_witness(signed.application)
    assert witness is not None
    path = tmp_path / "witness.json"
    path.write_text(json.dumps(witness.as_dict()))
    done = _run(export, "--witness", path)
    assert done.returncode == 0, done.stdout
    assert f"witness at position {witness.head.position} checked" in done.stdout


def test_an_export_cut_before_the_witness_is_detected_offline(
    signed: Services, export: Path, tmp_path: Path
) -> None:
    found = latest_witness(signed.application)
    assert found is not None
    path = tmp_path / "witness.json"
    path.write_text(json.dumps(Witness(found.head, found.public_key).as_dict()))
    lines = [line for line in _lines(export) if line["position"] < found.head.position]
    _write(export, lines)
    manifest_path(export).unlink()
    done = _run(export, "--witness", path)
    assert done.returncode == 1
    assert f"witness at position {found.head.position}: the export ends" in done.stdout


@pytest.fixture
def target_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A second empty, migrated store on the same back end."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'target.db'}"
        migrate.upgrade(Settings(database_url=url))
        yield url
        return
    server_url = request.getfixturevalue("postgres_server_url")
    url = create_postgres_database(server_url, prefix="tracker_target")
    migrate.upgrade(Settings(database_url=url))
    try:
        yield url
    finally:
        drop_postgres_database(server_url, url)


def _imported(export: Path, url: str, key_file: Path | None = None) -> Services:
    settings = Settings(database_url=url, audit_signing_key_file=key_file)
    services = Services.open(settings)
    try:
        import_log(services.application, export)
    except BaseException:
        services.close()
        raise
    return services


def test_an_imported_store_keeps_the_signed_heads_and_verifies_against_a_witness(
    signed: Services, export: Path, target_url: str, tmp_path: Path
) -> None:
    witness = latest_witness(signed.application)
    assert witness is not None
    imported = _imported(export, target_url)
    try:
        report = verify(imported.application, witness=witness)
        heads = audit_recorder(imported.application.recorder).select_signatures()
    finally:
        imported.close()
    assert heads == audit_recorder(signed.application.recorder).select_signatures()
    assert report.intact, report.findings
    assert report.signed_heads == len(heads) > 0
    assert report.witness_position == witness.head.position


def test_an_import_refuses_a_forged_manifest_or_signed_head_and_writes_nothing(
    export: Path, target_url: str
) -> None:
    manifest = _manifest(export)
    manifest["exported_at"] = "2020-01-01T00:00:00+00:00"
    manifest_path(export).write_bytes(canonical_json(manifest) + b"\n")
    with pytest.raises(ExportFileError, match="manifest's signature does not verify"):
        _imported(export, target_url).close()
    del manifest["signature"]
    head = manifest["signed_heads"][-1]
    head["running_hash"] = "f" * 64
    manifest_path(export).write_bytes(canonical_json(manifest) + b"\n")
    with pytest.raises(ExportFileError, match=f"signed head at position {head['position']}"):
        _imported(export, target_url).close()
    empty = Services.open(Settings(database_url=target_url))
    try:
        assert audit_recorder(empty.application.recorder).max_notification_id() is None
        assert audit_recorder(empty.application.recorder).select_signatures() == []
    finally:
        empty.close()
