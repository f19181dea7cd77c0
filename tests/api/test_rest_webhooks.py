"""Webhook subscriptions over REST: who may subscribe, the secret shown once, the targets
refused, pause, resume and delete (the deliveries: tests/integration/test_webhooks.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.api.conftest import TokenFactory, assert_problem
from tests.factories import WEBHOOK_URL, unique_slug
from tracker.asgi import create_app
from tracker.config.settings import Settings
from tracker.schema.webhooks import webhook_subscriptions

W = "/api/v1/webhooks"


def subscription(labs: list[str], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "url": WEBHOOK_URL,
        "event_types": ["MilestoneAchieved", "ProjectClosed"],
        "labs": labs,
    }
    return body | overrides


def test_an_admin_subscribes_and_sees_the_secret_once(
    client: TestClient, tokens: TokenFactory, lab: str
) -> None:
    admin = tokens("admin")
    created = client.post(W, json=subscription([lab]), headers=admin)
    assert created.status_code == 201, created.text
    answer = created.json()
    assert answer["secret"].startswith("whsec_")
    assert created.headers["Location"] == f"{W}/{answer['id']}"
    listed = client.get(W, headers=admin)
    assert listed.status_code == 200
    mine = next(s for s in listed.json() if s["id"] == answer["id"])
    assert mine["state"] == "active"
    assert mine["labs"] == [lab]
    assert mine["position"] == answer["position"]
    assert answer["secret"] not in listed.text
    assert answer["secret"] not in client.get(f"{W}/{answer['id']}", headers=admin).text


def test_the_secret_is_kept_beside_the_log_not_in_it(
    client: TestClient, tokens: TokenFactory, lab: str
) -> None:
    answer = client.post(W, json=subscription([lab]), headers=tokens("admin")).json()
    services = client.app.state.services  # type: ignore[attr-defined]
    events = services.application.recorder.select_notifications(start=1, limit=1_000_000)
    assert any(b"WebhookSubscribed" in e.topic.encode() for e in events)
    assert not any(answer["secret"].encode() in e.state for e in events)
    with services.engine.connect() as connection:
        stored = connection.scalar(
            sa.select(webhook_subscriptions.c.secret).where(
                webhook_subscriptions.c.subscription_id == answer["id"]
            )
        )
    assert stored == answer["secret"]


def test_a_replayed_subscription_answers_without_the_secret(
    client: TestClient, tokens: TokenFactory, lab: str
) -> None:
    headers = tokens("admin") | {"Idempotency-Key": unique_slug("key")}
    first = client.post(W, json=subscription([lab]), headers=headers)
    again = client.post(W, json=subscription([lab]), headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotency-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert "secret" not in again.json()


def test_staff_subscribe_to_their_own_lab_only(
    client: TestClient, tokens: TokenFactory, lab: str
) -> None:
    staff = tokens("staff", lab)
    assert_problem(client.post(W, json=subscription([]), headers=staff), 403)
    assert_problem(client.post(W, json=subscription(["autre-lab"]), headers=staff), 403)
    created = client.post(W, json=subscription([lab]), headers=staff)
    assert created.status_code == 201, created.text
    assert created.json()["secret"].startswith("whsec_")


def test_staff_of_another_lab_neither_see_nor_change_a_labs_subscription(
    client: TestClient, tokens: TokenFactory, lab: str
) -> None:
    created = client.post(W, json=subscription([lab]), headers=tokens("staff", lab)).json()
    other = tokens("staff", unique_slug("other"))
    assert created["id"] not in {s["id"] for s in client.get(W, headers=other).json()}
    assert_problem(client.get(f"{W}/{created['id']}", headers=other), 403)
    assert_problem(client.post(f"{W}/{created['id']}/pause", json={}, headers=other), 403)
    assert_problem(client.delete(f"{W}/{created['id']}", headers=other), 403)


@pytest.mark.parametrize("role", ["viewer", "auditor"])
def test_readers_cannot_manage_webhooks(
    client: TestClient, tokens: TokenFactory, lab: str, role: str
) -> None:
    assert_problem(client.post(W, json=subscription([lab]), headers=tokens(role)), 403)
    assert_problem(client.get(W, headers=tokens(role)), 403)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.0.0.7/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "ftp://192.0.43.10/hook",
        "https://user:pw@192.0.43.10/hook",
    ],
)
def test_an_internal_target_is_refused(
    client: TestClient, tokens: TokenFactory, lab: str, url: str
) -> None:
    problem = assert_problem(
        client.post(W, json=subscription([lab], url=url), headers=tokens("admin")), 422
    )
    assert problem["type"].endswith(":webhook-target-refused")


@pytest.fixture
def permissive_client(settings: Settings) -> Iterator[TestClient]:
    allowed = settings.model_copy(update={"webhook_allowed_hosts": ["127.0.0.1", "10.0.0.0/8"]})
    with TestClient(create_app(allowed, run_projector=False)) as test_client:
        yield test_client


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/hook", "http://10.1.2.3/hook"])
def test_an_internal_target_on_the_allow_list_is_accepted(
    permissive_client: TestClient, url: str
) -> None:
    services = permissive_client.app.state.services  # type: ignore[attr-defined]
    admin = TokenFactory(services)("admin")
    created = permissive_client.post(W, json=subscription([], url=url), headers=admin)
    assert created.status_code == 201, created.text


def test_an_unknown_event_type_is_refused_with_the_known_ones(
    client: TestClient, tokens: TokenFactory, lab: str
) -> None:
    body = subscription([lab], event_types=["MilestoneAchieved", "TokenCreated"])
    problem = assert_problem(client.post(W, json=body, headers=tokens("admin")), 422)
    assert "TokenCreated" in problem["detail"]
    assert "ProjectRegistered" in problem["detail"]


def test_an_unknown_lab_is_refused(client: TestClient, tokens: TokenFactory) -> None:
    response = client.post(W, json=subscription(["pas-de-lab"]), headers=tokens("admin"))
    assert_problem(response, 404)


def test_a_subscription_pauses_resumes_and_is_deleted_with_its_secret(
    client: TestClient, tokens: TokenFactory, lab: str
) -> None:
    staff = tokens("staff", lab)
    created = client.post(W, json=subscription([lab]), headers=staff).json()
    one = f"{W}/{created['id']}"
    paused = client.post(f"{one}/pause", json={"reason": "maintenance"}, headers=staff)
    assert paused.status_code == 200, paused.text
    shown = client.get(one, headers=staff).json()
    assert (shown["state"], shown["pause_reason"]) == ("paused", "maintenance")
    assert_problem(client.post(f"{one}/pause", json={}, headers=staff), 409)
    assert client.post(f"{one}/resume", json={}, headers=staff).status_code == 200
    assert client.get(one, headers=staff).json()["state"] == "active"
    assert client.delete(one, headers=staff).status_code == 200
    assert_problem(client.get(one, headers=staff), 404)
    assert created["id"] not in {s["id"] for s in client.get(W, headers=staff).json()}
    services = client.app.state.services  # type: ignore[attr-defined]
    with services.engine.connect() as connection:
        secret = connection.scalar(
            sa.select(webhook_subscriptions.c.secret).where(
                webhook_subscriptions.c.subscription_id == created["id"]
            )
        )
    assert secret is None


def test_an_unknown_subscription_is_404(client: TestClient, tokens: TokenFactory) -> None:
    admin = tokens("admin")
    assert_problem(client.get(f"{W}/not-a-uuid", headers=admin), 404)
    assert_problem(
        client.post(f"{W}/00000000-0000-4000-8000-000000000000/pause", json={}, headers=admin),
        404,
    )


def test_metrics_show_each_subscriptions_state(
    client: TestClient, tokens: TokenFactory, lab: str
) -> None:
    created = client.post(W, json=subscription([lab]), headers=tokens("admin")).json()
    metrics = client.get("/metrics").text
    assert f'tracker_webhook_state{{last_error="",state="active",webhook="{created["id"]}"}}' in (
        metrics
    )
    assert f'tracker_webhook_lag_events{{webhook="{created["id"]}"}}' in metrics
