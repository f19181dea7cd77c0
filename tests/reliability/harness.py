"""What the reliability tests share: real `tracker` processes on a fresh database, a seeded
concurrent load over HTTP, and the checks that nothing acknowledged was lost.

Bounds: `bound(quick, soak)` picks the `make test` figure, or the `make soak` one when
`TRACKER_SOAK=1`. Every wait polls with a deadline; every process started here is killed by
`Deployment.close()` (the fixtures call it in their teardown).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tracker.application.access import Role, create_token
from tracker.application.services import Services
from tracker.config.settings import Settings
from tracker.store import migrate

TRACKER = str(Path(sys.executable).parent / "tracker")
SOAK = os.environ.get("TRACKER_SOAK") == "1"
START_DEADLINE_SECONDS = 60
PROBLEM_JSON = "application/problem+json"


def bound(quick: int, soak: int) -> int:
    """The `make test` figure, or the `make soak` one under TRACKER_SOAK=1."""
    return soak if SOAK else quick


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(predicate: Callable[[], bool], deadline_seconds: float, what: str) -> None:
    """Poll `predicate` until it holds; fail the test after `deadline_seconds`."""
    deadline = time.monotonic() + deadline_seconds
    delay = 0.01
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {deadline_seconds} s")
        # A poll interval, not a synchronisation: the predicate decides.
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


@dataclass
class Process:
    """A `tracker` subprocess with its combined output in a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    url: str | None = None
    group: bool = False  # its own process group (a supervisor and its workers)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill9(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an OOM kill."""
        if self.group:
            with suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
        elif self.alive():
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not end in time."""
        if not self.alive():
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill9()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class Deployment:
    """tracker processes on one fresh, migrated database, and tokens for it."""

    def __init__(self, database_url: str, workdir: Path, env: dict[str, str] | None = None):
        self.database_url = database_url
        self.workdir = workdir
        self.settings = Settings(database_url=database_url)
        self.env = {
            **os.environ,
            "TRACKER_DATABASE_URL": database_url,
            "TRACKER_LOG_FORMAT": "json",
            **(env or {}),
        }
        self.processes: list[Process] = []
        self._count = 0
        migrate.upgrade(self.settings)

    @property
    def is_sqlite(self) -> bool:
        return self.settings.is_sqlite

    def token(self, role: Role | str, lab: str | None = None) -> str:
        services = Services.open(self.settings)
        try:
            return create_token(
                services.application, Role(role), lab=lab, name=f"reliability {role}"
            )[1]
        finally:
            services.close()

    def _spawn(
        self, name: str, args: Sequence[str], env: dict[str, str] | None, group: bool = False
    ) -> Process:
        self._count += 1
        log_path = self.workdir / f"{self._count:02d}-{name}.log"
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                [TRACKER, *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**self.env, **(env or {})},
                start_new_session=group,
            )
        process = Process(name, popen, log_path, group=group)
        self.processes.append(process)
        return process

    def serve(
        self, *, projector: bool = True, env: dict[str, str] | None = None, workers: int = 1
    ) -> Process:
        """`tracker serve --no-migrate [--no-projector] [--workers N]` on a free port, once
        /healthz answers (from any worker); with workers, `kill9` kills them all."""
        port = free_port()
        args = ["serve", "--port", str(port), "--no-migrate", "--workers", str(workers)]
        if not projector:
            args.append("--no-projector")
        process = self._spawn(f"serve-{port}", args, env, group=workers > 1)
        process.url = f"http://127.0.0.1:{port}"
        self._await_health(process)
        return process

    def projector(self, env: dict[str, str] | None = None) -> Process:
        """`tracker projector`, once it says it follows the projections."""
        process = self._spawn("projector", ["projector"], env)
        wait_until(
            lambda: "projector following" in process.log() or not process.alive(),
            START_DEADLINE_SECONDS,
            "tracker projector to start",
        )
        assert process.alive(), process.log()
        return process

    def _await_health(self, process: Process) -> None:
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while True:
            if not process.alive():
                pytest.fail(f"{process.name} exited ({process.popen.returncode}):\n{process.log()}")
            try:
                if httpx.get(f"{process.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                # Not listening yet: wait on the process itself, briefly and bounded.
                with suppress(subprocess.TimeoutExpired):
                    process.popen.wait(timeout=0.1)
            if time.monotonic() > deadline:
                pytest.fail(f"{process.name}: no /healthz in {START_DEADLINE_SECONDS} s")

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """A one-shot `tracker` command (rebuild --check, audit verify...)."""
        return subprocess.run(
            [TRACKER, *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )

    def assert_projections_equal_a_rebuild(self) -> None:
        result = self.run("projections", "rebuild", "--check")
        assert result.returncode == 0, result.stdout + result.stderr

    def assert_audit_verifies(self) -> None:
        result = self.run("audit", "verify")
        assert result.returncode == 0, result.stdout + result.stderr

    def projections_caught_up(self) -> bool:
        """Every projection's committed position is the log's head (read from the database:
        /readyz would also fail on an unrelated check, such as a newer migration)."""
        from projections.runner import status
        from tracker.application.services import Services

        services = Services.open(self.settings)
        try:
            return all(projection.lag_events == 0 for projection in status(services))
        finally:
            services.close()

    def logs(self) -> str:
        return "\n".join(p.log() for p in self.processes)

    def close(self) -> None:
        """Stop every process, then check their logs: no client's mistake logged a traceback."""
        for process in self.processes:
            process.kill9()
        mistakes = client_mistakes_with_tracebacks(self.logs())
        assert not mistakes, f"a traceback logged at ERROR for an answer below 500: {mistakes}"


