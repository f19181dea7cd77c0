"""Fuzzing GraphQL from the exported SDL: hypothesis-graphql writes valid queries (every root
field, arguments of every type, DateTime/Date/BigInt/JSON scalars) and invalid ones; each is
answered without a server error, and every error carries a client code (never an internal
one). Runs with an auditor token, so the history fields are fuzzed too."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, nodes, queries

from tests.api.test_rest_access import arrange
from tests.reliability.harness import bound
from tracker.application.access import Role, create_token
from tracker.application.commands import RegisterLab
from tracker.asgi import create_app
from tracker.config.settings import Settings
from tracker.graphql.schema import PUBLIC_CODES, build_schema
from tracker.store import migrate

pytestmark = pytest.mark.reliability

EXAMPLES = bound(40, 400)  # ~270 ms a query: soak stays within minutes
SDL = build_schema(Settings(database_url="sqlite:///unused.db")).as_str()
CLIENT_CODES = PUBLIC_CODES - {"INTERNAL_SERVER_ERROR"}


@dataclass
class Target:
    client: TestClient
    headers: dict[str, str]
    project: str
    seen: Counter[str] = field(default_factory=Counter)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    settings_ = Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('gql')}/t.db")
    migrate.upgrade(settings_)
    with TestClient(create_app(settings_, run_projector=True)) as client:
        services = client.app.state.services  # type: ignore[attr-defined]
        application = services.application
        application.execute(
            RegisterLab(slug="lab-gql", name="Lab", region_code="27"),
            application.meta("tok_a", "arrange"),
        )
        project = str(arrange(application, "lab-gql").project)
        token = create_token(services.application, Role.AUDITOR)[1]
        found = Target(client, {"Authorization": f"Bearer {token}"}, project)
        yield found
        print(f"graphql fuzzing: {dict(found.seen)}")


def _scalars(project: str) -> dict[str, st.SearchStrategy[Any]]:
    instants = st.datetimes(timezones=st.just(UTC))
    return {
        "DateTime": instants.map(lambda d: d.isoformat()).map(nodes.String),
        "Date": st.dates().map(lambda d: d.isoformat()).map(nodes.String),
        "BigInt": st.integers(-(2**53), 2**53).map(nodes.Int),
        "JSON": st.just(nodes.String("{}")),
        "ID": st.one_of(st.just(project), st.uuids().map(str), st.text(max_size=20)).map(
            nodes.String
        ),
    }


def _assert_clean(target: Target, query: str, positive: bool) -> None:
    response = target.client.post("/graphql", json={"query": query}, headers=target.headers)
    assert response.status_code < 500, (query, response.text[:500])
    body = response.json()
    assert "data" in body or "errors" in body, body
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code in CLIENT_CODES, (query, error)
        target.seen[code] += 1
    if not body.get("errors"):
        target.seen["answered"] += 1
    if not positive:
        assert body.get("errors"), (query, body)


def test_valid_queries_from_the_sdl_are_answered_without_internal_errors(target: Target) -> None:
    strategy = queries(SDL, custom_scalars=_scalars(target.project), allow_x00=False)

    @given(strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(query: str) -> None:
        _assert_clean(target, query, positive=True)

    check()
    assert target.seen["answered"] > 0


def test_invalid_queries_from_the_sdl_get_client_errors(target: Target) -> None:
    strategy = queries(SDL, custom_scalars=_scalars(target.project), mode=Mode.NEGATIVE)

    @given(strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(query: str) -> None:
        _assert_clean(target, query, positive=False)

    check()
