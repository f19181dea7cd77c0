"""`tracker audit verify` finds each kind of tampering, once, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest.mock import patch
from uuid import UUID

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from domain.values import Health
from projections.runner import PROJECTIONS, ProjectionWorker
from tests.factories import registered_project
from tracker.application.commands import AssessHealth
from tracker.application.services import Services
from tracker.audit.verify import VerifyReport, _Verifier, verify
from tracker.cli import audit as cli_audit
from tracker.config.logging import configure_logging
from tracker.config.settings import Settings, get_settings
from tracker.store import chain, migrate


@pytest.fixture
def fresh(empty_database_url: str) -> Iterator[Services]:
    """A store of its own: these tests tamper with it."""
    settings = Settings(database_url=empty_database_url)
    migrate.upgrade(settings)
    services = Services.open(settings)
    yield services
    services.close()


def _project_with_history(services: Services, events: int = 4) -> UUID:
    application = services.application
    project_id = registered_project(application)
    healths = [Health.AT_RISK, Health.OFF_TRACK, Health.ON_TRACK]
    for index in range(events - 1):
        application.execute(
            AssessHealth(project_id=project_id, health=healths[index % 3]),
            application.meta("tok", "c"),
        )
    return project_id


def _position_column(services: Services) -> str:
    return "rowid" if services.settings.is_sqlite else "notification_id"


def _stored_id(services: Services, project_id: UUID) -> Any:
    return project_id.hex if services.settings.is_sqlite else project_id


def _execute(services: Services, statement: str, **params: Any) -> None:
    with services.engine.begin() as connection:
        connection.execute(sa.text(statement), params)


def _event(services: Services, project_id: UUID, version: int) -> Any:
    column = _position_column(services)
    with services.engine.connect() as connection:
        return connection.execute(
            sa.text(
                f"SELECT {column} AS position, topic, state FROM tracker_events"
                " WHERE originator_id = :id AND originator_version = :version"
            ),
            {"id": _stored_id(services, project_id), "version": version},
        ).one()


def _verified(services: Services) -> VerifyReport:
    """The verify report, checked to be the same with the fast path off (closer look only)."""
    report = verify(services.application)
    with patch.object(_Verifier, "_fast_page", lambda self, page, recorded, row: (0, row)):
        closer_look = verify(services.application)
    assert closer_look.as_dict() == report.as_dict()
    return report


def _kinds(services: Services) -> list[tuple[str, int]]:
    return [(f.kind, f.position) for f in _verified(services).findings]


def _cli() -> typer.Typer:
    app = typer.Typer()
    cli_audit.register(app)
    return app


@pytest.fixture
def cli_env(fresh: Services, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the CLI at the fresh store (settings are cached per process: reset them)."""
    monkeypatch.setenv("TRACKER_DATABASE_URL", fresh.settings.database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
    configure_logging("console", "WARNING")  # the CLI logged to the runner's closed stream


def test_an_untouched_log_is_intact(fresh: Services) -> None:
    _project_with_history(fresh)
    report = _verified(fresh)
    assert report.intact, report.findings
    assert report.events == 5  # the lab and the project's four events
    assert report.streams == 2


def test_a_changed_payload_byte_is_reported_as_modified(fresh: Services) -> None:
    project_id = _project_with_history(fresh)
    event = _event(fresh, project_id, 1)
    state = bytes(event.state).replace(b"Villages", b"Villagez")
    assert state != bytes(event.state)
    _execute(
        fresh,
        f"UPDATE tracker_events SET state = :state WHERE {_position_column(fresh)} = :p",
        state=state,
        p=event.position,
    )
    assert _kinds(fresh) == [("modified", event.position)]


def test_a_deleted_event_is_reported(fresh: Services) -> None:
    project_id = _project_with_history(fresh)
    event = _event(fresh, project_id, 2)
    _execute(
        fresh, f"DELETE FROM tracker_events WHERE {_position_column(fresh)} = :p", p=event.position
    )
    assert _kinds(fresh) == [("deleted", event.position)]


def test_an_event_deleted_with_its_hash_row_is_reported(fresh: Services) -> None:
    project_id = _project_with_history(fresh)
    event, following = _event(fresh, project_id, 2), _event(fresh, project_id, 3)
    _execute(
        fresh, f"DELETE FROM tracker_events WHERE {_position_column(fresh)} = :p", p=event.position
    )
    _execute(fresh, "DELETE FROM tracker_event_hashes WHERE position = :p", p=event.position)
    findings = _verified(fresh).findings
    assert [(f.kind, f.position) for f in findings] == [("deleted", following.position)]
    assert "versions 2..2" in findings[0].detail


def test_two_swapped_versions_are_reported_as_reordered(fresh: Services) -> None:
    project_id = _project_with_history(fresh)
    second, third = _event(fresh, project_id, 2), _event(fresh, project_id, 3)
    swap = (
        "UPDATE tracker_events SET originator_version = :new"
        " WHERE originator_id = :id AND originator_version = :old"
    )
    stored_id = _stored_id(fresh, project_id)
    _execute(fresh, swap, id=stored_id, old=2, new=-2)
    _execute(fresh, swap, id=stored_id, old=3, new=2)
    _execute(fresh, swap, id=stored_id, old=-2, new=3)
    assert _kinds(fresh) == [("reordered", second.position), ("reordered", third.position)]


def test_a_forged_event_inserted_in_the_table_is_reported(fresh: Services) -> None:
    project_id = _project_with_history(fresh)
    last = _event(fresh, project_id, 4)
    _execute(
        fresh,
        "INSERT INTO tracker_events (originator_id, originator_version, topic, state)"
        " VALUES (:id, 5, :topic, :state)",
        id=_stored_id(fresh, project_id),
        topic=last.topic,
        state=bytes(last.state).replace(b"on_track", b"at_risk"),
    )
    forged = _event(fresh, project_id, 5)
    assert _kinds(fresh) == [("inserted", forged.position)]


def _many_events(services: Services, count: int) -> UUID:
    application = services.application
    project_id = registered_project(application)
    project = application.get_project(project_id)
    for index in range(count):
        project.record_decision(f"Décision {index}", "oui", "parce que", application.meta("t", "c"))
    application.save(project)
    return project_id


def test_a_truncated_tail_is_reported_against_the_last_checkpoint(fresh: Services) -> None:
    _many_events(fresh, chain.CHECKPOINT_INTERVAL + 20)
    checkpoints = fresh.application.recorder.select_checkpoints()  # type: ignore[attr-defined]
    last_checkpoint = checkpoints[-1].position
    assert last_checkpoint == chain.CHECKPOINT_INTERVAL
    cut = last_checkpoint - 10
    _execute(fresh, f"DELETE FROM tracker_events WHERE {_position_column(fresh)} > :p", p=cut)
    _execute(fresh, "DELETE FROM tracker_event_hashes WHERE position > :p", p=cut)
    findings = _verified(fresh).findings
    assert [(f.kind, f.position) for f in findings] == [("truncated", last_checkpoint)]
    assert f"ends at position {cut}" in findings[0].detail


def test_a_rewritten_hash_record_breaks_the_link_to_the_next_event(fresh: Services) -> None:
    project_id = _project_with_history(fresh)
    event, following = _event(fresh, project_id, 2), _event(fresh, project_id, 3)
    state = bytes(event.state).replace(b"at_risk", b"on_track")
    assert state != bytes(event.state)
    _execute(
        fresh,
        f"UPDATE tracker_events SET state = :state WHERE {_position_column(fresh)} = :p",
        state=state,
        p=event.position,
    )
    # The forger knows the rule and rewrites the event's hash record to match.
    rows = {r.position: r for r in fresh.application.recorder.select_hash_rows(0, 100)}  # type: ignore[attr-defined]
    forged = chain.event_hash(rows[event.position].prev_hash, project_id, 2, event.topic, state)
    _execute(
        fresh,
        "UPDATE tracker_event_hashes SET hash = :h WHERE position = :p",
        h=forged,
        p=event.position,
    )
    assert _kinds(fresh) == [("modified", following.position)]


def test_a_rewritten_last_event_and_hash_record_are_caught_by_the_next_checkpoint(
    fresh: Services,
) -> None:
    project_id = _project_with_history(fresh)
    last = _event(fresh, project_id, 4)
    _many_events(fresh, chain.CHECKPOINT_INTERVAL)
    state = bytes(last.state).replace(b"on_track", b"at_risk")
    assert state != bytes(last.state)
    _execute(
        fresh,
        f"UPDATE tracker_events SET state = :state WHERE {_position_column(fresh)} = :p",
        state=state,
        p=last.position,
    )
    rows = {r.position: r for r in fresh.application.recorder.select_hash_rows(0, 1000)}  # type: ignore[attr-defined]
    forged = chain.event_hash(rows[last.position].prev_hash, project_id, 4, last.topic, state)
    _execute(
        fresh,
        "UPDATE tracker_event_hashes SET hash = :h WHERE position = :p",
        h=forged,
        p=last.position,
    )
    assert _kinds(fresh) == [("checkpoint", chain.CHECKPOINT_INTERVAL)]


@pytest.mark.usefixtures("cli_env")
def test_the_cli_exits_0_on_an_intact_log(fresh: Services) -> None:
    _project_with_history(fresh)
    result = CliRunner().invoke(_cli(), ["audit", "verify"])
    assert result.exit_code == 0, result.output
    chain_line, projections_line = result.stdout.strip().splitlines()[-2:]
    assert chain_line.startswith("intact: 5 events in 2 streams")
    assert " s (" in chain_line  # its own time and rate
    assert projections_line.startswith("projections: intact, rebuilt aside and compared in ")


@pytest.mark.usefixtures("cli_env")
def test_the_cli_prints_each_finding_and_exits_1(fresh: Services) -> None:
    project_id = _project_with_history(fresh)
    deleted = _event(fresh, project_id, 2)
    _execute(
        fresh,
        f"DELETE FROM tracker_events WHERE {_position_column(fresh)} = :p",
        p=deleted.position,
    )
    _execute(fresh, "UPDATE tracker_events SET state = state || 'x' WHERE originator_version = 4")
    result = CliRunner().invoke(_cli(), ["audit", "verify"])
    assert result.exit_code == 1, (result.output, result.exception)
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith(f"deleted: position {deleted.position} ")
    assert lines[1].startswith("modified: position ")
    assert lines[2].startswith("2 finding(s): ")


@pytest.mark.usefixtures("cli_env")
def test_the_cli_checks_the_projections_against_a_rebuild(fresh: Services) -> None:
    project_id = _project_with_history(fresh)
    for projection in PROJECTIONS:
        ProjectionWorker(fresh, projection).run_until_caught_up()
    intact = CliRunner().invoke(_cli(), ["audit", "verify"])
    assert intact.exit_code == 0, intact.output
    _execute(fresh, "UPDATE rm_projects SET title = 'Réécrit' WHERE id = :id", id=str(project_id))
    tampered = CliRunner().invoke(_cli(), ["audit", "verify"])
    assert tampered.exit_code == 1, tampered.output
    chains, finding, projections = tampered.stdout.strip().splitlines()
    assert chains.startswith("intact: ")  # the log itself is untouched
    assert finding.startswith("projection: ")
    assert "Réécrit" in finding
    assert projections.startswith("projections: 1 finding(s)")