def client_mistakes_with_tracebacks(log: str) -> list[str]:
    """The requests answered below 500 for which a server logged a traceback at ERROR (its
    JSON lines, joined by request id with the access log's status)."""
    statuses: dict[str, int] = {}
    tracebacks: dict[str, str] = {}
    for line in log.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        request_id = entry.get("request_id") if isinstance(entry, dict) else None
        if request_id is None:
            continue
        if entry.get("logger") == "tracker.access" and entry.get("event") == "request":
            statuses[request_id] = int(entry.get("status") or 0)
        elif entry.get("level") in {"error", "critical"} and "exception" in entry:
            tracebacks[request_id] = f"{entry.get('logger')}: {entry.get('event')}"
    return [
        f"{request_id} answered {statuses[request_id]}: {logged}"
        for request_id, logged in tracebacks.items()
        if 0 < statuses.get(request_id, 0) < 500
    ]


@dataclass(frozen=True)
class Sent:
    """One command request and what became of it."""

    client: int
    request_id: str
    project: str
    command: str
    status: int | None  # None: no answer (the connection failed)
    body: Any = None
    content_type: str = ""
    idempotency_key: str | None = None
    replayed: bool = False
    path: str = ""
    request_body: Any = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


# Conflicts the contract documents, by status: a domain rule (409) or a stale If-Match (412).
EXPECTED_REFUSALS = {409, 412}


def command_request(
    rng: random.Random, project: str, serial: int
) -> tuple[str, str, dict[str, Any], dict[str, str]]:
    """A random command on `project`: (name, path, body, extra headers); each writes one event."""
    base = f"/api/v1/projects/{project}"
    roll = rng.random()
    if roll < 0.30:
        health = rng.choice(["on_track", "at_risk", "off_track"])
        return "health", f"{base}/health", {"health": health, "reason": f"r{serial}"}, {}
    if roll < 0.45:
        body = {"title": f"Jalon {serial}", "due_on": "2026-09-30", "phase": "discovery"}
        return "milestone", f"{base}/milestones", body, {}
    if roll < 0.60:
        body = {
            "kind": rng.choice(["workshop", "training", "webinar", "user_test"]),
            "title": f"Atelier {serial}",
            "held_on": "2025-03-02",
            "participants": rng.randint(0, 40),
        }
        return "activity", f"{base}/activities", body, {}
    if roll < 0.70:
        body = {"title": f"Décision {serial}", "decision": "on continue", "rationale": "retours"}
        return "decision", f"{base}/decisions", body, {}
    if roll < 0.80:
        body = {"source": "FTAP", "amount_cents": rng.randint(1, 10**7), "fiscal_year": 2025}
        return "funding", f"{base}/funding", body, {}
    if roll < 0.90:
        # Only the first `go` to discovery passes; the others are domain conflicts (409).
        return "phase", f"{base}/phase", {"phase": "discovery", "decision": "go"}, {}
    # Version 1 is long gone under this load: a stale If-Match (412), nothing written.
    return "stale", f"{base}/health", {"health": "at_risk"}, {"If-Match": '"1"'}


