"""Running the projections: in a background thread of `tracker serve`, or as `tracker projector`."""

from __future__ import annotations

from typing import Protocol

from tracker.services import Services


class Stoppable(Protocol):
    def stop(self) -> None: ...


def start_background_projector(services: Services) -> Stoppable | None:
    """Start the projections in a daemon thread; None while there is nothing to project."""
    return None
