"""`tracker seed`: load the deterministic demo portfolio (registered on the CLI by `register`)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tracker.application.seed import (
    DEFAULT_PROJECTS,
    DEFAULT_SEED,
    MAX_PROJECTS,
    SeedError,
    SeedSummary,
    seed_portfolio,
)
from tracker.application.services import Services
from tracker.cli.support import fail, load_settings


def run_seed(
    services: Services, projects: int, seed: int, *, force: bool, console: Console
) -> SeedSummary:
    """Seed with a progress bar on `console` (standard error), and return the summary."""
    services.application.recorder.max_notification_id()  # fail on the database before the bar
    with Progress(
        TextColumn("[bold]seeding[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("commands"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("seed", total=None)

        def advance(done: int, total: int) -> None:
            if done % 50 == 0 or done == total:
                progress.update(task, completed=done, total=total)

        return seed_portfolio(services.application, projects, seed, force=force, on_step=advance)


def seed(
    projects: Annotated[
        int,
        typer.Option(min=1, max=MAX_PROJECTS, help=f"How many projects (1 to {MAX_PROJECTS:,})."),
    ] = DEFAULT_PROJECTS,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed writes the same events.")
    ] = DEFAULT_SEED,
    force: Annotated[
        bool,
        typer.Option("--force", help="Seed even if a portfolio (a lab) is stored already."),
    ] = False,
) -> None:
    """Load a deterministic, realistic demo portfolio through the application's commands.

    Refuses a store that already holds events, unless --force.
    """
    settings = load_settings()
    # One log line per command would bury the progress bar: the summary says what was written.
    logging.getLogger("tracker.commands").setLevel(logging.WARNING)
    console = Console(stderr=True)
    services = Services.open(settings)
    try:
        summary = run_seed(services, projects, seed, force=force, console=console)
    except SeedError as error:
        raise fail(str(error)) from None
    finally:
        services.close()
    console.print(summary.line(), soft_wrap=True)


def register(cli: typer.Typer) -> None:
    """Add this module's commands to the `tracker` CLI."""
    cli.command("seed")(seed)
