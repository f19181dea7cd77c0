"""What the history page adds for auditors (docs/web.md): the knowledge changes (what was
learnt between two instants about the dates before the first), the log's verification
status (the latest recorded verification, whether the history is signed and by which
keys) and the links to download the history as a spreadsheet."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool

from tracker.application.services import Services
from tracker.audit.history import last_verification
from tracker.exports.spreadsheets import WRITERS
from tracker.web.dates import parse_date, parse_instant


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


KNOWLEDGE_FIRST = 100  # the knowledge changes a history page lists (`first:` of its query)


@dataclass(frozen=True)
class KnowledgeWindow:
    """The two instants the history page's knowledge changes are read between:
    `?appris_du=&appris_au=`, each a date (its midnight in the server's zone; `appris_au`
    then counts that whole day) or an instant. Without them: from the first of January,
    midnight, to now, what was learnt this year about last year (said on the page)."""

    start: datetime
    end: datetime
    defaulted: bool

    @classmethod
    def parse(cls, params: Mapping[str, str], zone: ZoneInfo) -> KnowledgeWindow | str:
        """The window, or the name of the parameter that is not a date or an instant."""
        now = datetime.now(zone)
        bounds: list[datetime | None] = []
        for name in ("appris_du", "appris_au"):
            raw = params.get(name, "").strip()
            if not raw:
                bounds.append(None)
                continue
            try:
                day = parse_date(raw) + timedelta(days=name == "appris_au")
                bounds.append(datetime.combine(day, time(), zone))
                continue
            except ValueError:
                pass  # not a day: an instant
            try:
                moment = parse_instant(raw)
            except ValueError:
                return name
            bounds.append(moment if moment.tzinfo else moment.replace(tzinfo=zone))
        start, end = bounds
        return cls(
            start=start or datetime.combine(date(now.year, 1, 1), time(), zone),
            end=end or now,
            defaulted=start is None or end is None,
        )

    @property
    def variables(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def knowledge_rows(
    changes: list[Mapping[str, Any]], events: list[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The knowledge changes with the recorder's name as the history shows it (by
    position: `knowledgeChanges` carries the token id only)."""
    by_position = {event["position"]: event for event in events}
    return [
        {
            **change,
            "actorName": by_position.get(change["position"], {}).get("actorName"),
            "actorNameErased": by_position.get(change["position"], {}).get("actorNameErased"),
        }
        for change in changes
    ]
