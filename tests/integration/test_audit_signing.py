"""Signed heads: what an insider with the database but not the key cannot hide, both stores.

The insider scenario re-chains the log with the published rule (docs/audit.md): every
hash row, checkpoint and running hash agrees again, and only the signatures tell.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from domain.admin import ADMIN_LOG_ID, AdminLog
from tests.factories import registered_project
from tracker.application.services import Services
from tracker.audit.export import canonical_json, export_log, manifest_path
from tracker.audit.verify import Witness, latest_witness, verify
from tracker.cli import audit as cli_audit
from tracker.config.logging import configure_logging
from tracker.config.settings import Settings, get_settings
from tracker.store import chain, migrate
from tracker.store.chain import ChainedEvent, ChainState, canonical_id
from tracker.store.interface import audit_recorder
from tracker.store.signing import generate_key_file


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "signing.key"
    generate_key_file(path)
    return path


@pytest.fixture
def signed(empty_database_url: str, key_file: Path) -> Iterator[Services]:
    """A store of its own, signing every checkpoint, and its head with every save."""
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
def unsigned(empty_database_url: str) -> Iterator[Services]:
    settings = Settings(database_url=empty_database_url)
    migrate.upgrade(settings)
    services = Services.open(settings)
    yield services
    services.close()


def _decisions(services: Services, count: int) -> UUID:
    application = services.application
    project_id = registered_project(application)
    for index in range(count):
        project = application.get_project(project_id)
        project.record_decision(f"Décision {index}", "oui", "parce que", application.meta("t", "c"))
        application.save(project)
    return project_id


def _execute(services: Services, statement: str, **params: Any) -> None:
    with services.engine.begin() as connection:
        connection.execute(sa.text(statement), params)


def _position_column(services: Services) -> str:
    return "rowid" if services.settings.is_sqlite else "notification_id"


def _rechain(services: Services) -> None:
    """What the insider does after changing an event: recompute every hash with the rule."""
    column = _position_column(services)
    with services.engine.begin() as connection:
        rows = connection.execute(
            sa.text(
                f"SELECT {column} AS position, originator_id, originator_version, topic, state"
                f" FROM tracker_events ORDER BY {column}"
            )
        ).all()
        connection.execute(sa.text("DELETE FROM tracker_event_hashes"))
        connection.execute(sa.text("DELETE FROM tracker_audit_checkpoints"))
        state = ChainState(heads={})
        for row in rows:
            hashed, checkpoint = state.append(
                ChainedEvent(
                    row.position,
                    canonical_id(row.originator_id),
                    row.originator_version,
                    row.topic,
                    bytes(row.state),
                )
            )
            connection.execute(
                sa.text(
                    "INSERT INTO tracker_event_hashes (position, originator_id,"
                    " originator_version, hash, prev_hash, running_hash)"
                    " VALUES (:p, :o, :v, :h, :ph, :r)"
                ),
                {
                    "p": hashed.position,
                    "o": hashed.originator_id,
                    "v": hashed.originator_version,
                    "h": hashed.hash,
                    "ph": hashed.prev_hash,
                    "r": hashed.running_hash,
                },
            )
            if checkpoint is not None:
                connection.execute(
                    sa.text(
                        "INSERT INTO tracker_audit_checkpoints (position, running_hash)"
                        " VALUES (:p, :r)"
                    ),
                    {"p": checkpoint.position, "r": checkpoint.running_hash},
                )


def _change_a_decision(services: Services, project_id: UUID) -> int:
    column = _position_column(services)
    stored_id = project_id.hex if services.settings.is_sqlite else project_id
    with services.engine.begin() as connection:
        row = connection.execute(
            sa.text(
                f"SELECT {column} AS position, state FROM tracker_events"
                " WHERE originator_id = :id AND originator_version = 3"
            ),
            {"id": stored_id},
        ).one()
        state = bytes(row.state).replace(b"oui", b"non")
        assert state != bytes(row.state)
        connection.execute(
            sa.text(f"UPDATE tracker_events SET state = :s WHERE {column} = :p"),
            {"s": state, "p": row.position},
        )
    return int(row.position)


def test_every_checkpoint_is_signed_when_a_key_is_configured(signed: Services) -> None:
    _decisions(signed, chain.CHECKPOINT_INTERVAL + 5)
    recorder = audit_recorder(signed.application.recorder)
    checkpoints = {k.position for k in recorder.select_checkpoints()}
    signed_positions = {head.position for head in recorder.select_signatures()}
    assert checkpoints
    assert checkpoints <= signed_positions
    report = verify(signed.application)
    assert report.intact, report.findings
    assert report.signed
    assert report.signing_keys == [signed.application.signer.key_id]  # type: ignore[union-attr]


def test_the_head_is_signed_with_the_first_save(signed: Services) -> None:
    # The key's adoption (the admin log opened, the key adopted) is the store's first save.
    head = audit_recorder(signed.application.recorder).latest_signature()
    assert head is not None
    assert head.position == signed.application.recorder.max_notification_id() == 2


def test_the_head_is_signed_again_once_the_latest_signature_is_old_enough(
    signed: Services,
) -> None:
    _decisions(signed, 3)
    last = signed.application.recorder.max_notification_id()
    head = audit_recorder(signed.application.recorder).latest_signature()
    assert head is not None
    assert head.position == last


def test_a_recent_signed_head_is_not_signed_again(empty_database_url: str, key_file: Path) -> None:
    settings = Settings(database_url=empty_database_url, audit_signing_key_file=key_file)
    migrate.upgrade(settings)
    services = Services.open(settings)
    try:
        _decisions(services, 3)
        heads = audit_recorder(services.application.recorder).select_signatures()
        assert [head.position for head in heads] == [2]  # the first save's, under a minute ago
    finally:
        services.close()


def test_one_save_crossing_a_checkpoint_signs_the_checkpoint_and_its_head(
    signed: Services,
) -> None:
    application = signed.application
    project_id = registered_project(application)
    project = application.get_project(project_id)
    for index in range(chain.CHECKPOINT_INTERVAL + 20):
        project.record_decision(f"Décision {index}", "oui", "car", application.meta("t", "c"))
    application.save(project)
    last = application.recorder.max_notification_id()
    signed_positions = {
        head.position for head in audit_recorder(application.recorder).select_signatures()
    }
    assert {chain.CHECKPOINT_INTERVAL, last} <= signed_positions
    assert verify(application).intact


def test_the_signing_key_is_published_in_the_admin_log(signed: Services) -> None:
    signer = signed.application.signer
    assert signer is not None
    admin_log = signed.application.repository.get(ADMIN_LOG_ID)
    assert isinstance(admin_log, AdminLog)
    assert admin_log.signing_keys == {signer.key_id: signer.public_key}


def test_a_store_reopened_with_its_key_publishes_it_once(signed: Services) -> None:
    signed.application.adopt_signing_key()
    admin_log = signed.application.repository.get(ADMIN_LOG_ID)
    assert isinstance(admin_log, AdminLog)
    assert admin_log.version == 2  # opened, then the key adopted: once


def test_a_store_without_a_key_verifies_and_says_its_history_is_unsigned(
    unsigned: Services,
) -> None:
    _decisions(unsigned, chain.CHECKPOINT_INTERVAL + 5)
    report = verify(unsigned.application)
    assert report.intact, report.findings
    assert not report.signed
    assert "history unsigned" in report.summary()


def test_an_insider_who_rechains_a_changed_event_is_caught_by_the_signatures(
    signed: Services,
) -> None:
    project_id = _decisions(signed, 2 * chain.CHECKPOINT_INTERVAL)
    changed = _change_a_decision(signed, project_id)
    _rechain(signed)
    findings = verify(signed.application).findings
    assert [f.kind for f in findings] == ["signature"]
    first_signed_after = min(
        head.position
        for head in audit_recorder(signed.application.recorder).select_signatures()
        if head.position >= changed
    )
    assert findings[0].position == first_signed_after


def test_the_same_rechaining_passes_unnoticed_on_an_unsigned_store(unsigned: Services) -> None:
    # Why the key matters: without it, the re-chained log is self-consistent.
    project_id = _decisions(unsigned, 2 * chain.CHECKPOINT_INTERVAL)
    _change_a_decision(unsigned, project_id)
    _rechain(unsigned)
    assert verify(unsigned.application).intact


def test_a_signed_head_altered_in_the_table_no_longer_verifies(signed: Services) -> None:
    _decisions(signed, chain.CHECKPOINT_INTERVAL)
    _execute(
        signed,
        "UPDATE tracker_audit_signatures SET running_hash = :r WHERE position = :p",
        r="0" * 64,
        p=chain.CHECKPOINT_INTERVAL,
    )
    findings = verify(signed.application).findings
    assert [(f.kind, f.position) for f in findings] == [("signature", chain.CHECKPOINT_INTERVAL)]


def test_a_deleted_checkpoint_signature_is_reported_as_unsigned(signed: Services) -> None:
    _decisions(signed, 2 * chain.CHECKPOINT_INTERVAL)
    second = 2 * chain.CHECKPOINT_INTERVAL
    _execute(signed, "DELETE FROM tracker_audit_signatures WHERE position = :p", p=second)
    findings = verify(signed.application).findings
    assert [(f.kind, f.position) for f in findings] == [("unsigned", second)]


def test_a_witness_of_an_untouched_log_holds(signed: Services) -> None:
    _decisions(signed, 5)
    witness = latest_witness(signed.application)
    assert witness is not None
    report = verify(signed.application, witness=witness)
    assert report.intact, report.findings
    assert report.witness_position == witness.head.position


def test_a_truncation_after_a_witness_is_detected(signed: Services) -> None:
    _decisions(signed, 30)
    witness = latest_witness(signed.application)
    assert witness is not None
    # The insider cuts the tail before the witness's position, with every trace of it.
    cut = witness.head.position - 5
    for table, column in (
        ("tracker_events", _position_column(signed)),
        ("tracker_event_hashes", "position"),
        ("tracker_audit_signatures", "position"),
        ("tracker_audit_checkpoints", "position"),
    ):
        _execute(signed, f"DELETE FROM {table} WHERE {column} > :p", p=cut)
    findings = verify(signed.application, witness=witness).findings
    assert [(f.kind, f.position) for f in findings] == [("truncated", witness.head.position)]


def test_a_rewrite_before_a_witness_is_detected_even_without_signatures(
    signed: Services,
) -> None:
    project_id = _decisions(signed, 10)
    witness = latest_witness(signed.application)
    assert witness is not None
    _change_a_decision(signed, project_id)
    _rechain(signed)
    _execute(signed, "DELETE FROM tracker_audit_signatures")
    findings = verify(signed.application, witness=witness).findings
    assert [(f.kind, f.position) for f in findings] == [("witness", witness.head.position)]


def test_a_forged_witness_is_reported(signed: Services) -> None:
    _decisions(signed, 3)
    witness = latest_witness(signed.application)
    assert witness is not None
    forged = Witness.from_dict(witness.as_dict() | {"running_hash": "f" * 64})
    kinds = [f.kind for f in verify(signed.application, witness=forged).findings]
    assert kinds[0] == "witness"


# -- the CLI ------------------------------------------------------------------------------


def _cli() -> typer.Typer:
    app = typer.Typer()
    cli_audit.register(app)
    return app


@pytest.fixture
def cli_env(signed: Services, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TRACKER_DATABASE_URL", signed.settings.database_url)
    monkeypatch.setenv(
        "TRACKER_AUDIT_SIGNING_KEY_FILE", str(signed.settings.audit_signing_key_file)
    )
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
    configure_logging("console", "WARNING")


def test_keygen_writes_a_private_key_only_its_owner_can_read(tmp_path: Path) -> None:
    out = tmp_path / "new.key"
    result = CliRunner().invoke(_cli(), ["audit", "keygen", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    key_id, public_key = result.stdout.split()
    assert len(key_id) == 16
    assert len(public_key) == 64


def test_keygen_never_overwrites_a_key(key_file: Path) -> None:
    before = key_file.read_bytes()
    result = CliRunner().invoke(_cli(), ["audit", "keygen", "--out", str(key_file)])
    assert result.exit_code == 1
    assert key_file.read_bytes() == before


@pytest.mark.usefixtures("cli_env")
def test_keys_prints_the_current_public_key(signed: Services) -> None:
    signer = signed.application.signer
    assert signer is not None
    result = CliRunner().invoke(_cli(), ["audit", "keys"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{signer.key_id} {signer.public_key} current"


@pytest.mark.usefixtures("cli_env")
def test_a_witness_file_written_by_the_cli_is_checked_by_verify(
    signed: Services, tmp_path: Path
) -> None:
    _decisions(signed, 3)
    out = tmp_path / "witness.json"
    runner = CliRunner()
    written = runner.invoke(_cli(), ["audit", "witness", "--out", str(out)])
    assert written.exit_code == 0, written.output
    assert set(json.loads(out.read_text())) == {
        "rule",
        "position",
        "running_hash",
        "signed_at",
        "key_id",
        "public_key",
        "signature",
    }
    checked = runner.invoke(_cli(), ["audit", "verify", "--no-projections", "--witness", str(out)])
    assert checked.exit_code == 0, checked.output
    assert "witness at position" in checked.stdout


def test_an_export_imports_into_an_empty_store_with_a_signing_key(
    signed: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _decisions(signed, 3)
    path = tmp_path / "log.ndjson"
    with path.open("wb") as stream:
        manifest = export_log(signed.application, stream)
    manifest_path(path).write_bytes(canonical_json(manifest) + b"\n")
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    migrate.upgrade(Settings(database_url=target_url))
    monkeypatch.setenv("TRACKER_DATABASE_URL", target_url)
    monkeypatch.setenv(
        "TRACKER_AUDIT_SIGNING_KEY_FILE", str(signed.settings.audit_signing_key_file)
    )
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(_cli(), ["events", "import", str(path)])
    finally:
        get_settings.cache_clear()
        configure_logging("console", "WARNING")
    assert result.exit_code == 0, result.output
    target = Services.open(
        Settings(
            database_url=target_url, audit_signing_key_file=signed.settings.audit_signing_key_file
        )
    )
    try:
        report = verify(target.application)
        admin_log = target.application.repository.get(ADMIN_LOG_ID)
    finally:
        target.close()
    assert report.intact, report.findings
    assert isinstance(admin_log, AdminLog)
    assert signed.application.signer is not None
    assert signed.application.signer.key_id in admin_log.signing_keys
