"""A `tracker webhooks` process killed with SIGKILL mid-batch loses no delivery, and two
of them beside each other never send one subscription's events at once (both databases)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from uuid import UUID

import pytest

from domain.values import Phase
from domain.webhook import deliverable_event_types
from tests.receiver import Receiver
from tests.reliability.harness import Deployment, Process, wait_until
from tracker.application.commands import (
    PlanMilestone,
    RegisterLab,
    RegisterProject,
    SubscribeWebhook,
)
from tracker.application.services import Services
from tracker.webhooks.deliverer import message_id

pytestmark = pytest.mark.reliability

DEADLINE = 90.0
WEBHOOK_ENV = {
    "TRACKER_WEBHOOK_ALLOWED_HOSTS": json.dumps(["127.0.0.1"]),
    "TRACKER_WEBHOOK_POLL_SECONDS": "0.05",
    "TRACKER_WEBHOOK_RETRY_BASE_SECONDS": "0.05",
    "TRACKER_WEBHOOK_RETRY_MAX_SECONDS": "0.2",
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver(slow_seconds=0.03, mode="slow")
    yield started
    started.stop()


def _deliverer(deployment: Deployment) -> Process:
    process = deployment._spawn("webhooks", ["webhooks"], WEBHOOK_ENV)
    wait_until(
        lambda: "webhook deliverer running" in process.log() or not process.alive(),
        DEADLINE,
        "tracker webhooks to start",
    )
    assert process.alive(), process.log()
    return process


def _arrange(deployment: Deployment, receiver: Receiver, milestones: int) -> list[str]:
    """A lab, a subscription to it, and events; the webhook ids that must arrive."""
    services = Services.open(deployment.settings)
    try:
        application = services.application
        at = application.meta("tok", "c", date(2025, 3, 1))
        application.execute(RegisterLab(slug="lab-hooks", name="Lab", region_code="27"), at)
        command = SubscribeWebhook(
            url=receiver.url, event_types=list(deliverable_event_types()), labs=["lab-hooks"]
        )
        subscribed = application.execute(command, at).position
        receiver.secret = command.secret
        project = application.execute(
            RegisterProject(
                lab="lab-hooks",
                title="P",
                summary="",
                themes=[],
                territories=[],
                started_on=at.occurred_on,
            ),
            at,
        ).id
        for n in range(milestones):
            application.execute(
                PlanMilestone(
                    project_id=project,
                    title=f"J{n}",
                    due_on=date(2026, 1, 1),
                    phase=Phase.DISCOVERY,
                ),
                at,
            )
        return [
            message_id(command.subscription_id, n.id)
            for n in application.recorder.select_notifications(start=subscribed + 1, limit=10_000)
            if UUID(str(n.originator_id)) == project
        ]
    finally:
        services.close()


def test_a_deliverer_killed_mid_batch_loses_nothing(
    deployment: Deployment, receiver: Receiver
) -> None:
    receiver.start("slow")
    expected = _arrange(deployment, receiver, milestones=60)
    first = _deliverer(deployment)
    wait_until(lambda: len(receiver.accepted()) >= 10, DEADLINE, "a first part delivered")
    first.kill9()
    assert len(receiver.accepted()) < len(expected), "killed too late to be mid-batch"
    _deliverer(deployment)
    wait_until(lambda: set(expected) <= set(receiver.accepted_ids()), DEADLINE, "every event")
    assert all(a.verified for a in receiver.arrivals)
    assert set(receiver.accepted_ids()) == set(expected)
    assert list(dict.fromkeys(a.webhook_id for a in receiver.accepted())) == expected
    assert max(receiver.accepted_ids().values()) <= 2, "more than the one in flight resent"
    status = deployment.run("webhooks", "status")
    assert status.returncode == 0, status.stderr
    assert "active" in status.stdout


def test_two_deliverer_processes_send_each_event_once_in_order(
    deployment: Deployment, receiver: Receiver
) -> None:
    receiver.start("slow")
    expected = _arrange(deployment, receiver, milestones=30)
    _deliverer(deployment)
    _deliverer(deployment)
    wait_until(lambda: set(expected) <= set(receiver.accepted_ids()), DEADLINE, "every event")
    assert receiver.max_in_flight == 1
    assert list(receiver.accepted_ids().values()) == [1] * len(expected)
    assert [a.webhook_id for a in receiver.accepted()] == expected
