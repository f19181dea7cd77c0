"""The Project aggregate: a transformation project, its phases, milestones and activity.

Each command method checks the domain's rules, then triggers one event; the event's
mutation lives in `when`, registered beside the event class it applies.

Schema evolution. The event classes below are the schema of the stored log, and the
`Project` class's attributes are the schema of its snapshots. The rule: **never change a
stored event class (or the aggregate's state) without bumping its `class_version` and adding
the `upcast_vN_vN+1` static method** that turns the stored state of version N into that of
N+1. The library applies the upcasters when it reads an event or a snapshot (a state stored
without `class_version` is version 1); stored bytes are never rewritten. Changes so far:

- `ActivityLogged` v2 (and `Project` v2 for snapshots): activities record their `mode`
  (in person, remote, hybrid). Activities logged before it get the mode their kind implies
  (a webinar is remote) and None, "not recorded", otherwise.
- `Project` v3 for snapshots: the aggregate keeps the business dates its timeline rules
  compare with (`_dated`: the last phase entry, the current health's date, each
  milestone's, partner's and indicator's last dated change). A v2 snapshot gets none of
  them: the rules then compare with the project's start only, until the next change.

The business timeline (docs/time.md). Every event carries its business date
`occurred_on`. The command methods refuse dates that make no sense (named
`TimelineError`s): nothing before the project's start (the registration itself is dated on
`started_on`), phase entries, closings and reopenings in order, a milestone's plan,
reschedules and ending in order, a partner leaving after joining, an indicator measured
after its definition. These checks live in the command methods only: the mutators never
refuse a stored event, so stores written before the rules still replay.
Facts that are points in time (health assessments, measurements, activities) may be
logged late: the one with the latest business date is the current one (ties: the later
recorded), in the aggregate as in the read models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import singledispatchmethod
from typing import Any, cast
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.errors import (
    DatedBeforeStartError,
    IndicatorNotFoundError,
    InvalidValueError,
    MeasuredBeforeDefinedError,
    MilestoneNotFoundError,
    MilestoneNotPlannedError,
    MilestoneOutOfOrderError,
    NotAnEarlierPhaseError,
    PartnerAlreadyJoinedError,
    PartnerLeftBeforeJoiningError,
    PartnerNotFoundError,
    PhaseOutOfOrderError,
    PhaseSkippedError,
    ProjectClosedError,
    ProjectNotClosedError,
    RescheduleToSameDateError,
)
from domain.meta import Meta
from domain.values import (
    ActivityKind,
    ActivityMode,
    GateDecision,
    Health,
    MilestoneStatus,
    Outcome,
    Phase,
    Status,
    Territory,
    clean_title,
    default_activity_mode,
    require_count,
    require_finite,
    require_not_future,
    require_reason,
)

FISCAL_YEAR_RANGE = range(2000, 2101)
SUMMARY_MAX_LENGTH = 5000
TEXT_MAX_LENGTH = 2000


@dataclass
class Milestone:
    """A dated step of a project: planned, then achieved or cancelled."""

    milestone_id: str
    title: str
    phase: str
    due_on: date
    status: str = MilestoneStatus.PLANNED.value
    achieved_on: date | None = None
    reschedules: int = 0
    days_slipped: int = 0


@dataclass
class Partner:
    """An organisation working with the project (never a person)."""

    partner_id: str
    name: str
    role: str


@dataclass
class Indicator:
    """A measure of the project's effect, with its latest measurement."""

    indicator_id: str
    name: str
    unit: str
    baseline: float
    target: float
    value: float | None = None
    measured_on: date | None = None


@dataclass
class Activity:
    """A workshop, training, webinar… with its participant count."""

    activity_id: str
    kind: str
    title: str
    held_on: date
    participants: int
    mode: str | None = None  # None: logged before modes were recorded


@dataclass
class Decision:
    """A decision recorded with its rationale."""

    decision_id: str
    title: str
    decision: str
    rationale: str


@dataclass
class Funding:
    """Money committed to the project, in euro cents."""

    funding_id: str
    source: str
    amount_cents: int
    fiscal_year: int


def _new_id() -> str:
    return str(uuid4())


