"""The ASGI application: REST API, GraphQL, web pages and operations endpoints over one set of
services."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from projections.runner import BackgroundRole, Stoppable, start_background_projector
from tracker.api.deps import SECURITY_SCHEME
from tracker.api.metrics import install_metrics
from tracker.api.openapi import document_edges
from tracker.api.ops import router as ops_router
from tracker.api.routes import install_api
from tracker.application.services import Services
from tracker.config.settings import Settings, get_settings
from tracker.graphql import install_graphql
from tracker.graphql.inprocess import in_process_runner
from tracker.graphql.openapi import describe_graphql
from tracker.graphql.schema import build_schema
from tracker.i18n import FRENCH, catalogue
from tracker.web import install_web
from tracker.webhooks.deliverer import start_background_deliverer

log = structlog.get_logger("tracker.asgi")

COMMAND_THREADS = 40

# What a browser dashboard on an allowed origin may send and read (TRACKER_CORS_ORIGINS).
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "Accept-Language",
    "If-Match",
    "Idempotency-Key",
    "X-Request-ID",
    "X-Min-Position",
]
CORS_RESPONSE_HEADERS = [
    "ETag",
    "Location",
    "Content-Language",
    "Retry-After",
    "Idempotency-Replayed",
    "X-Request-ID",
]


def create_app(
    settings: Settings | None = None,
    *,
    run_projector: bool = True,
    run_webhooks: bool | None = None,
    one_of_several: bool = False,
) -> FastAPI:
    """Build the app; services open in the lifespan, so importing this connects to nothing.

    The projector and the webhook deliverer run in-process by default (`run_webhooks`
    follows `run_projector` unless given). `one_of_several`: this process is one of the
    workers of `tracker serve --workers N`, and they run only in the worker that holds the
    store's background role (`projections.runner.BackgroundRole`, docs/cli.md).
    """
    settings = settings or get_settings()
    deliver = run_projector if run_webhooks is None else run_webhooks

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services.open(settings)
        app.state.services = services
        # The worker threads of the write routes (tracker/api/routing.py), as many as
        # anyio's default threadpool, which ran them before.
        app.state.command_threads = ThreadPoolExecutor(
            COMMAND_THREADS, thread_name_prefix="tracker-command"
        )
        catalogue(FRENCH)  # read the .po now, not on the first problem (~0.1 s)
        # GraphQL's X-Min-Position waits on app.state.projector when it runs here, and
        # re-reads the tracking table otherwise.
        app.state.projector = None

        def start_background() -> list[Stoppable]:
            running: list[Stoppable] = []
            try:
                if run_projector:
                    app.state.projector = start_background_projector(services)
                    running.append(app.state.projector)
                if deliver:
                    running.append(start_background_deliverer(services))
            except BaseException:
                # Half started: stop what runs, so that a retry does not start it twice.
                for started in reversed(running):
                    started.stop()
                app.state.projector = None
                raise
            return running

        if one_of_several and (run_projector or deliver):
            background: list[Stoppable] = [BackgroundRole(services, start_background).start()]
        else:
            background = start_background()
        log.info(
            "started",
            env=settings.env,
            projector=run_projector,
            webhooks=deliver,
            pid=os.getpid(),
            one_of_several=one_of_several,
        )
        # What start-up built (the schema, the templates, the catalogues, the app) lives as
        # long as the process: moved out of the collector's generations, a full collection
        # no longer walks it, which had shown as a tail of slow answers on pages that make
        # many objects (`gc.freeze`, docs/benchmarks.md).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            for running in reversed(background):
                running.stop()
            app.state.projector = None
            app.state.command_threads.shutdown(wait=True)
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
        # FastAPI's native OpenTelemetry hooks: tracker exports Prometheus metrics and
        # structured logs of its own (README, "Operations"), so they stay off; left on, they
        # look up the global providers on every request (docs/benchmarks.md).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.include_router(ops_router)
    install_api(app, settings)
    install_graphql(app, settings)
    if settings.cors_origin_list:
        # Outside the request context: a preflight is answered here, before any route.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_RESPONSE_HEADERS,
            max_age=600,
        )
    # The web pages run the same schema in-process (docs/web.md).
    install_web(app, settings, in_process_runner(build_schema(settings)))
    install_metrics(app)  # after the API's middleware: outermost, it sees every final status
    install_openapi(app)
    return app


def install_openapi(app: FastAPI) -> None:
    """The OpenAPI document, with what the edges send around the routes (built once)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = document_edges(generate())
            app.openapi_schema = describe_graphql(schema, SECURITY_SCHEME)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
