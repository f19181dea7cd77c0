"""The webhook deliverer against a real HTTP receiver on 127.0.0.1, on both databases.

The receiver is down, then fails with 500, then answers too slowly, then comes back: every
event still reaches it, signed, in log order, and a duplicate is only a redelivery of the
same `webhook-id`. Waits poll a condition with a deadline (tests/reliability/harness.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from uuid import UUID

import pytest

from domain.lab import Lab
from domain.values import Phase
from domain.webhook import deliverable_event_types
from tests.factories import unique_slug
from tests.receiver import Receiver
from tests.reliability.harness import wait_until
from tracker.application.commands import (
    PlanMilestone,
    RegisterLab,
    RegisterProject,
    ResumeWebhook,
    SubscribeWebhook,
)
from tracker.application.services import Services
from tracker.config.settings import Settings
from tracker.store import migrate
from tracker.webhooks.deliverer import Deliverer, WebhookStatus, message_id, webhook_status

DEADLINE = 60.0
DUE = date(2026, 1, 1)
DISCOVERY = Phase.DISCOVERY


@pytest.fixture
def fast_settings(empty_database_url: str) -> Settings:
    """A fresh database (no other test's subscriptions) and quick retries."""
    settings = Settings(
        database_url=empty_database_url,
        webhook_allowed_hosts=["127.0.0.1"],
        webhook_timeout_seconds=0.5,
        webhook_retry_base_seconds=0.02,
        webhook_retry_max_seconds=0.1,
        webhook_max_attempts=10_000,
        webhook_poll_seconds=0.02,
    )
    migrate.upgrade(settings)
    return settings


@pytest.fixture
def fresh_services(fast_settings: Settings) -> Iterator[Services]:
    opened = Services.open(fast_settings)
    yield opened
    opened.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    down = Receiver()
    yield down
    down.stop()


def _lab(services: Services) -> str:
    slug = unique_slug()
    application = services.application
    application.execute(
        RegisterLab(slug=slug, name="Lab", region_code="27"), application.meta("tok", "c")
    )
    return slug


def _subscribe(services: Services, receiver: Receiver, lab: str) -> UUID:
    command = SubscribeWebhook(
        url=receiver.url, event_types=list(deliverable_event_types()), labs=[lab]
    )
    services.application.execute(command, services.application.meta("tok", "c"))
    receiver.secret = command.secret
    return command.subscription_id


def _write(services: Services, lab: str, milestones: int) -> UUID:
    application = services.application
    at = application.meta("tok", "c", date(2025, 3, 1))
    project = application.execute(
        RegisterProject(
            lab=lab,
            title="Projet",
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
                title=f"Jalon {n}",
                due_on=date(2026, 1, 1),
                phase=Phase.DISCOVERY,
            ),
            at,
        )
    return project


def _status(services: Services, subscription: UUID) -> WebhookStatus:
    return webhook_status(services, [subscription], include_deleted=True)[0]


def test_every_event_reaches_a_receiver_that_was_down_failing_and_slow(
    fresh_services: Services, receiver: Receiver
) -> None:
    services = fresh_services
    lab, other_lab = _lab(services), _lab(services)
    subscription = _subscribe(services, receiver, lab)
    subscribed_at = _status(services, subscription).position
    deliverer = Deliverer(services).start()
    try:
        project = _write(services, lab, milestones=5)
        _write(services, other_lab, milestones=2)  # another lab's: never sent
        wait_until(lambda: _status(services, subscription).attempts >= 3, DEADLINE, "down")
        assert "ConnectError" in (_status(services, subscription).last_error or "")

        receiver.start("fail")
        wait_until(lambda: receiver.count(500) >= 3, DEADLINE, "500s")
        wait_until(
            lambda: "HTTP 500" in (_status(services, subscription).last_error or ""),
            DEADLINE,
            "the 500 recorded as the last error",
        )

        receiver.slow_seconds = 1.0  # twice the deliverer's timeout
        receiver.mode = "slow"
        wait_until(lambda: len(receiver.accepted()) >= 2, DEADLINE, "slow answers")
        wait_until(
            lambda: "Timeout" in (_status(services, subscription).last_error or ""),
            DEADLINE,
            "the timeout recorded as the last error",
        )

        receiver.mode = "ok"
        second = _write(services, lab, milestones=3)
        expected = [
            message_id(subscription, n.id)
            for n in services.application.recorder.select_notifications(
                start=subscribed_at + 1, limit=1_000_000
            )
            if UUID(str(n.originator_id)) in {project, second, Lab.id_for(lab)}
        ]
        wait_until(lambda: set(expected) <= set(receiver.accepted_ids()), DEADLINE, "every event")
    finally:
        deliverer.stop()

    arrivals = receiver.arrivals
    assert all(a.verified for a in arrivals), "a signature did not verify"
    assert set(receiver.accepted_ids()) == set(expected), "an event of another lab was sent"
    bodies: dict[str, bytes] = {}
    for arrival in arrivals:
        assert bodies.setdefault(arrival.webhook_id, arrival.body) == arrival.body
    first_accepted = list(dict.fromkeys(a.webhook_id for a in receiver.accepted()))
    assert first_accepted == expected, "not in log order"
    assert max(receiver.accepted_ids().values()) >= 2, "the slow answers were not redelivered"
    status = _status(services, subscription)
    assert (status.attempts, status.delivered) == (
        0,
        len(expected) + status.delivered - len(expected),
    )


def test_a_payload_names_the_event_its_lab_and_fields_but_no_token(
    fresh_services: Services, receiver: Receiver
) -> None:
    services = fresh_services
    lab = _lab(services)
    subscription = _subscribe(services, receiver, lab)
    receiver.start()
    deliverer = Deliverer(services).start()
    try:
        project = _write(services, lab, milestones=1)
        wait_until(lambda: len(receiver.accepted()) >= 2, DEADLINE, "two deliveries")
    finally:
        deliverer.stop()
    registered, planned = (json.loads(a.body) for a in receiver.accepted()[:2])
    assert registered["type"] == "ProjectRegistered"
    assert planned["type"] == "MilestonePlanned"
    assert planned["data"]["lab"] == lab
    assert planned["data"]["aggregate_id"] == str(project)
    assert planned["data"]["fields"]["title"] == "Jalon 0"
    assert "actor" not in planned["data"]["fields"]
    assert "correlation_id" not in planned["data"]["fields"]
    assert receiver.accepted()[1].webhook_id == message_id(
        subscription, planned["data"]["position"]
    )


def test_a_subscription_that_keeps_failing_is_paused_with_its_last_error(
    fast_settings: Settings, receiver: Receiver
) -> None:
    services = Services.open(fast_settings.model_copy(update={"webhook_max_attempts": 3}))
    try:
        lab = _lab(services)
        subscription = _subscribe(services, receiver, lab)
        receiver.start("fail")
        deliverer = Deliverer(services).start()
        try:
            _write(services, lab, milestones=1)
            wait_until(
                lambda: _status(services, subscription).state == "paused", DEADLINE, "paused"
            )
            status = _status(services, subscription)
            assert status.attempts == 3
            assert status.last_error is not None
            assert status.last_error.startswith("HTTP 500")
            assert status.pause_reason is not None
            assert "HTTP 500" in status.pause_reason
            sent = receiver.count(500)
            assert sent == 3

            receiver.mode = "ok"
            application = services.application
            application.execute(
                ResumeWebhook(subscription_id=subscription), application.meta("tok", "c")
            )
            wait_until(lambda: len(receiver.accepted()) >= 2, DEADLINE, "delivered on resume")
        finally:
            deliverer.stop()
    finally:
        services.close()


def test_a_command_does_not_wait_for_a_delivery_in_flight(
    fresh_services: Services, receiver: Receiver
) -> None:
    services = fresh_services
    lab = _lab(services)
    _subscribe(services, receiver, lab)
    receiver.start("hold")
    deliverer = Deliverer(services).start()
    try:
        project = _write(services, lab, milestones=0)
        wait_until(lambda: receiver.in_flight == 1, DEADLINE, "a delivery held by the receiver")
        application = services.application
        application.execute(
            PlanMilestone(project_id=project, title="Pendant", due_on=DUE, phase=DISCOVERY),
            application.meta("tok", "c"),
        )
        assert receiver.in_flight == 1, "the command waited for the receiver"
    finally:
        receiver.release.set()
        deliverer.stop()


def test_two_deliverers_never_send_one_subscriptions_events_at_once(
    fresh_services: Services, receiver: Receiver
) -> None:
    services = fresh_services
    lab = _lab(services)
    subscription = _subscribe(services, receiver, lab)
    receiver.slow_seconds = 0.02
    receiver.start("slow")
    deliverers = [Deliverer(services).start(), Deliverer(services).start()]
    try:
        _write(services, lab, milestones=15)
        head = services.application.recorder.max_notification_id() or 0
        wait_until(lambda: _status(services, subscription).position == head, DEADLINE, "caught up")
    finally:
        for deliverer in deliverers:
            deliverer.stop()
    assert receiver.max_in_flight == 1
    assert max(receiver.accepted_ids().values()) == 1
    assert len(receiver.accepted()) == 16
