"""What every `tracker` command shares: settings with logging set up, and one-line errors."""

from __future__ import annotations

import errno
import socket
import uuid
from pathlib import Path

import typer
from sqlalchemy.engine import make_url

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


DEFAULT_DATABASE_URL = "sqlite:///./var/tracker.db"


def sqlite_path(settings: Settings) -> Path | None:
    """The SQLite file the settings name (None for PostgreSQL or an in-memory database)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def require_existing_database(settings: Settings) -> None:
    """Refuse to go on when a read-only command would create an empty SQLite file.

    Opening a SQLite URL creates the file (and its directory): a command that only reads
    (`tracker token list`, `tracker events export`…) run in the wrong directory would then
    leave an empty database behind and report missing tables.
    """
    path = sqlite_path(settings)
    if path is not None and not path.exists():
        raise fail(
            f"no database at {path} (TRACKER_DATABASE_URL={settings.database_url}; the default"
            f" is {DEFAULT_DATABASE_URL}, relative to the current directory): run this where"
            " the database is, or set TRACKER_DATABASE_URL"
        )


def require_free_port(host: str, port: int) -> None:
    """Refuse to start when another process listens on `host:port` (one clear line)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise fail(
                    f"port {port} on {host} is in use by another process: stop it, or"
                    " choose another port with --port"
                ) from None
            raise fail(f"cannot listen on {host}:{port}: {error.strerror}") from None