# Training actions' sessions are moved to dates unique to each (client, serial), in the past
# (so that holding one is allowed): a reschedule never moves them to the dates they have.
TRAINING_DATES_FROM = date(2014, 1, 1)


def training_request(
    rng: random.Random, training: str, client: int, serial: int
) -> tuple[str, str, dict[str, Any], dict[str, str]]:
    """A random command on a training action; each writes one event. Once the action is
    held or cancelled, every later one is a domain conflict (409)."""
    base = f"/api/v1/trainings/{training}"
    roll = rng.random()
    if roll < 0.92:
        first = TRAINING_DATES_FROM + timedelta(days=client * 130 + serial * 2)
        sessions = [{"date": (first + timedelta(days=d)).isoformat()} for d in (0, 1)]
        body = {"sessions": sessions, "reason": f"report {serial}"}
        return "training-reschedule", f"{base}/reschedule", body, {}
    if roll < 0.94:
        body = {"attendance": rng.randint(0, 40), "reason": f"tenue {serial}"}
        return "training-hold", f"{base}/hold", body, {}
    if roll < 0.96:
        return "training-cancel", f"{base}/cancel", {"reason": f"annulée {serial}"}, {}
    # A stale If-Match (412) once the action has moved on, nothing written.
    body = {"sessions": [{"date": "2013-01-02"}], "reason": "report"}
    return "training-stale", f"{base}/reschedule", body, {"If-Match": '"1"'}


@dataclass
class Load:
    """A seeded load: `clients` concurrent clients, each sending `per_client` commands on
    the streams `projects` (and the training actions among them, `trainings`)."""

    urls: Sequence[str]
    token: str
    projects: Sequence[str]
    clients: int = 32
    per_client: int = 10
    seed: int = 0
    idempotent: bool = False
    timeout: float = 30.0
    deadline_seconds: float = 300.0
    stop_on_failure: bool = False
    trainings: Sequence[str] = ()
    sent: list[Sent] = field(default_factory=list)

    async def _client(self, index: int, http: httpx.AsyncClient, stop: asyncio.Event) -> None:
        rng = random.Random(f"{self.seed}-{index}")
        ends = time.monotonic() + self.deadline_seconds
        for serial in range(self.per_client):
            if stop.is_set() or time.monotonic() > ends:
                return
            project = rng.choice([*self.projects, *self.trainings])
            if project in self.trainings:
                name, path, body, extra = training_request(rng, project, index, serial)
            else:
                name, path, body, extra = command_request(rng, project, serial)
            request_id = f"rel-{self.seed}-{index}-{serial}-{uuid.uuid4().hex[:8]}"
            headers = {
                "Authorization": f"Bearer {self.token}",
                "X-Request-ID": request_id,
                **extra,
            }
            key = None
            if self.idempotent:
                key = f"key-{self.seed}-{index}-{serial}"
                headers["Idempotency-Key"] = key
            url = self.urls[(index + serial) % len(self.urls)]
            try:
                response = await http.post(url + path, json=body, headers=headers)
            except httpx.TransportError:
                self.sent.append(
                    Sent(
                        index,
                        request_id,
                        project,
                        name,
                        None,
                        None,
                        "",
                        key,
                        False,
                        path,
                        body,
                        extra,
                    )
                )
                if self.stop_on_failure:
                    return
                continue
            try:
                answer = response.json()
            except ValueError:
                answer = response.text
            self.sent.append(
                Sent(
                    index,
                    request_id,
                    project,
                    name,
                    response.status_code,
                    answer,
                    response.headers.get("content-type", ""),
                    key,
                    response.headers.get("Idempotency-Replayed") == "true",
                    path,
                    body,
                    extra,
                )
            )

    async def _run(self, stop: asyncio.Event) -> None:
        limits = httpx.Limits(max_connections=self.clients, max_keepalive_connections=self.clients)
        async with httpx.AsyncClient(timeout=self.timeout, limits=limits) as http:
            await asyncio.gather(*(self._client(i, http, stop) for i in range(self.clients)))

    def run(self, stop: asyncio.Event | None = None) -> Load:
        asyncio.run(self._run(stop or asyncio.Event()))
        return self

    def answered(self, count: int) -> bool:
        """At least `count` requests were answered (the trigger of a crash)."""
        return sum(1 for s in self.sent if s.status is not None) >= count

    def acknowledged(self) -> list[Sent]:
        return [s for s in self.sent if s.acknowledged]

    def statuses(self) -> Counter[int | None]:
        return Counter(s.status for s in self.sent)