def _clean_text(text: str, what: str, max_length: int = TEXT_MAX_LENGTH) -> str:
    trimmed = text.strip()
    if len(trimmed) > max_length:
        raise InvalidValueError(f"{what} is longer than {max_length} characters")
    return trimmed


def _clean_labels(labels: list[str], what: str) -> list[str]:
    cleaned: list[str] = []
    for label in labels:
        trimmed = label.strip()
        if not 1 <= len(trimmed) <= 100:
            raise InvalidValueError(f"each of {what} needs 1 to 100 characters")
        if trimmed not in cleaned:
            cleaned.append(trimmed)
    return cleaned


class Project(Aggregate):
    """A project of a lab's portfolio."""

    # The version of the snapshot state: see "Schema evolution" at the top of this module.
    class_version = 3

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Snapshots before activity modes: give each webinar the mode its events now get."""
        for activity in state.get("activities", []):
            if activity.mode is None:
                activity.mode = default_activity_mode(activity.kind)

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        """Snapshots before the timeline rules: no business dates known but the start."""
        state["_dated"] = {}

    class Event(Aggregate.Event):
        """Every project event records who, in which request, when, and why."""

        actor: str
        correlation_id: str
        occurred_on: date
        reason: str | None

        def apply(self, aggregate: Aggregate) -> None:
            cast(Project, aggregate).when(self)

    # -- registration -------------------------------------------------------------------

    class ProjectRegistered(Aggregate.Created):
        lab: str
        title: str
        summary: str
        themes: list[str]
        territories: list[Territory]
        started_on: date
        actor: str
        correlation_id: str
        occurred_on: date
        reason: str | None

    def __init__(
        self,
        lab: str,
        title: str,
        summary: str,
        themes: list[str],
        territories: list[Territory],
        started_on: date,
        actor: str,
        correlation_id: str,
        occurred_on: date,
        reason: str | None,
    ) -> None:
        self.lab = lab
        self.title = title
        self.summary = summary
        self.themes = list(themes)
        self.territories = list(territories)
        self.started_on = started_on
        self.registered_on = occurred_on
        self._phase = Phase.FRAMING.value
        self._health = Health.ON_TRACK.value
        self._status = Status.ACTIVE.value
        self._outcome: str | None = None
        self.closed_on: date | None = None
        self.milestones: dict[str, Milestone] = {}
        self.partners: dict[str, Partner] = {}
        self.indicators: dict[str, Indicator] = {}
        self.activities: list[Activity] = []
        self.decisions: list[Decision] = []
        self.funding: list[Funding] = []
        # Business dates the timeline rules compare with: "phase" (the last phase entry,
        # closing or reopening), "health" (the current assessment's), and per entity
        # ("milestone:<id>", "partner:<id>", "indicator:<id>") its last dated change.
        self._dated: dict[str, date] = {"phase": occurred_on}

    @classmethod
    def register(
        cls,
        lab: str,
        title: str,
        summary: str,
        themes: list[str],
        territories: list[Territory],
        started_on: date,
        meta: Meta,
        project_id: UUID | None = None,
    ) -> Project:
        """Register a new project in a lab's portfolio; it starts in the framing phase.

        The registration is dated on the project's start, whatever day it is entered: the
        project is in the portfolio from `started_on` on (docs/time.md).
        """
        require_not_future(started_on, meta.today, "started_on")
        fields = meta.event_fields() | {"occurred_on": started_on}
        return cls._create(
            cls.ProjectRegistered,
            id=project_id or uuid4(),
            lab=lab,
            title=clean_title(title),
            summary=_clean_text(summary, "the summary", SUMMARY_MAX_LENGTH),
            themes=_clean_labels(themes, "the themes"),
            territories=list(territories),
            started_on=started_on,
            **fields,
        )

    # -- typed views of the state ------------------------------------------------------

    @property
    def phase(self) -> Phase:
        return Phase(self._phase)

    @property
    def health(self) -> Health:
        return Health(self._health)

    @property
    def status(self) -> Status:
        return Status(self._status)

    @property
    def outcome(self) -> Outcome | None:
        return Outcome(self._outcome) if self._outcome else None

    @property
    def is_closed(self) -> bool:
        return self.status is Status.CLOSED

    @singledispatchmethod
    def when(self, event: Event) -> None:
        """Apply an event to the state; the created event is applied by `__init__`."""

    def _require_open(self) -> None:
        if self.is_closed:
            raise ProjectClosedError(f"project {self.id} is closed: only reopen is accepted")

    # -- the business timeline (docs/time.md) ------------------------------------------------

    def _require_started(self, day: date, what: str = "occurred_on") -> None:
        """Refuse a business date before the project's start."""
        if day < self.started_on:
            raise DatedBeforeStartError(
                f"{what} {day.isoformat()} is before the project's start"
                f" ({self.started_on.isoformat()})"
            )

    def _require_after(self, key: str, day: date, error: type[Exception], what: str) -> None:
        """Refuse `day` before the last dated change of `key`, if one is known."""
        last = self._dated.get(key)
        if last is not None and day < last:
            raise error(f"{what} is dated {day.isoformat()}, before {last.isoformat()}")

    def _require_phase_in_order(self, meta: Meta, what: str) -> None:
        self._require_started(meta.occurred_on)
        self._require_after(
            "phase", meta.occurred_on, PhaseOutOfOrderError, f"{what} (the last phase change)"
        )

    def _require_milestone_in_order(self, milestone_id: str, meta: Meta, what: str) -> None:
        self._require_started(meta.occurred_on)
        self._require_after(
            f"milestone:{milestone_id}",
            meta.occurred_on,
            MilestoneOutOfOrderError,
            f"{what} of milestone {milestone_id} (its last change)",
        )

    # -- details -------------------------------------------------------------------------

    class DetailsRevised(Event):
        title: str | None
        summary: str | None
        themes: list[str] | None
        territories: list[Territory] | None

    def revise_details(
        self,
        meta: Meta,
        title: str | None = None,
        summary: str | None = None,
        themes: list[str] | None = None,
        territories: list[Territory] | None = None,
        reason: str | None = None,
    ) -> None:
        """Revise the title, summary, themes or territories (None leaves one unchanged)."""
        self._require_open()
        self._require_started(meta.occurred_on)
        if title is None and summary is None and themes is None and territories is None:
            raise InvalidValueError(
                "nothing to revise: give a title, summary, themes or territories"
            )
        self.trigger_event(
            self.DetailsRevised,
            title=clean_title(title) if title is not None else None,
            summary=_clean_text(summary, "the summary", SUMMARY_MAX_LENGTH)
            if summary is not None
            else None,
            themes=_clean_labels(themes, "the themes") if themes is not None else None,
            territories=list(territories) if territories is not None else None,
            **meta.event_fields(reason),
        )

    @when.register(DetailsRevised)
    def _(self, event: DetailsRevised) -> None:
        if event.title is not None:
            self.title = event.title
        if event.summary is not None:
            self.summary = event.summary
        if event.themes is not None:
            self.themes = list(event.themes)
        if event.territories is not None:
            self.territories = list(event.territories)

    # -- phases ------------------------------------------------------------------------

    class PhaseEntered(Event):
        phase: str
        previous_phase: str
        decision: str

    def enter_phase(
        self, phase: Phase, decision: GateDecision, meta: Meta, reason: str | None = None
    ) -> None:
        """Pass a phase gate: `go` enters the next phase, `iterate` returns to an earlier one."""
        self._require_open()
        self._require_phase_in_order(meta, "this phase entry")
        current = self.phase
        if decision is GateDecision.GO:
            if phase is not current.next():
                expected = current.next()
                raise PhaseSkippedError(
                    f"go from {current.value} enters "
                    + (expected.value if expected else "nothing: it is the last phase")
                    + f", not {phase.value}"
                )
        else:
            if phase.rank >= current.rank:
                raise NotAnEarlierPhaseError(
                    f"iterate must return to a phase before {current.value}, not {phase.value}"
                )
            reason = require_reason(reason, "to iterate back to an earlier phase")
        self.trigger_event(
            self.PhaseEntered,
            phase=phase.value,
            previous_phase=current.value,
            decision=decision.value,
            **meta.event_fields(reason),
        )

    @when.register(PhaseEntered)
    def _(self, event: PhaseEntered) -> None:
        self._phase = event.phase
        self._dated["phase"] = event.occurred_on

    # -- health ------------------------------------------------------------------------

    class HealthAssessed(Event):
        health: str

    def assess_health(self, health: Health, meta: Meta, reason: str | None = None) -> None:
        """Record how the project is doing on a day; an assessment logged late does not
        replace one of a later day (the latest by business date is the current one)."""
        self._require_open()
        self._require_started(meta.occurred_on)
        self.trigger_event(self.HealthAssessed, health=health.value, **meta.event_fields(reason))

    @when.register(HealthAssessed)
    def _(self, event: HealthAssessed) -> None:
        current = self._dated.get("health")
        if current is None or event.occurred_on >= current:
            self._health = event.health
            self._dated["health"] = event.occurred_on

    # -- milestones --------------------------------------------------------------------

    class MilestonePlanned(Event):
        milestone_id: str
        title: str
        due_on: date
        phase: str

    def plan_milestone(
        self,
        title: str,
        due_on: date,
        phase: Phase,
        meta: Meta,
        milestone_id: str | None = None,
        reason: str | None = None,
    ) -> str:
        """Plan a milestone due on a date, in a phase; returns its id."""
        self._require_open()
        self._require_started(meta.occurred_on)
        self._require_started(due_on, "due_on")
        new_id = milestone_id or _new_id()
        self.trigger_event(
            self.MilestonePlanned,
            milestone_id=new_id,
            title=clean_title(title),
            due_on=due_on,
            phase=phase.value,
            **meta.event_fields(reason),
        )
        return new_id

    @when.register(MilestonePlanned)
    def _(self, event: MilestonePlanned) -> None:
        self.milestones[event.milestone_id] = Milestone(
            milestone_id=event.milestone_id,
            title=event.title,
            phase=event.phase,
            due_on=event.due_on,
        )
        self._dated[f"milestone:{event.milestone_id}"] = event.occurred_on

    def _planned_milestone(self, milestone_id: str) -> Milestone:
        try:
            milestone = self.milestones[milestone_id]
        except KeyError:
            raise MilestoneNotFoundError(f"no milestone {milestone_id} in this project") from None
        if milestone.status != MilestoneStatus.PLANNED:
            raise MilestoneNotPlannedError(
                f"milestone {milestone_id} is {milestone.status}: it can no longer change"
            )
        return milestone

    class MilestoneRescheduled(Event):
        milestone_id: str
        previous_due_on: date
        due_on: date

    def reschedule_milestone(
        self, milestone_id: str, due_on: date, meta: Meta, reason: str | None
    ) -> None:
        """Move a planned milestone to another date, saying why."""
        self._require_open()
        milestone = self._planned_milestone(milestone_id)
        self._require_milestone_in_order(milestone_id, meta, "this reschedule")
        self._require_started(due_on, "due_on")
        if due_on == milestone.due_on:
            raise RescheduleToSameDateError(f"milestone {milestone_id} is due on {due_on} already")
        reason = require_reason(reason, "to reschedule a milestone")
        self.trigger_event(
            self.MilestoneRescheduled,
            milestone_id=milestone_id,
            previous_due_on=milestone.due_on,
            due_on=due_on,
            **meta.event_fields(reason),
        )

    @when.register(MilestoneRescheduled)
    def _(self, event: MilestoneRescheduled) -> None:
        milestone = self.milestones[event.milestone_id]
        milestone.due_on = event.due_on
        milestone.reschedules += 1
        milestone.days_slipped += (event.due_on - event.previous_due_on).days
        self._dated[f"milestone:{event.milestone_id}"] = event.occurred_on

    class MilestoneAchieved(Event):
        milestone_id: str
        achieved_on: date
        evidence: str

    def achieve_milestone(
        self,
        milestone_id: str,
        achieved_on: date,
        evidence: str,
        meta: Meta,
        reason: str | None = None,
    ) -> None:
        """Mark a planned milestone achieved, with evidence."""
        self._require_open()
        self._planned_milestone(milestone_id)
        require_not_future(achieved_on, meta.today, "achieved_on")
        self._require_milestone_in_order(milestone_id, meta, "this achievement")
        self._require_started(achieved_on, "achieved_on")
        self.trigger_event(
            self.MilestoneAchieved,
            milestone_id=milestone_id,
            achieved_on=achieved_on,
            evidence=_clean_text(evidence, "the evidence"),
            **meta.event_fields(reason),
        )

    @when.register(MilestoneAchieved)
    def _(self, event: MilestoneAchieved) -> None:
        milestone = self.milestones[event.milestone_id]
        milestone.status = MilestoneStatus.ACHIEVED.value
        milestone.achieved_on = event.achieved_on
        self._dated[f"milestone:{event.milestone_id}"] = event.occurred_on

    class MilestoneCancelled(Event):
        milestone_id: str

    def cancel_milestone(self, milestone_id: str, meta: Meta, reason: str | None) -> None:
        """Cancel a planned milestone, saying why."""
        self._require_open()
        self._planned_milestone(milestone_id)
        self._require_milestone_in_order(milestone_id, meta, "this cancellation")
        reason = require_reason(reason, "to cancel a milestone")
        self.trigger_event(
            self.MilestoneCancelled, milestone_id=milestone_id, **meta.event_fields(reason)
        )

    @when.register(MilestoneCancelled)
    def _(self, event: MilestoneCancelled) -> None:
        self.milestones[event.milestone_id].status = MilestoneStatus.CANCELLED.value
        self._dated[f"milestone:{event.milestone_id}"] = event.occurred_on

    # -- partners ------------------------------------------------------------------------

    class PartnerJoined(Event):
        partner_id: str
        name: str
        role: str

    def add_partner(
        self,
        name: str,
        role: str,
        meta: Meta,
        partner_id: str | None = None,
        reason: str | None = None,
    ) -> str:
        """Record an organisation joining the project; returns the partner's id."""
        self._require_open()
        self._require_started(meta.occurred_on)
        name = clean_title(name)
        if any(p.name.casefold() == name.casefold() for p in self.partners.values()):
            raise PartnerAlreadyJoinedError(f"{name!r} is a partner already")
        new_id = partner_id or _new_id()
        self.trigger_event(
            self.PartnerJoined,
            partner_id=new_id,
            name=name,
            role=clean_title(role),
            **meta.event_fields(reason),
        )
        return new_id

    @when.register(PartnerJoined)
    def _(self, event: PartnerJoined) -> None:
        self.partners[event.partner_id] = Partner(event.partner_id, event.name, event.role)
        self._dated[f"partner:{event.partner_id}"] = event.occurred_on

    class PartnerLeft(Event):
        partner_id: str

    def remove_partner(self, partner_id: str, meta: Meta, reason: str | None = None) -> None:
        """Record a partner leaving the project."""
        self._require_open()
        if partner_id not in self.partners:
            raise PartnerNotFoundError(f"no current partner {partner_id} in this project")
        self._require_after(
            f"partner:{partner_id}",
            meta.occurred_on,
            PartnerLeftBeforeJoiningError,
            f"partner {partner_id} leaving (it joined then)",
        )
        self.trigger_event(self.PartnerLeft, partner_id=partner_id, **meta.event_fields(reason))

    @when.register(PartnerLeft)
    def _(self, event: PartnerLeft) -> None:
        del self.partners[event.partner_id]
        self._dated.pop(f"partner:{event.partner_id}", None)

    # -- indicators ----------------------------------------------------------------------

    class IndicatorDefined(Event):
        indicator_id: str
        name: str
        unit: str
        baseline: float
        target: float

    def define_indicator(
        self,
        name: str,
        unit: str,
        baseline: float,
        target: float,
        meta: Meta,
        indicator_id: str | None = None,
        reason: str | None = None,
    ) -> str:
        """Define an indicator with its baseline and target; returns its id."""
        self._require_open()
        self._require_started(meta.occurred_on)
        new_id = indicator_id or _new_id()
        self.trigger_event(
            self.IndicatorDefined,
            indicator_id=new_id,
            name=clean_title(name),
            unit=_clean_text(unit, "the unit", 50),
            baseline=require_finite(baseline, "the baseline"),
            target=require_finite(target, "the target"),
            **meta.event_fields(reason),
        )
        return new_id

    @when.register(IndicatorDefined)
    def _(self, event: IndicatorDefined) -> None:
        self.indicators[event.indicator_id] = Indicator(
            event.indicator_id, event.name, event.unit, event.baseline, event.target
        )
        self._dated[f"indicator:{event.indicator_id}"] = event.occurred_on

    class IndicatorMeasured(Event):
        indicator_id: str
        value: float
        measured_on: date

    def measure_indicator(
        self,
        indicator_id: str,
        value: float,
        measured_on: date,
        meta: Meta,
        reason: str | None = None,
    ) -> None:
        """Record a measurement of an indicator."""
        self._require_open()
        if indicator_id not in self.indicators:
            raise IndicatorNotFoundError(f"no indicator {indicator_id} in this project")
        require_not_future(measured_on, meta.today, "measured_on")
        self._require_started(meta.occurred_on)
        self._require_started(measured_on, "measured_on")
        self._require_after(
            f"indicator:{indicator_id}",
            meta.occurred_on,
            MeasuredBeforeDefinedError,
            f"this measurement of indicator {indicator_id} (its definition)",
        )
        self.trigger_event(
            self.IndicatorMeasured,
            indicator_id=indicator_id,
            value=require_finite(value, "the value"),
            measured_on=measured_on,
            **meta.event_fields(reason),
        )

    @when.register(IndicatorMeasured)
    def _(self, event: IndicatorMeasured) -> None:
        indicator = self.indicators[event.indicator_id]
        if indicator.measured_on is None or event.measured_on >= indicator.measured_on:
            indicator.value = event.value
            indicator.measured_on = event.measured_on

    # -- activities, decisions, funding ----------------------------------------------------

    class ActivityLogged(Event):
        activity_id: str
        kind: str
        title: str
        held_on: date
        participants: int
        mode: str | None

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 had no `mode`: a webinar was remote; for other kinds it is not known."""
            state["mode"] = default_activity_mode(state["kind"])

    def log_activity(
        self,
        kind: ActivityKind,
        title: str,
        held_on: date,
        participants: int,
        meta: Meta,
        activity_id: str | None = None,
        reason: str | None = None,
        mode: ActivityMode | None = None,
    ) -> str:
        """Log a workshop, training, webinar… with its participant count; returns its id."""
        self._require_open()
        require_not_future(held_on, meta.today, "held_on")
        self._require_started(meta.occurred_on)
        self._require_started(held_on, "held_on")
        require_count(participants, "participants")
        new_id = activity_id or _new_id()
        self.trigger_event(
            self.ActivityLogged,
            activity_id=new_id,
            kind=kind.value,
            title=clean_title(title),
            held_on=held_on,
            participants=participants,
            mode=mode.value if mode is not None else default_activity_mode(kind.value),
            **meta.event_fields(reason),
        )
        return new_id

    @when.register(ActivityLogged)
    def _(self, event: ActivityLogged) -> None:
        self.activities.append(
            Activity(
                event.activity_id,
                event.kind,
                event.title,
                event.held_on,
                event.participants,
                event.mode,
            )
        )

    class DecisionRecorded(Event):
        decision_id: str
        title: str
        decision: str
        rationale: str

    def record_decision(
        self,
        title: str,
        decision: str,
        rationale: str,
        meta: Meta,
        decision_id: str | None = None,
        reason: str | None = None,
    ) -> str:
        """Record a decision with its rationale; returns its id."""
        self._require_open()
        self._require_started(meta.occurred_on)
        new_id = decision_id or _new_id()
        self.trigger_event(
            self.DecisionRecorded,
            decision_id=new_id,
            title=clean_title(title),
            decision=_clean_text(decision, "the decision"),
            rationale=_clean_text(rationale, "the rationale"),
            **meta.event_fields(reason),
        )
        return new_id

    @when.register(DecisionRecorded)
    def _(self, event: DecisionRecorded) -> None:
        self.decisions.append(
            Decision(event.decision_id, event.title, event.decision, event.rationale)
        )

    class FundingCommitted(Event):
        funding_id: str
        source: str
        amount_cents: int
        fiscal_year: int

    def commit_funding(
        self,
        source: str,
        amount_cents: int,
        fiscal_year: int,
        meta: Meta,
        funding_id: str | None = None,
        reason: str | None = None,
    ) -> str:
        """Record money committed to the project, in euro cents; returns its id."""
        self._require_open()
        self._require_started(meta.occurred_on)
        require_count(amount_cents, "amount_cents")
        if isinstance(fiscal_year, bool) or fiscal_year not in FISCAL_YEAR_RANGE:
            raise InvalidValueError(f"fiscal year {fiscal_year} is out of range")
        new_id = funding_id or _new_id()
        self.trigger_event(
            self.FundingCommitted,
            funding_id=new_id,
            source=clean_title(source),
            amount_cents=amount_cents,
            fiscal_year=fiscal_year,
            **meta.event_fields(reason),
        )
        return new_id

    @when.register(FundingCommitted)
    def _(self, event: FundingCommitted) -> None:
        self.funding.append(
            Funding(event.funding_id, event.source, event.amount_cents, event.fiscal_year)
        )

    # -- closing -------------------------------------------------------------------------

    class ProjectClosed(Event):
        outcome: str
        phase: str

    def close(self, outcome: Outcome, meta: Meta, reason: str | None) -> None:
        """Close the project with its outcome, from any phase."""
        self._require_open()
        self._require_phase_in_order(meta, "this closing")
        reason = require_reason(reason, "to close a project")
        self.trigger_event(
            self.ProjectClosed,
            outcome=outcome.value,
            phase=self._phase,
            **meta.event_fields(reason),
        )

    @when.register(ProjectClosed)
    def _(self, event: ProjectClosed) -> None:
        self._status = Status.CLOSED.value
        self._outcome = event.outcome
        self.closed_on = event.occurred_on
        self._dated["phase"] = event.occurred_on

    class ProjectReopened(Event):
        phase: str

    def reopen(self, meta: Meta, reason: str | None) -> None:
        """Reopen a closed project in the phase it was closed in."""
        if not self.is_closed:
            raise ProjectNotClosedError(f"project {self.id} is not closed")
        self._require_phase_in_order(meta, "this reopening")
        reason = require_reason(reason, "to reopen a project")
        self.trigger_event(self.ProjectReopened, phase=self._phase, **meta.event_fields(reason))

    @when.register(ProjectReopened)
    def _(self, event: ProjectReopened) -> None:
        self._status = Status.ACTIVE.value
        self._outcome = None
        self.closed_on = None
        self._phase = event.phase
        self._dated["phase"] = event.occurred_on

    # -- views ---------------------------------------------------------------------------

    def next_milestone(self) -> Milestone | None:
        """The planned milestone due first, if any."""
        planned = [m for m in self.milestones.values() if m.status == MilestoneStatus.PLANNED]
        return min(planned, key=lambda m: (m.due_on, m.milestone_id), default=None)

    def as_dict(self) -> dict[str, Any]:
        """The current state as plain data (the REST API's and the audit's view)."""
        return {
            "id": str(self.id),
            "version": self.version,
            "lab": self.lab,
            "title": self.title,
            "summary": self.summary,
            "themes": list(self.themes),
            "territories": [
                {"level": t.level, "code": t.code, "cog_year": t.cog_year} for t in self.territories
            ],
            "started_on": self.started_on.isoformat(),
            "phase": self._phase,
            "phase_label": self.phase.label,
            "health": self._health,
            "status": self._status,
            "outcome": self._outcome,
            "closed_on": self.closed_on.isoformat() if self.closed_on else None,
            "milestones": [_plain(m) for m in self.milestones.values()],
            "partners": [_plain(p) for p in self.partners.values()],
            "indicators": [_plain(i) for i in self.indicators.values()],
            "activities": [_plain(a) for a in self.activities],
            "decisions": [_plain(d) for d in self.decisions],
            "funding": [_plain(f) for f in self.funding],
            "created_on": self.created_on.isoformat(),
            "modified_on": self.modified_on.isoformat(),
        }


def _plain(entity: object) -> dict[str, Any]:
    values = dict(vars(entity))
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}
