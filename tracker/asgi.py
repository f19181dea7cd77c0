"""The ASGI application: REST API, GraphQL, web pages and operations endpoints over one set of
services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from projections.runner import start_background_projector
from tracker.api.metrics import install_metrics
from tracker.api.ops import router as ops_router
from tracker.api.routes import install_api
from tracker.application.services import Services
from tracker.config.settings import Settings, get_settings
from tracker.graphql import install_graphql
from tracker.graphql.inprocess import in_process_runner
from tracker.graphql.schema import build_schema
from tracker.web import install_web

log = structlog.get_logger("tracker.asgi")


def create_app(settings: Settings | None = None, *, run_projector: bool = True) -> FastAPI:
    """Build the app; services open in the lifespan, so importing this connects to nothing."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services.open(settings)
        app.state.services = services
        projector = start_background_projector(services) if run_projector else None
        app.state.projector = projector  # GraphQL's X-Min-Position waits on it
        log.info("started", env=settings.env, projector=run_projector)
        try:
            yield
        finally:
            if projector is not None:
                projector.stop()
            services.close()
            log.info("stopped")

    app = FastAPI(
        title="tracker",
        summary="Event-sourced project tracking for public innovation labs.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None if settings.is_production else "/openapi.json",
    )
    app.state.settings = settings
    app.include_router(ops_router)
    install_api(app, settings)
    install_graphql(app, settings)
    # The web pages run the same schema in-process (docs/web.md).
    install_web(app, settings, in_process_runner(build_schema(settings)))
    install_metrics(app)  # after the API's middleware: outermost, it sees every final status
    return app
