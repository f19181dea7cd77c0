"""Fuzzing the REST API from its own OpenAPI schema (`/openapi.json` of the real ASGI app).

schemathesis generates valid and invalid requests for every operation (a bounded number per
operation: `bound(...)` below) and checks each answer: never a server error, the response
conforms to the documented schema (status, media type and body), invalid data is refused
with a 4xx, and the operation refuses the request without its token. Requests carry the
token of the role the operation needs, and valid requests target a real project of that
token's lab.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    ignored_auth,
    negative_data_rejection,
    not_a_server_error,
)
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.reliability.harness import Deployment, arrange_lab_and_projects, bound
from tests.reliability.test_access import POLICY, Policy
from tracker.asgi import create_app
from tracker.config.settings import Settings

pytestmark = pytest.mark.reliability

EXAMPLES = bound(10, 100)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]
# Operations fuzzed elsewhere or not JSON: GraphQL (test_fuzz_graphql.py), the metrics text.
SKIPPED = {"/graphql", "/metrics"}


@dataclass
class FuzzWorld:
    url: str
    schema: schemathesis.BaseSchema
    project: str
    milestone: str
    headers: dict[Policy, dict[str, str]]
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)


def _cases() -> list[tuple[str, str, GenerationMode]]:
    """Every operation of the schema (read without a database: the schema is static), with
    valid data, and with invalid data where it takes any input."""
    app = create_app(Settings(database_url="sqlite:///unused.db"), run_projector=False)
    cases = []
    for path, methods in app.openapi()["paths"].items():
        for method, operation in methods.items():
            if path in SKIPPED:
                continue
            cases.append((method.upper(), path, GenerationMode.POSITIVE))
            if operation.get("parameters") or operation.get("requestBody"):
                cases.append((method.upper(), path, GenerationMode.NEGATIVE))
    return sorted(cases)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzWorld]:
    workdir = tmp_path_factory.mktemp("fuzz")
    deployment = Deployment(f"sqlite:///{workdir / 'tracker.db'}", workdir)
    try:
        server = deployment.serve()
        url = server.url or ""
        admin, staff = deployment.token("admin"), deployment.token("staff", "lab-fuzz")
        project = arrange_lab_and_projects(url, admin, staff, "lab-fuzz", 1)[0]
        staff_headers = {"Authorization": f"Bearer {staff}"}
        milestone = httpx.post(
            f"{url}/api/v1/projects/{project}/milestones",
            json={"title": "Jalon", "due_on": "2026-09-30", "phase": "discovery"},
            headers=staff_headers,
        ).json()["milestone_id"]
        viewer = {"Authorization": f"Bearer {deployment.token('viewer')}"}
        headers = {
            Policy.PUBLIC: viewer,
            Policy.ANY_TOKEN: viewer,
            Policy.ADMIN: {"Authorization": f"Bearer {admin}"},
            Policy.STAFF_OF_LAB: staff_headers,
            Policy.AUDITOR: {"Authorization": f"Bearer {deployment.token('auditor')}"},
            Policy.HISTORY: {"Authorization": f"Bearer {deployment.token('auditor')}"},
            Policy.WEBHOOKS: {"Authorization": f"Bearer {admin}"},
            Policy.WEBHOOK_LIST: {"Authorization": f"Bearer {admin}"},
        }
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        # Unknown query parameters are ignored, as HTTP APIs do, not refused: do not count
        # them as invalid data (every other violation must be refused).
        schema.config.generation.update(allow_extra_parameters=False)
        fuzzed = FuzzWorld(url, schema, project, milestone, headers)
        yield fuzzed
        print(f"openapi fuzzing: {fuzzed.cases} cases, statuses {dict(fuzzed.statuses)}")
        # The valid cases reached the commands, not only the edge's refusals.
        assert fuzzed.statuses[200] + fuzzed.statuses[201] > 0
        assert "unhandled_error" not in server.log()
    finally:
        deployment.close()


@pytest.mark.parametrize(("method", "path", "mode"), _cases())
def test_every_operation_holds_its_documented_contract(
    world: FuzzWorld, method: str, path: str, mode: GenerationMode
) -> None:
    operation = world.schema[path][method]
    known = {"project_id": world.project, "milestone_id": world.milestone}
    fixed = None
    if mode is GenerationMode.POSITIVE:
        # A real project of the staff token's lab (else every write is a plain 404).
        fixed = {k: v for k, v in known.items() if "{" + k + "}" in path} or None
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)
    headers = world.headers[POLICY[(method, path)]]

    @given(strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        world.cases += 1
        response = case.call_and_validate(base_url=world.url, headers=headers, checks=CHECKS)
        world.statuses[response.status_code] += 1

    check()
