"""What every `tracker` command shares: settings with logging set up, and one-line errors."""

from __future__ import annotations

import uuid
from typing import Any

import typer

from tracker.application.admin import record_admin_action
from tracker.application.services import Services
from tracker.config.logging import configure_logging
from tracker.config.settings import Settings, get_settings

# Who an administrative command is recorded as, when the operator does not say.
CLI_ACTOR = "cli"


def load_settings() -> Settings:
    """The process's settings, with logging configured to match (logs go to stderr)."""
    settings = get_settings()
    configure_logging(settings.effective_log_format, settings.log_level)
    return settings


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one clear line on standard error and return the exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def record_admin(services: Services, action: str, actor: str = CLI_ACTOR, **fields: Any) -> None:
    """Record an administrative action in the admin log, under a fresh correlation id."""

    application = services.application
    meta = application.meta(actor, f"cli-{uuid.uuid4()}")
    try:
        record_admin_action(application, action, meta, **fields)
    except Exception as error:
        raise fail(f"done, but not recorded in the admin log: {type(error).__name__}") from None
