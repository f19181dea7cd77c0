"""What every `tracker` command shares: settings with logging set up, and one-line errors."""

from __future__ import annotations

import uuid

import typer

from domain.meta import Meta
from tracker.application.access import CLI_ACTOR
from tracker.application.commands import AdminCommand
from tracker.application.services import Services
from tracker.config.logging import configure_logging
from tracker.config.settings import Settings, get_settings


def load_settings() -> Settings:
    """The process's settings, with logging configured to match (logs go to stderr)."""
    settings = get_settings()
    configure_logging(settings.effective_log_format, settings.log_level)
    return settings


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one clear line on standard error and return the exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def cli_meta(services: Services, actor: str = CLI_ACTOR) -> Meta:
    """A command's metadata from the command line: the actor, a fresh correlation id, today."""
    return services.application.meta(actor, f"cli-{uuid.uuid4()}")


def record_admin(services: Services, command: AdminCommand, actor: str = CLI_ACTOR) -> None:
    """Record an administrative action in the admin log, under a fresh correlation id."""
    try:
        services.application.execute(command, cli_meta(services, actor))
    except Exception as error:
        raise fail(f"done, but not recorded in the admin log: {type(error).__name__}") from None
