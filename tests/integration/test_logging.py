"""Command logging through tracker's real structlog configuration, in production's JSON format."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from sqlalchemy.engine import make_url

from tests.factories import COMMAND_EXAMPLES, registered_project_with_entities, run_example
from tracker.application.commands import COMMANDS, CancelMilestone, RegisterLab
from tracker.application.service import TrackerApplication
from tracker.application.services import Services
from tracker.config.logging import configure_logging
from tracker.config.settings import Settings

COMMAND_FIELDS = {"command", "aggregate_id", "version", "actor", "correlation_id", "duration_ms"}


class JsonLog:
    """What the root handler wrote, one JSON object a line."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines()]

    def commands(self) -> list[dict[str, Any]]:
        return [entry for entry in self.entries() if entry["event"] == "command"]


@pytest.fixture
def json_log() -> Iterator[JsonLog]:
    """tracker's production logging (JSON, INFO) writing into a buffer; the tests' set-up after."""
    configure_logging("json", "INFO")
    log = JsonLog()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(log.stream)
    yield log
    configure_logging("console", "WARNING")


def test_every_command_of_the_table_has_an_example() -> None:
    assert set(COMMAND_EXAMPLES) == set(COMMANDS)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_logs_name_aggregate_version_actor_correlation_and_duration(
    application: TrackerApplication, json_log: JsonLog, command: str
) -> None:
    project_id, entities = registered_project_with_entities(application)
    actor, correlation_id = f"tok_{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    meta = application.meta(actor, correlation_id)

    result = run_example(command, application, project_id, entities, meta)

    entry = json_log.commands()[-1]
    assert set(entry) >= COMMAND_FIELDS
    assert (entry["command"], entry["aggregate_id"], entry["version"], entry["position"]) == (
        command,
        str(result.id),
        result.version,
        result.position,
    )
    assert (entry["actor"], entry["correlation_id"]) == (actor, correlation_id)
    assert isinstance(entry["duration_ms"], int | float)
    assert entry["duration_ms"] >= 0


def test_a_command_log_line_is_one_json_object_with_level_logger_and_utc_time(
    application: TrackerApplication, json_log: JsonLog
) -> None:
    application.execute(
        RegisterLab(slug=f"lab-{uuid.uuid4().hex[:8]}", name="Lab", region_code="27"),
        application.meta("t", "c"),
    )
    (line,) = [line for line in json_log.text.splitlines() if '"command"' in line]
    entry = json.loads(line)
    assert (entry["level"], entry["logger"], entry["command"]) == (
        "info",
        "tracker.commands",
        "register_lab",
    )
    assert entry["timestamp"].endswith("Z")


def test_a_refused_command_logs_no_command_line(
    application: TrackerApplication, json_log: JsonLog
) -> None:
    project_id, entities = registered_project_with_entities(application)
    before = len(json_log.commands())
    with pytest.raises(Exception, match="reason"):
        application.execute(
            CancelMilestone(project_id=project_id, milestone_id=entities.milestone_id, reason=None),
            application.meta("t", "c"),
        )
    assert len(json_log.commands()) == before


SECRET_FIELDS = ["token", "authorization", "password", "secret", "Authorization", "PASSWORD"]


@pytest.mark.parametrize("key", SECRET_FIELDS)
def test_a_secret_field_is_redacted_whoever_logs_it(json_log: JsonLog, key: str) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    structlog.get_logger("tracker.test").info("login", **{key: secret})
    (entry,) = [e for e in json_log.entries() if e["event"] == "login"]
    assert entry[key] == "[redacted]"
    assert secret not in json_log.text


@pytest.mark.parametrize("key", ["access_token", "db_password", "api_secret"])
def test_a_secret_field_under_a_compound_name_is_redacted(json_log: JsonLog, key: str) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    structlog.get_logger("tracker.test").info("login", **{key: secret})
    assert secret not in json_log.text


@pytest.mark.parametrize(
    "template", ["Authorization: Bearer {}", "postgresql://tracker:{}@db.example/tracker"]
)
def test_a_secret_inside_logged_text_is_redacted(json_log: JsonLog, template: str) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    structlog.get_logger("tracker.test").info("request", header=template.format(secret))
    assert secret not in json_log.text
    assert "[redacted]" in json_log.text


def test_the_database_password_is_never_logged(
    backend: str, database_url: str, json_log: JsonLog
) -> None:
    """Open the application with a password in its URL (trust auth ignores it), run commands."""
    if backend != "postgresql":
        pytest.skip("SQLite URLs carry no password")
    password = f"pw-{uuid.uuid4().hex}"
    url = make_url(database_url).set(password=password).render_as_string(hide_password=False)
    services = Services.open(Settings(database_url=url))
    try:
        project_id, entities = registered_project_with_entities(services.application)
        meta = services.application.meta("tok", "corr")
        for command in ("achieve_milestone", "close_project"):
            run_example(command, services.application, project_id, entities, meta)
    finally:
        services.close()
    assert len(json_log.commands()) >= 5
    assert password not in json_log.text
