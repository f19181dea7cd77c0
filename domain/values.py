"""Value objects: phases, health, outcomes, territories, and the checks on plain values."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.errors import (
    FutureDateError,
    InvalidTerritoryError,
    InvalidTitleError,
    InvalidValueError,
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


class ActivityMode(StrEnum):
    """Where an activity took place: in the room, online, or both."""

    IN_PERSON = "in_person"
    REMOTE = "remote"
    HYBRID = "hybrid"


def default_activity_mode(kind: str) -> str | None:
    """The mode an activity logged without one has: a webinar is online by definition;
    for any other kind the mode was not recorded (None)."""
    return ActivityMode.REMOTE.value if kind == ActivityKind.WEBINAR.value else None


class TerritoryLevel(StrEnum):
    """The INSEE COG levels a project can be placed on."""

    REGION = "region"
    DEPARTMENT = "department"
    EPCI = "epci"
    COMMUNE = "commune"


def _code_set(codes: str) -> frozenset[str]:
    return frozenset(codes.split())


# INSEE COG code formats: regions "27", departments "21", "2A", "971", communes "21231",
# "2A004", "97105", EPCI by their SIREN (9 digits; local public bodies' SIRENs start with 2).
# Some codes depend on the COG year: Corsica was department 20 until its split into 2A and
# 2B (1976), Saint-Pierre-et-Miquelon (975) was a department from 1976 to 1985, Mayotte (976)
# is one since 2011, and the regions were redrawn in 2016.
COG_FIRST_YEAR = 1943
COG_LAST_YEAR = 2100
CORSICA_SPLIT_YEAR = 1976
REGIONS_REDRAWN_YEAR = 2016
MAINLAND_DEPARTMENTS = frozenset(f"{n:02d}" for n in range(1, 96) if n != 20)
REGIONS_BEFORE_2016 = _code_set(
    "01 02 03 04 11 21 22 23 24 25 26 31 41 42 43 52 53 54 72 73 74 82 83 91 93 94"
)
REGIONS_SINCE_2016 = _code_set("01 02 03 04 06 11 24 27 28 32 44 52 53 75 76 84 93 94")
MAYOTTE_YEAR = 2011
SAINT_PIERRE_DEPARTMENT_YEARS = range(1976, 1985)
COG_CODE_PATTERNS: dict[TerritoryLevel, re.Pattern[str]] = {
    TerritoryLevel.REGION: re.compile(r"\d{2}"),
    TerritoryLevel.DEPARTMENT: re.compile(r"\d{2}|2[AB]|97\d"),
    TerritoryLevel.EPCI: re.compile(r"2\d{8}"),
    TerritoryLevel.COMMUNE: re.compile(r"(?:\d{2}|2[AB])\d{3}"),
}


def regions_in(cog_year: int) -> frozenset[str]:
    """The region codes of the COG of `cog_year`."""
    if cog_year >= REGIONS_REDRAWN_YEAR:
        return REGIONS_SINCE_2016
    if cog_year >= MAYOTTE_YEAR:
        return REGIONS_BEFORE_2016 | {"06"}
    return REGIONS_BEFORE_2016


def departments_in(cog_year: int) -> frozenset[str]:
    """The department codes of the COG of `cog_year`."""
    codes = set(MAINLAND_DEPARTMENTS) | {"971", "972", "973", "974"}
    codes |= {"2A", "2B"} if cog_year >= CORSICA_SPLIT_YEAR else {"20"}
    if cog_year in SAINT_PIERRE_DEPARTMENT_YEARS:
        codes.add("975")
    if cog_year >= MAYOTTE_YEAR:
        codes.add("976")
    return frozenset(codes)


def department_of_commune(code: str) -> str:
    """The department a commune code belongs to: its first three characters overseas."""
    return code[:3] if code.startswith("97") else code[:2]


def _code_exists(level: TerritoryLevel, code: str, cog_year: int) -> bool:
    if level is TerritoryLevel.REGION:
        return code in regions_in(cog_year)
    if level is TerritoryLevel.DEPARTMENT:
        return code in departments_in(cog_year)
    if level is TerritoryLevel.COMMUNE:
        return department_of_commune(code) in departments_in(cog_year)
    return True  # an EPCI's SIREN carries no place in its digits


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
        if not isinstance(self.cog_year, int) or isinstance(self.cog_year, bool):
            raise InvalidTerritoryError(f"COG year {self.cog_year!r} is not a year")
        if not COG_FIRST_YEAR <= self.cog_year <= COG_LAST_YEAR:
            raise InvalidTerritoryError(f"COG year {self.cog_year} is out of range")
        if not COG_CODE_PATTERNS[level].fullmatch(self.code):
            raise InvalidTerritoryError(f"{self.code!r} is not a {level.value} COG code")
        if not _code_exists(level, self.code, self.cog_year):
            raise InvalidTerritoryError(
                f"{self.code!r} is not a {level.value} of the COG {self.cog_year}"
            )

    def contains(self, other: Territory) -> bool:
        """True when `other` is this territory or lies in it (a department holds its communes)."""
        if self.level == other.level:
            return self.code == other.code
        if self.level == TerritoryLevel.DEPARTMENT and other.level == TerritoryLevel.COMMUNE:
            return department_of_commune(other.code) == self.code
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


def require_count(value: int, what: str) -> None:
    """Refuse a count or an amount in cents that is not a non-negative whole number."""
    # bool is an int to Python, and a float would store fractions of a cent or a person.
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidValueError(f"{what} must be a whole number, got {value!r}")
    require_non_negative(value, what)


def require_finite(value: float, what: str) -> float:
    """Return `value` as a float, refusing NaN and infinities (they break comparisons and JSON)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidValueError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def require_not_future(day: date, today: date, what: str) -> None:
    """Refuse business dates after today."""
    if day > today:
        raise FutureDateError(f"{what} {day.isoformat()} is after today ({today.isoformat()})")


