"""Forgetting a person erases their name outside the log; the hash chains still verify."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from domain.admin import ADMIN_LOG_ID
from tests.factories import registered_project
from tracker.application.people import (
    PersonAlreadyForgottenError,
    PersonNotFoundError,
    add_person,
    forget_person,
    get_person,
)
from tracker.application.services import Services
from tracker.audit.history import admin_history
from tracker.audit.verify import verify
from tracker.cli import audit as cli_audit
from tracker.config.logging import configure_logging
from tracker.config.settings import Settings, get_settings
from tracker.store import migrate

NAME = "Camille Zébulon-Testard"


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


def _log_bytes(services: Services) -> bytes:
    recorder: Any = services.application.recorder
    return b"".join(bytes(n.state) for n in recorder.select_notifications(start=1, limit=10**6))


def test_forgetting_erases_the_name_records_the_id_and_keeps_the_chain_valid(
    fresh: Services,
) -> None:
    application = fresh.application
    person_id = add_person(fresh.engine, NAME, email="camille@example.org")
    registered_project(application)
    assert get_person(fresh.engine, person_id).display_name == NAME
    meta = application.meta("tok_admin", "corr-forget")
    result = forget_person(application, fresh.engine, person_id, meta, reason="RGPD art. 17")
    person = get_person(fresh.engine, person_id)
    assert (person.display_name, person.email) == (None, None)
    assert person.forgotten_at is not None
    entry = admin_history(application).entries[-1]
    assert (entry.type, entry.position, entry.reason) == (
        "PersonForgotten",
        result.position,
        "RGPD art. 17",
    )
    assert entry.data == {"person_id": person_id}
    assert NAME.encode() not in _log_bytes(fresh)
    assert b"Camille" not in _log_bytes(fresh)
    report = verify(application)
    assert report.intact, report.findings
    assert report.events == 4  # lab, project, admin log opened, person forgotten


def test_forgetting_an_unknown_or_already_forgotten_person_is_refused(fresh: Services) -> None:
    application = fresh.application
    with pytest.raises(PersonNotFoundError):
        forget_person(application, fresh.engine, "per_nobody", application.meta("t", "c"))
    person_id = add_person(fresh.engine, NAME)
    forget_person(application, fresh.engine, person_id, application.meta("t", "c"))
    with pytest.raises(PersonAlreadyForgottenError):
        forget_person(application, fresh.engine, person_id, application.meta("t", "c"))
    assert application.repository.get(ADMIN_LOG_ID).version == 2  # opened, forgotten once


def test_the_people_commands_add_then_forget_with_exit_codes(fresh: Services) -> None:
    app = typer.Typer()
    cli_audit.register(app)
    added = CliRunner().invoke(app, ["people", "add", NAME, "--email", "c@example.org"])
    assert added.exit_code == 0, added.output
    person_id = added.stdout.strip()
    assert get_person(fresh.engine, person_id).display_name == NAME
    forgot = CliRunner().invoke(app, ["people", "forget", person_id, "--reason", "demande"])
    assert forgot.exit_code == 0, forgot.output
    assert get_person(fresh.engine, person_id).display_name is None
    again = CliRunner().invoke(app, ["people", "forget", person_id])
    assert again.exit_code == 1
    assert "forgotten already" in again.stderr
    verified = CliRunner().invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
