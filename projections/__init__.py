"""Read models filled from the event log, and the projectors that keep them up to date.

The operations side uses `status(services)` (lag per projection, for /readyz and
/metrics) and `wait_for_position(services, position, timeout)`; both live in
`projections.runner` and are re-exported here lazily, so that importing the tables (as
Alembic does) does not import the application.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PROJECTIONS", "ProjectionStatus", "status", "wait_for_position"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from projections import runner

        return getattr(runner, name)
    msg = f"module 'projections' has no attribute {name!r}"
    raise AttributeError(msg)
