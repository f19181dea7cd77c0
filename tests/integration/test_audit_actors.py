"""People as actors: a token issued to a person puts their name beside its id in histories.

Names are read from tracker_people when a history is read; forgetting the person empties
them everywhere while the log, its chains and its signatures stay as they were.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from domain.values import Health
from tests.factories import registered_lab, registered_project
from tracker.application.access import Role, create_token
from tracker.application.commands import AssessHealth
from tracker.application.people import add_person, forget_person, get_person
from tracker.application.services import Services
from tracker.asgi import create_app
from tracker.audit.export import canonical_json, export_log, manifest_path
from tracker.audit.verify import latest_witness, verify
from tracker.cli import main as cli_main
from tracker.config.logging import configure_logging
from tracker.config.settings import Settings, get_settings
from tracker.store import migrate
from tracker.store.signing import generate_key_file

NAME = "Céline Zatorsky"
HISTORY = """query($id: ID!) { projectHistory(id: $id) { version actor actorName
  actorNameErased } }"""
VERIFY_EXPORT = Path(__file__).resolve().parents[2] / "docs" / "verify_export.py"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, run_projector=False)) as test_client:
        yield test_client


@pytest.fixture
def services(client: TestClient) -> Services:
    opened: Services = client.app.state.services  # type: ignore[attr-defined]
    return opened


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Lab:
    """A lab, a project of it, and a staff token of it issued to Céline Zatorsky."""

    def __init__(self, services: Services) -> None:
        application = services.application
        self.slug = registered_lab(application)
        self.project_id = registered_project(application, self.slug)
        self.person_id = add_person(services.engine, NAME)
        self.token_id, self.token = create_token(
            application, Role.STAFF, lab=self.slug, person_id=self.person_id
        )
        application.execute(
            AssessHealth(project_id=self.project_id, health=Health.AT_RISK, reason="retard"),
            application.meta(self.token_id, "c"),
        )


@pytest.fixture
def lab(services: Services) -> Lab:
    return Lab(services)


def _auditor(services: Services) -> dict[str, str]:
    return _bearer(create_token(services.application, Role.AUDITOR)[1])


def _assessed(client: TestClient, lab: Lab, headers: dict[str, str]) -> dict[str, Any]:
    answer = client.get(f"/api/v1/projects/{lab.project_id}/events", headers=headers)
    assert answer.status_code == 200, answer.text
    entry: dict[str, Any] = answer.json()["items"][-1]
    return entry


def test_the_history_shows_the_name_of_the_person_behind_a_token(
    client: TestClient, services: Services, lab: Lab
) -> None:
    entry = _assessed(client, lab, _auditor(services))
    assert entry["actor"] == lab.token_id
    assert entry["actor_name"] == NAME
    assert entry["actor_name_erased"] is False


def test_a_forgotten_person_s_name_is_erased_from_the_history(
    client: TestClient, services: Services, lab: Lab
) -> None:
    forget_person(services.application, services.engine, lab.person_id, _meta(services))
    entry = _assessed(client, lab, _auditor(services))
    assert entry["actor"] == lab.token_id
    assert entry["actor_name"] is None
    assert entry["actor_name_erased"] is True


def _meta(services: Services) -> Any:
    return services.application.meta("cli", "forget")


def test_an_actor_without_a_person_has_no_name(
    client: TestClient, services: Services, lab: Lab
) -> None:
    first = client.get(
        f"/api/v1/projects/{lab.project_id}/events", headers=_auditor(services)
    ).json()["items"][0]
    assert first["actor_name"] is None
    assert first["actor_name_erased"] is False


def test_staff_read_the_history_and_past_states_of_their_own_lab_s_projects(
    client: TestClient, lab: Lab
) -> None:
    entry = _assessed(client, lab, _bearer(lab.token))
    assert entry["actor_name"] == NAME
    state = client.get(
        f"/api/v1/projects/{lab.project_id}/state?version=1", headers=_bearer(lab.token)
    )
    assert state.status_code == 200, state.text


def test_staff_may_not_read_another_lab_s_history(
    client: TestClient, services: Services, lab: Lab
) -> None:
    other = registered_project(services.application)
    answer = client.get(f"/api/v1/projects/{other}/events", headers=_bearer(lab.token))
    assert answer.status_code == 403
    assert answer.json()["type"].endswith("forbidden-lab")


def test_graphql_history_shows_the_actor_s_name_to_staff_of_the_lab(
    client: TestClient, lab: Lab
) -> None:
    answer = client.post(
        "/graphql",
        json={"query": HISTORY, "variables": {"id": str(lab.project_id)}},
        headers=_bearer(lab.token),
    ).json()
    assert "errors" not in answer, answer
    last = answer["data"]["projectHistory"][-1]
    assert (last["actor"], last["actorName"], last["actorNameErased"]) == (
        lab.token_id,
        NAME,
        False,
    )


def test_graphql_refuses_another_lab_s_history_to_staff(
    client: TestClient, services: Services, lab: Lab
) -> None:
    other = registered_project(services.application)
    answer = client.post(
        "/graphql",
        json={"query": HISTORY, "variables": {"id": str(other)}},
        headers=_bearer(lab.token),
    ).json()
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# -- forgetting keeps the proof: a signed store of its own ----------------------------------


@pytest.fixture
def signed(empty_database_url: str, tmp_path: Path) -> Iterator[Services]:
    key = tmp_path / "signing.key"
    generate_key_file(key)
    settings = Settings(
        database_url=empty_database_url, audit_signing_key_file=key, audit_head_signing_seconds=0
    )
    migrate.upgrade(settings)
    opened = Services.open(settings)
    yield opened
    opened.close()


def _export(services: Services, path: Path) -> list[dict[str, Any]]:
    with path.open("wb") as stream:
        manifest = export_log(services.application, stream, engine=services.read_engine)
    manifest_path(path).write_bytes(canonical_json(manifest) + b"\n")
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_forgetting_a_person_keeps_verify_signatures_and_witness_intact(
    signed: Services, tmp_path: Path
) -> None:
    lab = Lab(signed)
    witness = latest_witness(signed.application)
    assert witness is not None
    before = _export(signed, tmp_path / "before.ndjson")
    assert NAME in {line.get("actor_name") for line in before}
    forget_person(signed.application, signed.engine, lab.person_id, _meta(signed))
    report = verify(signed.application, witness=witness)
    assert report.intact, report.findings
    assert report.signed
    after = _export(signed, tmp_path / "after.ndjson")
    assert NAME not in {line.get("actor_name") for line in after}
    assert any(line["actor_name_erased"] for line in after)
    done = subprocess.run(
        [sys.executable, str(VERIFY_EXPORT), str(tmp_path / "after.ndjson")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout


# -- the CLI --------------------------------------------------------------------------------


@pytest.fixture
def cli_env(signed: Services, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TRACKER_DATABASE_URL", signed.settings.database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
    configure_logging("console", "WARNING")


@pytest.mark.usefixtures("cli_env")
def test_token_create_with_a_person_s_name_records_the_person(signed: Services) -> None:
    lab = registered_lab(signed.application)
    result = CliRunner().invoke(
        cli_main.cli,
        ["token", "create", "--role", "staff", "--lab", lab, "--person", NAME],
    )
    assert result.exit_code == 0, result.output
    person_id = result.stderr.split("for ")[1].rstrip(")\n")
    assert get_person(signed.engine, person_id).display_name == NAME


@pytest.mark.usefixtures("cli_env")
def test_token_create_refuses_an_unknown_person_id(signed: Services) -> None:
    result = CliRunner().invoke(
        cli_main.cli, ["token", "create", "--role", "auditor", "--person", "per_unknown"]
    )
    assert result.exit_code == 1
    assert "no person per_unknown" in result.stderr
