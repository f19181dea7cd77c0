"""Every REST router in OpenAPI order, and what the app mounts with them."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, FastAPI

from tracker.api import (
    activities,
    audit,
    campaigns,
    decisions,
    funding,
    indicators,
    labs,
    lists,
    milestones,
    open_data,
    partners,
    projects,
    trainings,
    webhooks,
)
from tracker.api.docs import install_docs
from tracker.api.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from tracker.api.problems import install_problem_handlers
from tracker.application.idempotency import IdempotencyStore
from tracker.config.settings import Settings


def routers() -> list[APIRouter]:
    """Every REST router, in OpenAPI order (add a resource's router here)."""
    return [
        labs.router,
        projects.router,
        milestones.router,
        partners.router,
        indicators.router,
        activities.router,
        decisions.router,
        funding.router,
        trainings.router,
        campaigns.router,
        audit.router,
        lists.router,
        open_data.router,
        webhooks.router,
    ]


def install_api(app: FastAPI, settings: Settings) -> None:
    """Mount the REST routers, middleware and error handlers on `app`."""
    app.state.idempotency = IdempotencyStore(
        ttl=timedelta(hours=settings.idempotency_ttl_hours),
        lease=timedelta(seconds=settings.idempotency_lease_seconds),
    )
    for router in routers():
        # Each is JSON only unless a route negotiates, and answers directly when it can
        # (tracker/api/routing.py `api_router`).
        app.include_router(router)
    install_problem_handlers(app)
    # The last added is the outermost: the request id wraps everything, the 413 included.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    if not settings.is_production:
        install_docs(app)
