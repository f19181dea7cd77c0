"""The `tracker` command line: serve, migrate, and the operators' tools."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tracker.logging import configure_logging
from tracker.settings import Settings, get_settings

cli = typer.Typer(
    name="tracker",
    help="Event-sourced project tracking for public innovation labs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(settings.effective_log_format, settings.log_level)
    return settings


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one clear line on standard error and return the exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@cli.command()
def migrate() -> None:
    """Upgrade the configured database to the newest schema (alembic upgrade head)."""
    from tracker import migrate as migrations

    settings = _settings()
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
) -> None:
    """Migrate, run the projector in-process, and serve the API."""
    import uvicorn

    from tracker import migrate as migrations
    from tracker.app import create_app

    settings = _settings()
    if not no_migrate:
        migrations.upgrade(settings)
    app = create_app(settings, run_projector=not no_projector)
    uvicorn.run(app, host=host, port=port, log_config=None, timeout_graceful_shutdown=10)


def main() -> None:
    """Console-script entry point: one clear line and a non-zero exit on any error."""
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
