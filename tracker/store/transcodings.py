"""How event fields and snapshot state that JSON cannot hold are written to the store."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.project import Activity, Decision, Funding, Indicator, Milestone, Partner
from domain.training import Reschedule
from domain.values import Territory


class DateAsISO(Transcoding):
    """A business date as `YYYY-MM-DD`."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class DataclassAsDict(Transcoding):
    """A value object or entity as the dict of its fields, under a stable name."""

    def __init__(self, cls: type[Any], name: str) -> None:
        self.type = cls
        self.name = name

    def encode(self, obj: Any) -> dict[str, Any]:
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**data)


# The names are part of the stored format: never change one, add a new one instead.
DATACLASS_NAMES: dict[type[Any], str] = {
    Territory: "territory",
    Milestone: "milestone",
    Partner: "partner",
    Indicator: "indicator",
    Activity: "activity",
    Decision: "decision",
    Funding: "funding",
    Reschedule: "training_reschedule",
}


def register_tracker_transcodings(transcoder: JSONTranscoder) -> None:
    """Teach the transcoder tracker's dates, territories and entities."""
    transcoder.register(DateAsISO())
    for cls, name in DATACLASS_NAMES.items():
        transcoder.register(DataclassAsDict(cls, name))
