"""Value objects: phases, health, outcomes, territories, and the checks on plain values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.errors import (
    FutureDateError,
    InvalidTerritoryError,
    InvalidTitleError,
    NegativeValueError,
    ReasonRequiredError,
)

TITLE_MAX_LENGTH = 200


class Phase(StrEnum):
    """The phases of a transformation project, in order."""

    FRAMING = "framing"
    DISCOVERY = "discovery"
    IDEATION = "ideation"
    PROTOTYPING = "prototyping"
    EXPERIMENTATION = "experimentation"
    DEPLOYMENT = "deployment"
    SCALING = "scaling"

    @property
    def label(self) -> str:
        """The French label shown to lab staff."""
        return PHASE_LABELS[self]

    @property
    def rank(self) -> int:
        """0 for framing, 6 for scaling."""
        return PHASE_ORDER.index(self)

    def next(self) -> Phase | None:
        """The phase a `go` decision enters, or None after the last one."""
        position = self.rank + 1
        return PHASE_ORDER[position] if position < len(PHASE_ORDER) else None


PHASE_ORDER: tuple[Phase, ...] = tuple(Phase)

PHASE_LABELS: dict[Phase, str] = {
    Phase.FRAMING: "Cadrage",
    Phase.DISCOVERY: "Immersion et diagnostic",
    Phase.IDEATION: "Idéation",
    Phase.PROTOTYPING: "Prototypage",
    Phase.EXPERIMENTATION: "Expérimentation",
    Phase.DEPLOYMENT: "Déploiement",
    Phase.SCALING: "Essaimage",
}


class GateDecision(StrEnum):
    """The decision taken at a phase gate."""

    GO = "go"
    ITERATE = "iterate"


class Health(StrEnum):
    """How a project is doing, as last assessed."""

    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"


class Status(StrEnum):
    """Whether a project is running."""

    ACTIVE = "active"
    CLOSED = "closed"


class Outcome(StrEnum):
    """How a project ended."""

    DEPLOYED = "deployed"
    SCALED = "scaled"
    HANDED_OVER = "handed_over"
    ABANDONED = "abandoned"


class MilestoneStatus(StrEnum):
    """A milestone is planned, then achieved or cancelled."""

    PLANNED = "planned"
    ACHIEVED = "achieved"
    CANCELLED = "cancelled"


class ActivityKind(StrEnum):
    """The kinds of activity a lab logs, always with counts, never with names."""

    WORKSHOP = "workshop"
    TRAINING = "training"
    WEBINAR = "webinar"
    USER_TEST = "user_test"
    RESIDENCY = "residency"
    EVENT = "event"


class TerritoryLevel(StrEnum):
    """The INSEE COG levels a project can be placed on."""

    REGION = "region"
    DEPARTMENT = "department"
    EPCI = "epci"
    COMMUNE = "commune"


# INSEE COG code formats: regions "27", departments "21", "2A", "971", communes "21231",
# "2A004", "97105", EPCI by their 9-digit SIREN.
COG_CODE_PATTERNS: dict[TerritoryLevel, re.Pattern[str]] = {
    TerritoryLevel.REGION: re.compile(r"\d{2}"),
    TerritoryLevel.DEPARTMENT: re.compile(r"(?:0[1-9]|[1-8]\d|9[0-5]|2[AB]|97[1-6])"),
    TerritoryLevel.EPCI: re.compile(r"\d{9}"),
    TerritoryLevel.COMMUNE: re.compile(r"(?:\d{5}|2[AB]\d{3})"),
}
COG_FIRST_YEAR = 1943
COG_LAST_YEAR = 2100


@dataclass(frozen=True)
class Territory:
    """A place on the INSEE Code officiel géographique, with the COG year its code refers to."""

    level: str
    code: str
    cog_year: int

    def __post_init__(self) -> None:
        try:
            level = TerritoryLevel(self.level)
        except ValueError:
            raise InvalidTerritoryError(f"unknown territory level {self.level!r}") from None
        if not COG_CODE_PATTERNS[level].fullmatch(self.code):
            raise InvalidTerritoryError(f"{self.code!r} is not a {level.value} COG code")
        if not COG_FIRST_YEAR <= self.cog_year <= COG_LAST_YEAR:
            raise InvalidTerritoryError(f"COG year {self.cog_year} is out of range")

    def contains(self, other: Territory) -> bool:
        """True when `other` is this territory or lies in it (a department holds its communes)."""
        if self.level == other.level:
            return self.code == other.code
        if self.level == TerritoryLevel.DEPARTMENT and other.level == TerritoryLevel.COMMUNE:
            department_digits = 3 if self.code.startswith("97") else 2
            return other.code[:department_digits] == self.code
        return False


def clean_title(title: str) -> str:
    """Trim a title and check it holds 1 to 200 characters."""
    trimmed = title.strip()
    if not 1 <= len(trimmed) <= TITLE_MAX_LENGTH:
        raise InvalidTitleError(
            f"a title needs 1 to {TITLE_MAX_LENGTH} characters after trimming, got {len(trimmed)}"
        )
    return trimmed


def require_reason(reason: str | None, why: str) -> str:
    """Return the trimmed reason, or refuse the command when there is none."""
    if reason is None or not reason.strip():
        raise ReasonRequiredError(f"a reason is required {why}")
    return reason.strip()


def clean_reason(reason: str | None) -> str | None:
    """Trim an optional reason; blank means none."""
    if reason is None or not reason.strip():
        return None
    return reason.strip()


def require_non_negative(value: int | float, what: str) -> None:
    """Refuse negative counts and amounts."""
    if value < 0:
        raise NegativeValueError(f"{what} cannot be negative, got {value}")


def require_not_future(day: date, today: date, what: str) -> None:
    """Refuse business dates after today."""
    if day > today:
        raise FutureDateError(f"{what} {day.isoformat()} is after today ({today.isoformat()})")
