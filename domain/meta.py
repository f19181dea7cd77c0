"""What every command carries besides its own arguments: who, in which request, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.values import clean_reason, require_not_future


@dataclass(frozen=True)
class Meta:
    """The actor (an opaque token id), the request's correlation id, and the business date.

    `today` is the calendar date at the lab (the service layer supplies it) so that the
    domain can refuse business dates in the future without reading a clock itself.
    """

    actor: str
    correlation_id: str
    occurred_on: date
    today: date

    def __post_init__(self) -> None:
        require_not_future(self.occurred_on, self.today, "occurred_on")

    def event_fields(self, reason: str | None = None) -> dict[str, object]:
        """The metadata fields every event records, with the command's reason if any."""
        return {
            "actor": self.actor,
            "correlation_id": self.correlation_id,
            "occurred_on": self.occurred_on,
            "reason": clean_reason(reason),
        }
