"""Bearer tokens: hashed at rest, compared in constant time, revocable; the token CLI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from tests.factories import admin_entries, registered_lab, run_tracker
from tracker.application.access import (
    Role,
    TokenRequestError,
    authenticate,
    create_token,
    list_tokens,
    revoke_token,
)
from tracker.application.service import TrackerApplication
from tracker.config.settings import Settings
from tracker.schema.access import api_tokens
from tracker.store.engines import create_db_engine


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    created = create_db_engine(settings)
    yield created
    created.dispose()


def test_a_created_token_authenticates_as_its_principal(
    engine: Engine, application: TrackerApplication
) -> None:
    token_id, token = create_token(application, Role.STAFF, lab="lab-bfc", name="Alice")
    principal = authenticate(engine, token)
    assert principal is not None
    assert principal.token_id == token_id
    assert principal.role is Role.STAFF
    assert principal.lab == "lab-bfc"
    assert principal.name == "Alice"
    assert token.startswith(f"{token_id}.")


def test_only_the_hash_is_stored(engine: Engine, application: TrackerApplication) -> None:
    token_id, token = create_token(application, Role.VIEWER)
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(api_tokens).where(api_tokens.c.token_id == token_id)
        ).one()
    secret = token.split(".", 1)[1]
    assert all(secret not in str(value) for value in row)
    assert len(row.token_hash) == 64


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: t.split(".")[0],
        lambda t: "",
        lambda t: t + "x",
        lambda t: "tok_0000000000000000." + t.split(".")[1],
    ],
)
def test_a_wrong_token_authenticates_no_one(
    engine: Engine, mangle: object, application: TrackerApplication
) -> None:
    _, token = create_token(application, Role.ADMIN)
    assert callable(mangle)
    assert authenticate(engine, mangle(token)) is None


def test_a_revoked_token_stops_working_at_once(
    engine: Engine, application: TrackerApplication
) -> None:
    token_id, token = create_token(application, Role.AUDITOR)
    assert revoke_token(application, engine, token_id) is True
    assert authenticate(engine, token) is None
    assert revoke_token(application, engine, token_id) is False
    (info,) = [info for info in list_tokens(engine) if info.token_id == token_id]
    assert info.revoked_at is not None
    assert info.revoked_at >= info.created_at


def test_staff_need_a_lab_and_only_staff_have_one(
    engine: Engine, application: TrackerApplication
) -> None:
    with pytest.raises(TokenRequestError):
        create_token(application, Role.STAFF)
    with pytest.raises(TokenRequestError):
        create_token(application, Role.VIEWER, lab="lab-bfc")
    with pytest.raises(TokenRequestError):
        create_token(application, Role.STAFF, lab="Not A Slug")


def test_tokens_are_listed_without_secrets(engine: Engine, application: TrackerApplication) -> None:
    token_id, _ = create_token(application, Role.VIEWER, name="tableau de bord")
    (info,) = [info for info in list_tokens(engine) if info.token_id == token_id]
    assert info.role is Role.VIEWER
    assert info.name == "tableau de bord"
    assert info.created_at.tzinfo is not None


def _admin_log_types_for(application: TrackerApplication, token_id: str) -> list[str]:
    return [e.type for e in admin_entries(application) if e.data.get("token_id") == token_id]


def test_the_cli_prints_the_token_alone_on_stdout_and_it_works(
    settings: Settings, engine: Engine, application: TrackerApplication
) -> None:
    lab = registered_lab(application)  # a staff token's lab must exist
    created = run_tracker(
        settings.database_url,
        "token",
        "create",
        "--role",
        "staff",
        "--lab",
        lab,
        "--name",
        "Bob",
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert created.stdout == token + "\n"
    principal = authenticate(engine, token)
    assert principal is not None
    assert principal.lab == lab
    assert token not in created.stderr
    listed = run_tracker(settings.database_url, "token", "list")
    assert listed.returncode == 0
    assert principal.token_id in listed.stdout
    assert token.split(".")[1] not in listed.stdout
    revoked = run_tracker(settings.database_url, "token", "revoke", principal.token_id)
    assert revoked.returncode == 0
    assert authenticate(engine, token) is None
    assert _admin_log_types_for(application, principal.token_id) == [
        "TokenCreated",
        "TokenRevoked",
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["token", "create", "--role", "staff"],
        ["token", "create", "--role", "viewer", "--lab", "lab-x"],
        ["token", "revoke", "tok_doesnotexist"],
    ],
)
def test_cli_errors_are_one_line_with_a_non_zero_exit(settings: Settings, args: list[str]) -> None:
    result = run_tracker(settings.database_url, *args)
    assert result.returncode != 0
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