def assert_clean_answers(sent: Sequence[Sent], allowed: set[int] = EXPECTED_REFUSALS) -> None:
    """No 5xx (unless allowed), every refusal a problem+json of the contract."""
    for s in sent:
        if s.status is None or s.acknowledged:
            continue
        assert s.status in allowed, (s.command, s.status, s.body)
        assert s.content_type.startswith(PROBLEM_JSON), (s.status, s.body)
        assert isinstance(s.body, dict), s.body
        assert s.body["status"] == s.status
        assert s.body["type"].startswith("urn:tracker:problem:")
        assert "database is locked" not in json.dumps(s.body)
    for s in sent:
        if s.acknowledged:
            assert isinstance(s.body, dict), s.body
            assert {"id", "version", "position"} <= s.body.keys(), s.body


def retry_unanswered(
    url: str, token: str, sent: Sequence[Sent], deadline_seconds: float = 60
) -> list[Sent]:
    """Send again, with the same Idempotency-Key and body, every request that got no answer
    (or a 503: its outcome is unknown to the client); a key still reserved by a crashed
    process answers 409 until its lease ends: retry it."""
    retried: list[Sent] = []
    ends = time.monotonic() + deadline_seconds
    with httpx.Client(base_url=url, timeout=30) as http:
        for s in sent:
            if s.status is not None and s.status != 503:
                continue
            assert s.idempotency_key, "only idempotent requests can be retried safely"
            while True:
                request_id = f"{s.request_id}-retry-{uuid.uuid4().hex[:6]}"
                response = http.post(
                    s.path,
                    json=s.request_body,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "X-Request-ID": request_id,
                        "Idempotency-Key": s.idempotency_key,
                        **s.extra_headers,
                    },
                )
                body = response.json()
                again = Sent(
                    s.client,
                    request_id,
                    s.project,
                    s.command,
                    response.status_code,
                    body,
                    response.headers.get("content-type", ""),
                    s.idempotency_key,
                    response.headers.get("Idempotency-Replayed") == "true",
                    s.path,
                    s.request_body,
                    s.extra_headers,
                )
                in_progress = response.status_code == 409 and body.get("type", "").endswith(
                    "idempotency-key-in-progress"
                )
                if not in_progress:
                    retried.append(again)
                    break
                if time.monotonic() > ends:
                    pytest.fail(f"{s.idempotency_key} stayed in progress")
                # The crashed reservation's lease (1 s in these tests) has to run out.
                time.sleep(0.2)
    return retried


# -- the event log -----------------------------------------------------------------------


def read_log(url: str, auditor_token: str) -> list[dict[str, Any]]:
    """The whole event log, through the auditor's NDJSON stream."""
    with httpx.Client(timeout=120) as http:
        response = http.get(
            f"{url}/api/v1/events",
            headers={
                "Authorization": f"Bearer {auditor_token}",
                "Accept": "application/x-ndjson",
            },
        )
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines() if line]


