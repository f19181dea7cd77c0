"""`tracker webhooks`: run the webhook deliverer; `tracker webhooks status`: each
subscription's state, position, lag and last error (docs/webhooks.md).

Several `tracker webhooks` processes (or `tracker serve` processes, which deliver
in-process by default) may run at once: each subscription's lease lets one of them at a
time deliver its events.
"""

from __future__ import annotations

import signal
from types import FrameType

import typer
from rich.console import Console
from rich.table import Table

from tracker.application.services import Services
from tracker.cli.support import load_settings
from tracker.webhooks.deliverer import Deliverer, webhook_status

webhooks_cli = typer.Typer(
    name="webhooks",
    help="Deliver webhooks (without a subcommand), or show their status.",
    invoke_without_command=True,
)
err = Console(stderr=True)


@webhooks_cli.callback()
def deliver(ctx: typer.Context) -> None:
    """Run the webhook deliverer until SIGINT or SIGTERM (without a subcommand)."""
    if ctx.invoked_subcommand is not None:
        return
    settings = load_settings()
    services = Services.open(settings)
    deliverer = Deliverer(services)

    def _stop(signum: int, frame: FrameType | None) -> None:
        deliverer.request_stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    err.print("webhook deliverer running")
    try:
        deliverer.run_forever()
    finally:
        deliverer.client.close()
        services.close()


@webhooks_cli.command("status")
def status_command(
    all_: bool = typer.Option(False, "--all", help="Include deleted subscriptions."),
) -> None:
    """Print each subscription's state, position, lag, failures and last error."""
    settings = load_settings()
    services = Services.open(settings)
    try:
        statuses = webhook_status(services, include_deleted=all_)
    finally:
        services.close()
    table = Table(
        "webhook", "url", "state", "position", "lag (events)", "delivered", "attempts", "last error"
    )
    for s in statuses:
        table.add_row(
            str(s.id),
            s.url,
            s.state,
            str(s.position),
            str(s.lag_events),
            str(s.delivered),
            str(s.attempts),
            s.last_error or "",
        )
    Console(width=200).print(table)


def register(cli: typer.Typer) -> None:
    """Add this module's commands to the `tracker` CLI."""
    cli.add_typer(webhooks_cli)
