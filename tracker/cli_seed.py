"""`tracker` commands: seed (registered on the main CLI by `register`)."""

from __future__ import annotations

import typer


def register(cli: typer.Typer) -> None:
    """Add this module's commands to the `tracker` CLI."""