def assert_nothing_lost(
    log: Sequence[dict[str, Any]], sent: Sequence[Sent], projects: Sequence[str]
) -> None:
    """Every acknowledged command's event exactly once; versions gap-free per stream;
    positions increasing; no request wrote twice, and none wrote more than its one event.

    Positions may skip numbers on PostgreSQL (a transaction that lost a version race rolled
    back after drawing from the sequence), never repeat or go back.
    """
    positions = [record["position"] for record in log]
    assert positions == sorted(set(positions)), "the log's positions repeat or go back"
    by_position = {record["position"]: record for record in log}
    correlation = Counter(record["correlation_id"] for record in log)
    versions: dict[str, list[int]] = {}
    for record in log:
        versions.setdefault(record["originator_id"], []).append(record["version"])
    for stream, found in versions.items():
        assert found == list(range(1, len(found) + 1)), f"versions of {stream} have gaps"
    request_ids = {s.request_id for s in sent}
    for request_id in request_ids:
        assert correlation[request_id] <= 1, f"{request_id} wrote {correlation[request_id]} events"
    for s in sent:
        if not s.acknowledged:
            continue
        record = by_position.get(s.body["position"])
        assert record is not None, f"acknowledged {s.request_id} is not in the log"
        assert record["originator_id"] == s.project == s.body["id"]
        assert record["version"] == s.body["version"]
        if not s.replayed:
            assert record["correlation_id"] == s.request_id
    for s in sent:
        # A 503 may have lost the commit's acknowledgement, not the commit: unknown outcome.
        if s.status is not None and s.status != 503 and not s.acknowledged:
            assert correlation[s.request_id] == 0, f"refused {s.request_id} wrote an event"
    for project in projects:
        assert project in versions


def assert_once_per_key(log: Sequence[dict[str, Any]], sent: Sequence[Sent]) -> None:
    """Each Idempotency-Key wrote at most one event, whatever its retries (crash tests)."""
    by_key: dict[str, set[str]] = {}
    for s in sent:
        if s.idempotency_key:
            by_key.setdefault(s.idempotency_key, set()).add(s.request_id)
    written = Counter(record["correlation_id"] for record in log)
    for key, request_ids in by_key.items():
        count = sum(written[r] for r in request_ids)
        assert count <= 1, f"Idempotency-Key {key} wrote {count} events"


# -- arranging -----------------------------------------------------------------------------


def arrange_lab_and_projects(
    url: str, admin_token: str, staff_token: str, lab: str, count: int
) -> list[str]:
    """Register `lab` and `count` projects over HTTP; their ids."""
    with httpx.Client(base_url=url, timeout=30) as http:
        created = http.post(
            "/api/v1/labs",
            json={"slug": lab, "name": "Lab de fiabilité", "region_code": "27"},
            headers={"Authorization": f"Bearer {admin_token}"},
        )
        assert created.status_code == 201, created.text
        projects = []
        for index in range(count):
            response = http.post(
                "/api/v1/projects",
                json={
                    "lab": lab,
                    "title": f"Projet {index}",
                    "summary": "Sous charge.",
                    "themes": ["fiabilité"],
                    "territories": [{"level": "department", "code": "21", "cog_year": 2024}],
                    "started_on": "2025-01-06",
                },
                headers={"Authorization": f"Bearer {staff_token}"},
            )
            assert response.status_code == 201, response.text
            projects.append(response.json()["id"])
    return projects


def arrange_trainings(url: str, staff_token: str, lab: str, count: int) -> list[str]:
    """Schedule `count` training actions of `lab` over HTTP; their ids."""
    with httpx.Client(base_url=url, timeout=30) as http:
        trainings = []
        for index in range(count):
            response = http.post(
                f"/api/v1/labs/{lab}/trainings",
                json={
                    "title": f"Formation {index}",
                    "format": "workshop",
                    "sessions": [{"date": "2013-06-01"}],
                    "mode": "remote",
                    "audiences": ["state"],
                },
                headers={"Authorization": f"Bearer {staff_token}"},
            )
            assert response.status_code == 201, response.text
            trainings.append(response.json()["training_id"])
    return trainings


def iter_chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
