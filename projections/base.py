"""What every tracker projection shares: the library's `Projection` over a `ReadModelView`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from eventsourcing.projection import Projection

from projections.rows import BatchRows, RowFeed
from projections.view import ReadModelView
from tracker.application.services import Services


class ReadModelProjection(Projection[ReadModelView]):
    """A projection whose `process_event` changes the rows of its view's current batch.

    Subclasses declare `name` (pinned: it keys the tracking row, the lock and the CLI) and
    the `tables` they own, and register one handler per event class on their own
    `singledispatchmethod`, whose fallback records tracking for the events they ignore.
    """

    name: str = ""
    tables: ClassVar[tuple[sa.Table, ...]] = ()
    #: One line for `tracker projections status`.
    description: ClassVar[str] = ""
    #: The projection whose rows this one derives from. When a rebuild replays both, that
    #: one's worker records what each event did to its rows and hands it to this one as
    #: `feed` (projections.runner), which need not run the same handlers a second time.
    fed_by: ClassVar[type[ReadModelProjection] | None] = None
    feed: RowFeed | None = None

    @property
    def rows(self) -> BatchRows:
        """The batch's rows in memory: handlers read and change these, never SQL."""
        return self.view.rows

    def attach(self, services: Services) -> None:
        """Called once by the runner: a projection that reads more than its events (the
        timeline reads a project's earlier events) keeps what it needs."""

    def prefetch(self, events: Sequence[Any]) -> None:
        """Load what a batch's handlers will read, in a few statements (an optimisation:
        a row not prefetched is loaded on first use)."""

    def end_batch(self) -> None:
        """Called once a batch's events are processed, before its rows are flushed: a
        projection may tidy what the batch left (the portfolio drops roll-ups counted 0)."""
