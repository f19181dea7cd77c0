"""`tracker open-data export DIR`: write the open-data package (docs/open-data.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from tracker.application.services import Services
from tracker.cli.support import load_settings
from tracker.exports.open_data import Moment, export

open_data_cli = typer.Typer(
    name="open-data", help="Export the open-data package.", no_args_is_help=True
)


@open_data_cli.command("export")
def export_command(
    directory: Annotated[Path, typer.Argument(help="Where to write datapackage.json and CSVs.")],
    on: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"], help="A business date: the state on that date (YYYY-MM-DD)."
        ),
    ] = None,
    as_known_at: Annotated[
        datetime | None,
        typer.Option(
            formats=[
                "%Y-%m-%dT%H:%M:%S.%f%z",
                "%Y-%m-%dT%H:%M:%S%z",
                "%Y-%m-%dT%H:%M:%S.%f",
                "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d",
            ],
            help="An ISO 8601 instant: only what was recorded by then (naive: UTC).",
        ),
    ] = None,
) -> None:
    """Write datapackage.json and its CSV resources (labs that publish only) into DIRECTORY,
    on a business date (--on) as known at an instant (--as-known-at) when given."""
    moment = Moment(on.date() if on is not None else None, as_known_at)
    settings = load_settings()
    services = Services.open(settings)
    try:
        written = export(services, directory, services.application.today(), moment)
    finally:
        services.close()
    for path in written:
        typer.echo(str(path))


def register(cli: typer.Typer) -> None:
    """Add this module's commands to the `tracker` CLI."""
    cli.add_typer(open_data_cli)
