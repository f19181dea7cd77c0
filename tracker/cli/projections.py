"""`tracker` commands: projections (registered on the main CLI by `register`).

`tracker projector` runs every projection as a standalone worker; `tracker projections
status` prints each one's lag; `tracker projections rebuild [NAME] [--check]` replays the
log into shadow tables and swaps them in, or with `--check` compares them with the live
tables and exits 1 on any difference.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from projections.runner import PROJECTIONS, Projector, projection_named, rebuild_all, status
from tracker.application.commands import RecordProjectionsRebuilt
from tracker.application.services import Services
from tracker.cli.support import fail, load_settings, record_admin, require_existing_database

projections_cli = typer.Typer(
    name="projections", help="Inspect and rebuild the read models.", no_args_is_help=True
)
err = Console(stderr=True)


def projector() -> None:
    """Run the projections as a standalone worker until SIGINT or SIGTERM."""

    settings = load_settings()
    services = Services.open(settings)
    worker = Projector(services)

    def _stop(signum: int, frame: FrameType | None) -> None:
        worker.request_stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    err.print(f"projector following {', '.join(worker.names)}")
    try:
        worker.run_forever()
    finally:
        services.close()


@projections_cli.command("status")
def status_command() -> None:
    """Print each projection's position, the log's head, and the lag in events and seconds."""

    settings = load_settings()
    require_existing_database(settings)
    services = Services.open(settings)
    try:
        statuses = status(services)
    finally:
        services.close()
    table = Table("projection", "position", "head", "lag (events)", "lag (s)", "updated")
    for s in statuses:
        table.add_row(
            s.name,
            str(s.position),
            str(s.head),
            str(s.lag_events),
            f"{s.lag_seconds:.1f}",
            s.updated_at.isoformat(timespec="seconds") if s.updated_at else "never",
        )
    Console().print(table)


@projections_cli.command("rebuild")
def rebuild_command(
    name: Annotated[
        str | None, typer.Argument(help="One projection (default: every projection).")
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Compare the rebuilt tables with the live ones; no swap."),
    ] = False,
) -> None:
    """Replay the log into shadow tables and swap them in while the API keeps serving."""

    settings = load_settings()
    try:
        chosen = [projection_named(name)] if name else list(PROJECTIONS)
    except ValueError as error:
        raise fail(str(error)) from None
    services = Services.open(settings)
    differences = 0
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
        ) as progress:
            task = progress.add_task(", ".join(p.name for p in chosen), total=None)

            def advance(position: int, head: int) -> None:
                progress.update(task, completed=position, total=max(head, 1))

            # One replay of the log feeds every chosen projection (decoding costs as much
            # as applying).
            results = rebuild_all(services, chosen, check=check, on_progress=advance)
        record_admin(
            services,
            RecordProjectionsRebuilt(
                projections=[result.name for result in results],
                position=max((result.position for result in results), default=0),
                checked=check,
                differences=sum(len(result.differences) for result in results),
            ),
        )
    finally:
        services.close()
    for result in results:
        for difference in result.differences:
            typer.echo(difference.describe())
        differences += len(result.differences)
        verb = "checked" if check else "rebuilt and swapped in"
        rate = result.events / result.seconds if result.seconds else 0.0
        err.print(
            f"{result.name}: {verb} at position {result.position}, {result.events} events "
            f"in {result.seconds:.1f} s ({rate:,.0f} events/s), "
            f"{len(result.differences)} difference(s)"
        )
    if differences:
        raise typer.Exit(1)


def register(cli: typer.Typer) -> None:
    """Add this module's commands to the `tracker` CLI."""
    cli.command("projector")(projector)
    cli.add_typer(projections_cli)
