"""What the history page adds for auditors (docs/web.md): the log's verification status
(the latest recorded verification, whether the history is signed and by which keys) and
the links to download the history as a spreadsheet."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool

from tracker.application.services import Services
from tracker.audit.history import last_verification
from tracker.exports.spreadsheets import WRITERS


async def audit_status(services: Services, project_id: str) -> dict[str, Any]:
    """The template values of the history page's verification and download sections."""
    application = services.application
    verified = await run_in_threadpool(last_verification, application)
    keys = await run_in_threadpool(application.signing_keys)
    return {
        "verification": verified,
        "signing_keys": sorted(keys),
        "downloads": [
            (name, f"/projets/{project_id}/historique.{name}") for name in sorted(WRITERS)
        ],
    }
