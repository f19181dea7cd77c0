"""Abuse: hostile requests to a real server each get a clean 4xx within a bounded client
timeout, while another client's health checks and reads keep succeeding meanwhile.

Hostile strings that are valid text (SQL, script) are stored verbatim and read back as
written, never interpreted. GraphQL answers its limits (depth, aliases, tokens, page size)
with errors whose code is BAD_USER_INPUT and no data.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.api.conftest import project_body
from tests.reliability.harness import PROBLEM_JSON, Deployment

pytestmark = pytest.mark.reliability

TIMEOUT = 30  # the bound of every abusive request; the server answers long before


@dataclass
class Canary:
    """Another client: /healthz and a normal read in a loop, every answer recorded."""

    url: str
    headers: dict[str, str]
    failures: list[str] = field(default_factory=list)
    successes: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as http:
            while not self.stop.is_set():
                for path, headers in (("/healthz", {}), ("/api/v1/labs", self.headers)):
                    try:
                        response = http.get(path, headers=headers)
                    except httpx.HTTPError as error:
                        self.failures.append(f"{path}: {error!r}")
                        continue
                    if response.status_code != 200:
                        self.failures.append(f"{path}: {response.status_code}")
                    else:
                        self.successes += 1


@dataclass
class Target:
    url: str
    staff: dict[str, str]
    viewer: dict[str, str]
    auditor: dict[str, str]
    project: str
    canary: Canary


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    workdir = tmp_path_factory.mktemp("abuse")
    deployment = Deployment(f"sqlite:///{workdir / 'tracker.db'}", workdir)
    try:
        server = deployment.serve()
        url = server.url or ""
        admin = {"Authorization": f"Bearer {deployment.token('admin')}"}
        staff = {"Authorization": f"Bearer {deployment.token('staff', 'lab-abus')}"}
        viewer = {"Authorization": f"Bearer {deployment.token('viewer')}"}
        auditor = {"Authorization": f"Bearer {deployment.token('auditor')}"}
        lab = {"slug": "lab-abus", "name": "Lab", "region_code": "27"}
        assert httpx.post(f"{url}/api/v1/labs", json=lab, headers=admin).status_code == 201
        created = httpx.post(f"{url}/api/v1/projects", json=project_body("lab-abus"), headers=staff)
        assert created.status_code == 201, created.text
        canary = Canary(url, viewer)
        thread = threading.Thread(target=canary.run)
        thread.start()
        try:
            yield Target(url, staff, viewer, auditor, created.json()["id"], canary)
        finally:
            canary.stop.set()
            thread.join(timeout=30)
        assert "unhandled_error" not in server.log()
        assert '"status": 5' not in server.log()
    finally:
        deployment.close()


@pytest.fixture(autouse=True)
def _server_stays_responsive(target: Target) -> Iterator[None]:
    """Each abuse case: the canary saw no failure, and kept being answered."""
    before = target.canary.successes
    yield
    deadline = threading.Event()
    for _ in range(200):  # bounded: the canary answers within a few polls
        if target.canary.successes > before:
            break
        deadline.wait(0.05)
    assert target.canary.failures == []
    assert target.canary.successes > before


def assert_clean_4xx(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code
    assert "Traceback" not in response.text
    return body


def post(target: Target, path: str, **kwargs: Any) -> httpx.Response:
    headers = {**target.staff, **kwargs.pop("headers", {})}
    return httpx.post(f"{target.url}{path}", headers=headers, timeout=TIMEOUT, **kwargs)


# -- bodies --------------------------------------------------------------------------------


def test_a_10_mb_body_is_refused_with_413(target: Target) -> None:
    body = b'{"health": "at_risk", "reason": "' + b"x" * 10_000_000 + b'"}'
    response = post(
        target,
        f"/api/v1/projects/{target.project}/health",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert_clean_4xx(response, 413)


def test_a_10_mb_body_streamed_without_length_is_refused_with_413(target: Target) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"health": "at_risk", "reason": "'
        for _ in range(160):
            yield b"x" * 65_536
        yield b'"}'

    try:
        response = post(
            target,
            f"/api/v1/projects/{target.project}/health",
            content=chunks(),
            headers={"Content-Type": "application/json"},
        )
    except httpx.WriteError:
        return  # the server answered 413 and closed the connection while we still wrote
    assert_clean_4xx(response, 413)


@pytest.mark.parametrize("depth", [1_000, 30_000])
def test_deeply_nested_json_is_refused(target: Target, depth: int) -> None:
    for opening, closing in (("[", "]"), ('{"a":', "}")):
        body = '{"health": "at_risk", "reason": ' + opening * depth + "1" + closing * depth + "}"
        response = post(
            target,
            f"/api/v1/projects/{target.project}/health",
            content=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        assert_clean_4xx(response, 400, 413, 422)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"health": "at_risk", "reason": "\xff\xfe\xfd"}',
        b'{"health": "at_risk", "reason": "\xc3\x28"}',
        b'{"health": "at_risk", "reason": "\xed\xa0\x80"}',
        b'{"health": "at_risk", "reason": "\\ud800"}',
        b'{"health": "at_risk\x00"}',
        b'{"health": "at_risk", "reason": "a\\u0000b"}',
        b'{"health": "at_risk", "reason": "a\x00b"}',
        b"\x00\x00\x00\x00",
        b"\xef\xbb\xbf{}",
    ],
    ids=lambda raw: repr(raw[:40]),
)
def test_invalid_utf8_and_nul_bytes_are_refused(target: Target, raw: bytes) -> None:
    response = post(
        target,
        f"/api/v1/projects/{target.project}/health",
        content=raw,
        headers={"Content-Type": "application/json"},
    )
    assert_clean_4xx(response, 400, 422)


HOSTILE_TEXT = [
    "'; DROP TABLE tracker_events; --",
    "1 OR 1=1",
    "Robert'); DELETE FROM api_tokens WHERE ('1'='1",
    "<script>alert(document.cookie)</script>",
    "<img src=x onerror=alert(1)>",
    "{{7*7}} ${7*7} #{7*7}",
    "../../etc/passwd",
    "$(rm -rf /) `id`",
    "%00%27%22",
    "\\' \\\" \\\\",
]


def test_sql_and_script_like_strings_are_stored_verbatim(target: Target) -> None:
    for text in HOSTILE_TEXT:
        response = post(
            target,
            f"/api/v1/projects/{target.project}/decisions",
            json={"title": text, "decision": text, "rationale": text, "reason": text},
        )
        assert response.status_code == 201, response.text
        assert response.headers["content-type"] == "application/json"
    history = httpx.get(
        f"{target.url}/api/v1/projects/{target.project}/events?limit=1000",
        headers=target.auditor,
        timeout=TIMEOUT,
    ).json()["items"]
    stored = [e for e in history if e["type"] == "DecisionRecorded"]
    assert [e["reason"] for e in stored[-len(HOSTILE_TEXT) :]] == HOSTILE_TEXT
    assert [e["data"]["title"] for e in stored[-len(HOSTILE_TEXT) :]] == HOSTILE_TEXT
    labs = httpx.get(f"{target.url}/api/v1/labs", headers=target.viewer, timeout=TIMEOUT)
    assert labs.status_code == 200  # the tables are all still there


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/activities",
            {"kind": "workshop", "title": "A", "held_on": "2025-01-02", "participants": -5},
        ),
        ("/funding", {"source": "FTAP", "amount_cents": -1, "fiscal_year": 2025}),
        ("/funding", {"source": "FTAP", "amount_cents": 100, "fiscal_year": -2025}),
        ("/funding", {"source": "FTAP", "amount_cents": 10**30, "fiscal_year": 2025}),
        ("/funding", {"source": "FTAP", "amount_cents": 2**63, "fiscal_year": 2025}),
        ("/milestones", {"title": "M", "due_on": "9999-12-31", "phase": "discovery"}),
        ("/health", {"health": "at_risk", "occurred_on": "9999-12-31"}),
        ("/health", {"health": "at_risk", "occurred_on": "10000-01-01"}),
        ("/health", {"health": "at_risk", "occurred_on": "0000-01-01"}),
        ("/health", {"health": "at_risk", "occurred_on": "-2025-01-01"}),
        ("/milestones", {"title": "M", "due_on": "99999-01-01", "phase": "discovery"}),
        ("/milestones", {"title": "M", "due_on": "2025-02-30", "phase": "discovery"}),
    ],
    ids=lambda value: str(value)[:60],
)
def test_negative_huge_and_far_future_values_are_refused(
    target: Target, path: str, body: dict[str, Any]
) -> None:
    response = post(target, f"/api/v1/projects/{target.project}{path}", json=body)
    assert_clean_4xx(response, 400, 409, 422)


def training_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Atelier",
        "format": "workshop",
        "sessions": [{"date": "2025-01-02"}],
        "mode": "remote",
        "audiences": ["state"],
    }
    return body | overrides


def test_sql_and_script_like_strings_are_stored_verbatim_in_a_training(target: Target) -> None:
    titles = []
    for text in HOSTILE_TEXT:
        title = text.strip() or "x"
        response = post(
            target,
            "/api/v1/labs/lab-abus/trainings",
            json=training_body(title=title, partners=[title], reason=text),
        )
        assert response.status_code == 201, response.text
        training = httpx.get(
            f"{target.url}/api/v1/trainings/{response.json()['training_id']}",
            headers=target.viewer,
            timeout=TIMEOUT,
        ).json()
        assert (training["title"], training["partners"]) == (title, [title])
        titles.append(title)
    assert len(titles) == len(HOSTILE_TEXT)


@pytest.mark.parametrize(
    "body",
    [
        training_body(capacity=-1),
        training_body(capacity=10**30),
        training_body(sessions=[]),
        training_body(sessions=[{"date": f"2025-01-{d:02d}"} for d in range(31, 0, -1)]),
        training_body(sessions=[{"date": "99999-01-01"}]),
        training_body(sessions=[{"date": "2025-02-30"}]),
        training_body(occurred_on="9999-12-31"),
        training_body(audiences=["'; DROP TABLE rm_trainings; --"]),
        training_body(mode="in_person", place={"code": "../../etc", "cog_year": -1}),
    ],
    ids=lambda value: str(value)[-60:],
)
def test_hostile_training_actions_are_refused(target: Target, body: dict[str, Any]) -> None:
    response = post(target, "/api/v1/labs/lab-abus/trainings", json=body)
    assert_clean_4xx(response, 400, 409, 422)


@pytest.mark.parametrize(
    "body",
    [
        {"attendance": -1},
        {"attendance": 2**63},
        {"attendance": 5, "attendance_by_audience": {"state": 6}},
    ],
    ids=str,
)
def test_hostile_attendance_is_refused(target: Target, body: dict[str, Any]) -> None:
    scheduled = post(target, "/api/v1/labs/lab-abus/trainings", json=training_body())
    assert scheduled.status_code == 201, scheduled.text
    training_id = scheduled.json()["training_id"]
    response = post(target, f"/api/v1/trainings/{training_id}/hold", json=body)
    assert_clean_4xx(response, 400, 409, 422)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "N", "unit": "u", "baseline": -1e999, "target": 1}',
        b'{"name": "N", "unit": "u", "baseline": NaN, "target": 1}',
        b'{"name": "N", "unit": "u", "baseline": 0, "target": Infinity}',
        b'{"name": "N", "unit": "u", "baseline": 0, "target": 1' + b"0" * 5000 + b"}",
    ],
    ids=lambda raw: repr(raw[30:60]),
)
def test_non_finite_and_huge_numbers_are_refused(target: Target, raw: bytes) -> None:
    response = post(
        target,
        f"/api/v1/projects/{target.project}/indicators",
        content=raw,
        headers={"Content-Type": "application/json"},
    )
    assert_clean_4xx(response, 400, 422)


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/events?limit=-1",
        "/api/v1/events?after=-1",
        "/api/v1/events?limit=1000000",
        "/api/v1/events?after=99999999999999999999999",
        "/api/v1/projects/{project}/events?after=-5",
        "/api/v1/projects/{project}/state?version=-1",
        "/api/v1/projects/{project}/state?version=0",
        "/api/v1/projects/{project}/state?as_of=9999-99-99",
        "/api/v1/projects/{project}/state?as_of=0001-01-01T00:00:00Z",
    ],
)
def test_hostile_query_parameters_are_refused(target: Target, query: str) -> None:
    response = httpx.get(
        target.url + query.format(project=target.project), headers=target.auditor, timeout=TIMEOUT
    )
    assert_clean_4xx(response, 400, 404, 422)


# -- GraphQL -------------------------------------------------------------------------------


def graphql(target: Target, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(
        f"{target.url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers=target.viewer,
        timeout=TIMEOUT,
    )


def assert_graphql_refused(response: httpx.Response) -> None:
    assert response.status_code in (200, 400, 413), response.text[:300]
    if response.status_code == 413:
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        return
    body = response.json()
    assert body.get("errors"), body
    assert not body.get("data"), body
    codes = {error.get("extensions", {}).get("code") for error in body["errors"]}
    assert codes == {"BAD_USER_INPUT"}, body["errors"][:3]


def _deep(depth: int) -> str:
    inner = "id"
    for _ in range(depth):
        inner = f"milestones {{ project {{ {inner} }} }}"
    return "{ projects { edges { node { " + inner + " } } } }"


GRAPHQL_BOMBS = {
    "depth": _deep(40),
    "aliases": "{ " + " ".join(f"a{i}: labs {{ slug }}" for i in range(1_000)) + " }",
    "tokens": "{ labs { " + "slug " * 10_000 + "} }",
    "fragment cycle": "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
    "first 1000000": "{ projects(first: 1000000) { edges { node { id } } } }",
    "first negative": "{ projects(first: -1) { edges { node { id } } } }",
    "milestones first 1000000": "{ milestones(first: 1000000) { edges { node { id } } } }",
    "activity first negative": "{ activity(first: -5) { edges { node { type } } } }",
    "bad cursor": '{ projects(after: "\' OR 1=1 --") { edges { node { id } } } }',
    "year 10000": '{ activity(since: "10000-01-01T00:00:00Z") { edges { node { type } } } }',
    "due within 2^31 days": "{ milestones(filter: {dueWithinDays: 2147483647}) { totalCount } }",
    "portfolio due within 2^31 days": "{ portfolio(dueWithinDays: 2147483647) { total } }",
    "huge int": "{ projects(first: 99999999999999999999) { edges { node { id } } } }",
    "directives": "{ labs { slug " + "@include(if: true) " * 2_000 + "} }",
    "unknown field": "{ labs { slug password } }",
}


@pytest.mark.parametrize("name", GRAPHQL_BOMBS)
def test_graphql_bombs_are_refused(target: Target, name: str) -> None:
    assert_graphql_refused(graphql(target, GRAPHQL_BOMBS[name]))


def test_a_graphql_read_since_year_9999_is_answered_empty(target: Target) -> None:
    # A read filter in the far future is a valid question, with an empty answer.
    query = '{ activity(since: "9999-12-31T23:59:59Z") { edges { node { type } } } }'
    body = graphql(target, query).json()
    assert body == {"data": {"activity": {"edges": []}}}


def test_a_graphql_batch_of_many_operations_is_refused(target: Target) -> None:
    batch = [{"query": "{ labs { slug } }"}] * 1_000
    response = httpx.post(
        f"{target.url}/graphql", json=batch, headers=target.viewer, timeout=TIMEOUT
    )
    assert 400 <= response.status_code < 500, response.text[:300]


def test_graphql_stores_nothing_and_interprets_no_hostile_filter(target: Target) -> None:
    for text in HOSTILE_TEXT:
        response = graphql(
            target,
            "query($t: String) { projects(filter: {text: $t, lab: $t, theme: $t}) { totalCount } }",
            {"t": text},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        assert body["data"]["projects"]["totalCount"] == 0
