"""The `tracker` command line: serve, migrate, and the operators' tools."""

from __future__ import annotations

import json
import logging
import os
import sys
from importlib.metadata import version
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI

from tracker.asgi import create_app
from tracker.cli import audit, open_data, projections, seed, tokens, webhooks
from tracker.cli.demo import run_demo
from tracker.cli.failures import describe_failure
from tracker.cli.support import load_settings, require_free_port
from tracker.store import migrate as migrations

cli = typer.Typer(
    name="tracker",
    help="Event-sourced project tracking for public innovation labs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@cli.command()
def migrate() -> None:
    """Upgrade the configured database to the newest schema (alembic upgrade head)."""
    settings = load_settings()
    migrations.upgrade(settings)
    typer.echo(f"database at {migrations.current_revision(settings)}", err=True)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    no_migrate: Annotated[bool, typer.Option("--no-migrate", help="Skip migrations.")] = False,
    no_projector: Annotated[
        bool, typer.Option("--no-projector", help="Do not run the projections in-process.")
    ] = False,
    no_webhooks: Annotated[
        bool, typer.Option("--no-webhooks", help="Do not deliver webhooks in-process.")
    ] = False,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="On an empty store: seed the demo portfolio, create and print demo tokens.",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes on one socket; the projector and the webhook deliverer "
            "run in one of them.",
        ),
    ] = 1,
) -> None:
    """Migrate, run the projector and the webhook deliverer in-process, and serve the API."""
    settings = load_settings()
    require_free_port(host, port)
    if not no_migrate:
        migrations.upgrade(settings)
    if demo:
        run_demo(settings, host, port, sys.stdout)
    app: FastAPI | str
    if workers == 1:
        app = create_app(settings, run_projector=not no_projector, run_webhooks=not no_webhooks)
    else:
        # uvicorn's multi-process mode starts each worker from an import string ("spawn"):
        # the worker reads its settings from the same environment, and what it may run in
        # the background from this variable.
        os.environ[WORKER_RUNS_VARIABLE] = json.dumps(
            {"projector": not no_projector, "webhooks": not no_webhooks}
        )
        app = "tracker.cli.main:worker_app"
    uvicorn.run(
        app,
        factory=workers > 1,
        workers=workers,
        # A worker answers the supervisor's pings once its interpreter has imported tracker
        # (~2 s; 20 s and more on a busy machine); uvicorn's default 5 s killed them at birth.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        host=host,
        port=port,
        log_config=None,
        timeout_graceful_shutdown=10,
        # uvicorn[standard] brings uvloop and httptools, which "auto" picks when installed:
        # ~15% less server CPU per command than asyncio + h11 (docs/benchmarks.md).
        loop="auto",
        http="auto",
        # It brings the websockets library too: tracker serves no websocket (no GraphQL
        # subscriptions), so keep upgrade requests refused as before it was installed.
        ws="none",
    )


WORKER_RUNS_VARIABLE = "_TRACKER_SERVE_WORKER_RUNS"
WORKER_HEALTHCHECK_SECONDS = 30


def worker_app() -> FastAPI:
    """One worker of `tracker serve --workers N` (uvicorn calls this in each process)."""
    runs = json.loads(os.environ.get(WORKER_RUNS_VARIABLE, "{}"))
    return create_app(
        load_settings(),
        run_projector=bool(runs.get("projector", True)),
        run_webhooks=bool(runs.get("webhooks", True)),
        one_of_several=True,
    )


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"tracker {version('tracker')}")
        raise typer.Exit()


@cli.callback()
def _options(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Event-sourced project tracking for public innovation labs."""


for _module in (tokens, projections, audit, seed, webhooks, open_data):
    _module.register(cli)


def main() -> None:
    """Console-script entry point: one clear line and a non-zero exit on any error."""
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:
        # The traceback goes to the debug log; the terminal gets one line.

        logging.getLogger("tracker.cli.main").debug("command failed", exc_info=True)
        typer.echo(f"error: {describe_failure(error)}", err=True)
        sys.exit(1)
