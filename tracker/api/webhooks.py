"""Webhook subscriptions: created, listed, paused, resumed and deleted by admins, or by
staff for their own lab (docs/webhooks.md).

The secret (`whsec_…`, Standard Webhooks) is in the creation's answer and nowhere else: a
replay of the same `Idempotency-Key` answers without it, and no read shows it.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Path
from fastapi.responses import JSONResponse
from pydantic import Field

from tracker.api.commands import CommandBody, execute
from tracker.api.deps import ServicesDep, WriteContextDep, require_role
from tracker.api.problems import ProblemError, problem_responses
from tracker.api.routing import api_router
from tracker.application import commands
from tracker.application.access import Principal, Role
from tracker.webhooks.deliverer import WebhookStatus, webhook_status
from tracker.webhooks.targets import TargetRefusedError, check_target

router = api_router(prefix="/api/v1/webhooks", tags=["webhooks"])

ManagerPrincipal = Annotated[Principal, Depends(require_role(Role.ADMIN, Role.STAFF))]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$", strict=True)]


class Subscribe(CommandBody):
    """A new subscription: where to send which event types of which labs (every lab: [])."""

    url: Annotated[str, Field(min_length=8, max_length=2000, strict=True)] = Field(
        examples=["https://example.org/hooks/tracker"]
    )
    event_types: Annotated[list[str], Field(min_length=1, max_length=100)] = Field(
        examples=[["MilestoneAchieved", "ProjectClosed"]]
    )
    labs: Annotated[list[Slug], Field(max_length=100)] = Field(
        default_factory=list, examples=[["lab-bfc"]]
    )


class Change(CommandBody):
    """A pause, a resume or a deletion: only the reason and the business date."""


async def parse_subscription_id(subscription_id: Annotated[str, Path(max_length=64)]) -> UUID:
    """A subscription id from the path; anything that is not a UUID names none (404)."""
    try:
        return UUID(subscription_id)
    except ValueError:
        raise ProblemError(
            404, f"no webhook {subscription_id!r}", code="webhook-subscription-not-found"
        ) from None


SubscriptionIdPath = Annotated[UUID, Depends(parse_subscription_id)]


def _visible(principal: Principal, status: WebhookStatus) -> bool:
    return principal.role is Role.ADMIN or status.owner_lab == principal.lab


def _managed(services: ServicesDep, principal: Principal, subscription_id: UUID) -> None:
    found = webhook_status(services, [subscription_id])
    if not found:
        raise ProblemError(
            404, f"no webhook {subscription_id}", code="webhook-subscription-not-found"
        )
    if not _visible(principal, found[0]):
        raise ProblemError(
            403, "this token manages its own lab's webhooks only", code="forbidden-lab"
        )


@router.post(
    "",
    operation_id="subscribe_webhook",
    status_code=201,
    responses=problem_responses(400, 401, 403, 404, 413, 422, 503),
)
def subscribe_webhook(
    body: Subscribe, principal: ManagerPrincipal, services: ServicesDep, context: WriteContextDep
) -> JSONResponse:
    """Subscribe a URL to event types (admin; staff for their own lab); the secret, once."""
    if principal.role is Role.STAFF and (not body.labs or set(body.labs) != {principal.lab}):
        raise ProblemError(
            403,
            f"a staff token subscribes to its own lab's events only: labs = [{principal.lab!r}]",
            code="forbidden-lab",
        )
    try:
        check_target(body.url, services.settings.webhook_allowed_hosts)
    except TargetRefusedError as error:
        raise ProblemError(
            422,
            str(error),
            code="webhook-target-refused",
            errors=[{"loc": ["body", "url"], "msg": str(error), "type": "target-refused"}],
        ) from None
    command = commands.SubscribeWebhook(
        url=body.url,
        event_types=body.event_types,
        labs=body.labs,
        owner_lab=principal.lab if principal.role is Role.STAFF else None,
        reason=body.reason,
    )
    answer = execute(
        context,
        body,
        command,
        status_code=201,
        location=f"/api/v1/webhooks/{command.subscription_id}",
    )
    if answer.headers.get("Idempotency-Replayed") == "true":
        return answer
    shown: dict[str, Any] = json.loads(bytes(answer.body))
    shown["secret"] = command.secret
    headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-length"}
    return JSONResponse(shown, status_code=answer.status_code, headers=headers)


@router.get(
    "",
    operation_id="list_webhooks",
    responses=problem_responses(401, 403, 503),
)
def list_webhooks(principal: ManagerPrincipal, services: ServicesDep) -> list[dict[str, Any]]:
    """Every subscription this token manages, with its state, position and last error."""
    return [s.as_dict() for s in webhook_status(services) if _visible(principal, s)]


@router.get(
    "/{subscription_id}",
    operation_id="get_webhook",
    responses=problem_responses(401, 403, 404, 503),
)
def get_webhook(
    subscription_id: SubscriptionIdPath, principal: ManagerPrincipal, services: ServicesDep
) -> dict[str, Any]:
    """One subscription, with its state, position and last error."""
    _managed(services, principal, subscription_id)
    return webhook_status(services, [subscription_id])[0].as_dict()


@router.post(
    "/{subscription_id}/pause",
    operation_id="pause_webhook",
    responses=problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 503),
)
def pause_webhook(
    subscription_id: SubscriptionIdPath,
    body: Change,
    principal: ManagerPrincipal,
    services: ServicesDep,
    context: WriteContextDep,
) -> JSONResponse:
    """Stop a subscription's deliveries; they resume where they stopped."""
    _managed(services, principal, subscription_id)
    return execute(
        context, body, commands.PauseWebhook(subscription_id=subscription_id, reason=body.reason)
    )


@router.post(
    "/{subscription_id}/resume",
    operation_id="resume_webhook",
    responses=problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 503),
)
def resume_webhook(
    subscription_id: SubscriptionIdPath,
    body: Change,
    principal: ManagerPrincipal,
    services: ServicesDep,
    context: WriteContextDep,
) -> JSONResponse:
    """Deliver again from the first event not delivered, with a fresh count of attempts."""
    _managed(services, principal, subscription_id)
    return execute(
        context, body, commands.ResumeWebhook(subscription_id=subscription_id, reason=body.reason)
    )


@router.delete(
    "/{subscription_id}",
    operation_id="delete_webhook",
    responses=problem_responses(400, 401, 403, 404, 409, 412, 413, 503),
)
def delete_webhook(
    subscription_id: SubscriptionIdPath,
    principal: ManagerPrincipal,
    services: ServicesDep,
    context: WriteContextDep,
) -> JSONResponse:
    """Delete a subscription for ever; its secret is erased with it."""
    _managed(services, principal, subscription_id)
    return execute(context, None, commands.DeleteWebhook(subscription_id=subscription_id))
