"""Crashes: `kill -9` of the server, the projector or both at seeded random moments of a load.

Each round starts the load (every command with an Idempotency-Key), kills its victims once a
random number of answers came back, restarts them, and sends again every request that got
no answer, with the same key and body. After the rounds: every acknowledged write is in the
log, each key wrote at most once, no request is half-written (each wrote its one event or
none, and the hash chain is whole: `tracker audit verify`), and the restarted projector
converges to a rebuild (`tracker audit verify` runs `projections rebuild --check`'s check).
"""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest

from tests.reliability.harness import (
    Deployment,
    Load,
    Process,
    Sent,
    arrange_lab_and_projects,
    arrange_trainings,
    assert_clean_answers,
    assert_nothing_lost,
    assert_once_per_key,
    bound,
    read_log,
    retry_unanswered,
    wait_until,
)

pytestmark = pytest.mark.reliability

SEED = 20260615
# A crashed process's Idempotency-Key reservation may be taken over after this lease.
ENV = {"TRACKER_IDEMPOTENCY_LEASE_SECONDS": "1"}


def crash_rounds(deployment: Deployment, servers: int, rounds: int, seed: int) -> str:
    """Run the crash rounds on `servers` API processes and one projector; check the log."""
    rng = random.Random(seed)
    processes: dict[str, Process] = {
        f"server{i}": deployment.serve(projector=False, env=ENV) for i in range(servers)
    }
    processes["projector"] = deployment.projector(env=ENV)
    admin, staff = deployment.token("admin"), deployment.token("staff", "lab-crash")
    auditor = deployment.token("auditor")

    def urls() -> list[str]:
        return [p.url for name, p in sorted(processes.items()) if p.url]

    projects = arrange_lab_and_projects(urls()[0], admin, staff, "lab-crash", 5)
    trainings = arrange_trainings(urls()[0], staff, "lab-crash", 3)
    sent: list[Sent] = []
    crashes: Counter[str] = Counter()
    # Every kind of crash in the bounded run, in a seeded order; more of them in a soak.
    kinds = [["server0"], ["projector"], sorted(processes)]
    rng.shuffle(kinds)
    for round_ in range(rounds):
        victims = kinds[round_] if round_ < len(kinds) else rng.choice(kinds)
        answers_before_kill = rng.randint(1, 80)
        load = Load(
            urls(),
            staff,
            projects,
            clients=32,
            per_client=bound(3, 12),
            seed=seed + round_,
            idempotent=True,
            stop_on_failure=True,
            timeout=20,
            trainings=trainings,
        )
        runner = threading.Thread(target=load.run)
        runner.start()
        try:
            wait_until(
                lambda load=load, runner=runner, count=answers_before_kill: (
                    load.answered(count) or not runner.is_alive()
                ),
                120,
                "answers before the kill",
            )
            for victim in victims:
                processes[victim].kill9()
                crashes[victim.rstrip("0123456789")] += 1
        finally:
            runner.join(timeout=120)
        assert not runner.is_alive()
        for victim in victims:
            processes[victim] = (
                deployment.projector(env=ENV)
                if victim == "projector"
                else deployment.serve(projector=False, env=ENV)
            )
        sent.extend(load.sent)
        sent.extend(retry_unanswered(urls()[0], staff, load.sent))

    url = urls()[0]
    assert_clean_answers(sent)
    log = read_log(url, auditor)
    assert_nothing_lost(log, sent, [*projects, *trainings])
    assert_once_per_key(log, sent)
    wait_until(lambda: deployment.projections_caught_up(), 60, "the projector to catch up")
    # `audit verify` checks the hash chains, then the projections against a rebuild
    # (`projections rebuild --check`): one process start instead of two.
    deployment.assert_audit_verifies()
    unanswered = sum(1 for s in sent if s.status is None)
    return (
        f"crashes {dict(crashes)}: {len(sent)} requests ({unanswered} cut off, all retried), "
        f"{sum(1 for s in sent if s.acknowledged)} acknowledged, {len(log)} events"
    )


def test_kill_9_of_server_and_projector_during_load_loses_nothing(
    deployment: Deployment,
) -> None:
    print(crash_rounds(deployment, servers=1, rounds=bound(3, 15), seed=SEED))


@pytest.mark.soak
def test_kill_9_of_two_servers_and_the_projector_on_postgresql_loses_nothing(
    postgres_deployment: Deployment,
) -> None:
    print(crash_rounds(postgres_deployment, servers=2, rounds=20, seed=SEED + 1))
