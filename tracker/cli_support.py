"""What every `tracker` command shares: settings with logging set up, and one-line errors."""

from __future__ import annotations

import typer

from tracker.logging import configure_logging
from tracker.settings import Settings, get_settings


def load_settings() -> Settings:
    """The process's settings, with logging configured to match (logs go to stderr)."""
    settings = get_settings()
    configure_logging(settings.effective_log_format, settings.log_level)
    return settings


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one clear line on standard error and return the exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
