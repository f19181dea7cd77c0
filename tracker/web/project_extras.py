"""The project page's partners and decisions (docs/web.md).

The read models count them (`partnerCount`, `decisionCount`) but do not hold them, so the
page replays the one project's events from the store, on the same business date and as
known at the same instant as the rest of the page (tracker/audit/history.py `project_on`):
a project's history, never the log's.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool

from domain.errors import ProjectNotFoundError
from tracker.application.services import Services
from tracker.audit.history import project_on


async def partners_and_decisions(
    services: Services, project_id: str, on: Any, known_at: Any
) -> dict[str, Any]:
    """The template values `partners` (name, role) and `decisions` (title, decision,
    rationale), in the order they were recorded."""
    try:
        project = await run_in_threadpool(
            project_on, services.application, UUID(project_id), on, known_at
        )
    except ProjectNotFoundError:  # not there on that date: the read models said so already
        return {"partners": [], "decisions": []}
    return {
        "partners": list(project.partners.values()),
        "decisions": list(project.decisions),
    }