# -- the training programme ------------------------------------------------------------------


class TrainingFormat(StrEnum):
    """The formats of a lab's training actions."""

    TRAINING = "training"
    MODULE = "module"
    E_CONFERENCE = "e_conference"
    WORKSHOP = "workshop"
    WEBINAR = "webinar"
    NETWORK_MEETING = "network_meeting"
    DISCOVERY_DAY = "discovery_day"

    @property
    def label(self) -> str:
        """The French label shown to lab staff."""
        return TRAINING_FORMAT_LABELS[self]


TRAINING_FORMAT_LABELS: dict[TrainingFormat, str] = {
    TrainingFormat.TRAINING: "Formation",
    TrainingFormat.MODULE: "Module de formation",
    TrainingFormat.E_CONFERENCE: "E-conférence",
    TrainingFormat.WORKSHOP: "Atelier",
    TrainingFormat.WEBINAR: "Webinaire",
    TrainingFormat.NETWORK_MEETING: "Rencontre de réseau",
    TrainingFormat.DISCOVERY_DAY: "Journée découverte",
}

ACTIVITY_MODE_LABELS: dict[ActivityMode, str] = {
    ActivityMode.IN_PERSON: "En présentiel",
    ActivityMode.REMOTE: "À distance",
    ActivityMode.HYBRID: "Hybride",
}


class Audience(StrEnum):
    """The public agents a training action is open to, by employer."""

    STATE = "state"
    REGION = "region"
    DEPARTMENT = "department"
    COMMUNES_EPCI = "communes_epci"
    HOSPITALS = "hospitals"
    OTHER = "other"

    @property
    def label(self) -> str:
        """The French label shown to lab staff."""
        return AUDIENCE_LABELS[self]


AUDIENCE_LABELS: dict[Audience, str] = {
    Audience.STATE: "Services de l'État",
    Audience.REGION: "Région",
    Audience.DEPARTMENT: "Départements",
    Audience.COMMUNES_EPCI: "Communes et EPCI",
    Audience.HOSPITALS: "Établissements hospitaliers",
    Audience.OTHER: "Autres publics",
}


class TrainingStatus(StrEnum):
    """A training action is scheduled, then held or cancelled."""

    SCHEDULED = "scheduled"
    HELD = "held"
    CANCELLED = "cancelled"
