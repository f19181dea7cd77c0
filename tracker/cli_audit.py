"""`tracker audit|events|people`: verify the log, export and import it, forget people's names.

Registered on the main CLI by `register`. Results go to standard output, progress bars and
errors to standard error; `audit verify` exits 1 when it finds anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tracker.audit.verify import verify
from tracker.cli_support import fail, load_settings
from tracker.services import Services

audit = typer.Typer(help="Verify the event log's hash chains.", no_args_is_help=True)

stderr = Console(stderr=True)


@contextmanager
def _services() -> Iterator[Services]:
    settings = load_settings()
    try:
        services = Services.open(settings)
    except Exception as error:
        raise fail(f"cannot open the database: {type(error).__name__}: {error}") from None
    try:
        yield services
    finally:
        services.close()


def _progress(what: str, unit: str) -> Progress:
    return Progress(
        TextColumn(f"[bold]{what}[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    )


@audit.command("verify")
def verify_command(
    actor: Annotated[str, typer.Option(help="Who runs it, as recorded in the admin log.")] = "cli",
) -> None:
    """Recompute every hash and checkpoint; print each finding; exit 1 on any."""
    with _services() as services, _progress("verifying", "positions") as progress:
        task = progress.add_task("verify", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            report = verify(services.application, on_progress=advance)
        except Exception as error:
            raise fail(f"verification stopped: {type(error).__name__}: {error}", code=2) from None
    for finding in report.findings:
        typer.echo(str(finding))
    typer.echo(report.summary())
    if not report.intact:
        raise typer.Exit(1)


def register(cli: typer.Typer) -> None:
    """Add this module's commands to the `tracker` CLI."""
    cli.add_typer(audit, name="audit")
