"""The TrainingAction aggregate: a lab's training, workshop, e-conference… for public agents.

A training action is scheduled, then held (with its attendance: a count, by audience when
known, never names) or cancelled (with a reason). Until then it can be rescheduled, with a
reason, and every reschedule is kept (`reschedules`), as a milestone's slips are.

Rules the commands cannot check here, because they need other aggregates (the lab exists,
the campaign exists, the projects belong to the lab), are checked by the commands of
tracker/application/commands.py before the domain method runs. A campaign's period is not
enforced on the sessions: an action may prepare or follow up a campaign (docs/training.md).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from functools import singledispatchmethod
from typing import Any, cast
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.errors import (
    AttendanceAboveCapacityError,
    AttendanceByAudienceError,
    DatesOutOfOrderError,
    InvalidValueError,
    PlaceRequiredError,
    RescheduleToSameDatesError,
    SessionRequiredError,
    TrainingCancelledError,
    TrainingHeldError,
)
from domain.meta import Meta
from domain.values import (
    ActivityMode,
    Audience,
    Territory,
    TerritoryLevel,
    TrainingFormat,
    TrainingStatus,
    clean_reason,
    clean_title,
    require_count,
    require_not_future,
    require_reason,
)

SESSIONS_MAX = 50
REFERENCE_MAX_LENGTH = 100
LABEL_MAX_LENGTH = 200


@dataclass
class Reschedule:
    """One move of an action's sessions: from which dates, to which, when and why."""

    previous_dates: list[date]
    session_dates: list[date]
    rescheduled_on: date
    reason: str


def clean_sessions(session_dates: list[date]) -> list[date]:
    """One to 50 session dates, each after the one before."""
    if not session_dates:
        raise SessionRequiredError("a training action needs at least one session")
    if len(session_dates) > SESSIONS_MAX:
        raise InvalidValueError(f"a training action has at most {SESSIONS_MAX} sessions")
    for before, after in itertools.pairwise(session_dates):
        if after <= before:
            raise DatesOutOfOrderError(
                f"the sessions must follow each other: {after.isoformat()} comes after "
                f"{before.isoformat()}"
            )
    return list(session_dates)


def clean_place(mode: str, place: Territory | None) -> Territory | None:
    """A commune for an action in the room (in person or hybrid); none for a remote one."""
    if ActivityMode(mode) is ActivityMode.REMOTE:
        if place is not None:
            raise PlaceRequiredError("a remote action has no place")
        return None
    if place is None:
        raise PlaceRequiredError(f"an action {mode} needs a place (a commune's COG code)")
    if place.level != TerritoryLevel.COMMUNE:
        raise PlaceRequiredError("the place of an action is a commune")
    return place


def clean_names(names: list[str], what: str) -> list[str]:
    """Trimmed, distinct names of 1 to 200 characters (organisations, never people)."""
    cleaned: list[str] = []
    for name in names:
        trimmed = name.strip()
        if not 1 <= len(trimmed) <= LABEL_MAX_LENGTH:
            raise InvalidValueError(f"each of {what} needs 1 to {LABEL_MAX_LENGTH} characters")
        if trimmed not in cleaned:
            cleaned.append(trimmed)
    return cleaned


def clean_audiences(audiences: list[str]) -> list[str]:
    """Distinct audiences, in the order of `Audience`."""
    try:
        chosen = {Audience(a) for a in audiences}
    except ValueError:
        raise InvalidValueError(f"unknown audience among {audiences!r}") from None
    return [a.value for a in Audience if a in chosen]


def clean_capacity(capacity: int | None) -> int | None:
    """No capacity, or a positive whole number of seats."""
    if capacity is None:
        return None
    require_count(capacity, "the capacity")
    if capacity == 0:
        raise InvalidValueError("a capacity is at least 1 seat")
    return capacity


def clean_reference(reference: str | None) -> str | None:
    """An optional registration reference (e.g. CNFPT's `L3C10001`)."""
    if reference is None or not reference.strip():
        return None
    trimmed = reference.strip()
    if len(trimmed) > REFERENCE_MAX_LENGTH:
        raise InvalidValueError(
            f"a registration reference has at most {REFERENCE_MAX_LENGTH} characters"
        )
    return trimmed


class TrainingAction(Aggregate):
    """A training action of a lab: its sessions, mode, place, audiences and attendance."""

    class Event(Aggregate.Event):
        """Every training event records who, in which request, when, and why."""

        actor: str
        correlation_id: str
        occurred_on: date
        reason: str | None

        def apply(self, aggregate: Aggregate) -> None:
            cast(TrainingAction, aggregate).when(self)

    # -- scheduling ----------------------------------------------------------------------

    class TrainingScheduled(Aggregate.Created):
        lab: str
        title: str
        format: str
        session_dates: list[date]
        mode: str
        place: Territory | None
        partners: list[str]
        registration_ref: str | None
        audiences: list[str]
        capacity: int | None
        project_ids: list[str]
        campaign: str | None
        actor: str
        correlation_id: str
        occurred_on: date
        reason: str | None

    def __init__(
        self,
        lab: str,
        title: str,
        format: str,
        session_dates: list[date],
        mode: str,
        place: Territory | None,
        partners: list[str],
        registration_ref: str | None,
        audiences: list[str],
        capacity: int | None,
        project_ids: list[str],
        campaign: str | None,
        actor: str,
        correlation_id: str,
        occurred_on: date,
        reason: str | None,
    ) -> None:
        self.lab = lab
        self.title = title
        self.format = format
        self.session_dates = list(session_dates)
        self.mode = mode
        self.place = place
        self.partners = list(partners)
        self.registration_ref = registration_ref
        self.audiences = list(audiences)
        self.capacity = capacity
        self.project_ids = list(project_ids)
        self.campaign = campaign
        self.scheduled_on = occurred_on
        self.status = TrainingStatus.SCHEDULED.value
        self.attendance: int | None = None
        self.attendance_by_audience: dict[str, int] = {}
        self.held_on: date | None = None
        self.cancelled_on: date | None = None
        self.cancel_reason: str | None = None
        self.reschedules: list[Reschedule] = []

    @classmethod
    def schedule(
        cls,
        lab: str,
        title: str,
        format: TrainingFormat,
        session_dates: list[date],
        mode: ActivityMode,
        meta: Meta,
        place: Territory | None = None,
        partners: list[str] | None = None,
        registration_ref: str | None = None,
        audiences: list[str] | None = None,
        capacity: int | None = None,
        project_ids: list[str] | None = None,
        campaign: str | None = None,
        training_id: UUID | None = None,
        reason: str | None = None,
    ) -> TrainingAction:
        """Schedule a training action of `lab` on one or more session dates."""
        return cls._create(
            cls.TrainingScheduled,
            id=training_id or uuid4(),
            lab=lab,
            title=clean_title(title),
            format=TrainingFormat(format).value,
            session_dates=clean_sessions(session_dates),
            mode=ActivityMode(mode).value,
            place=clean_place(mode, place),
            partners=clean_names(partners or [], "the partners"),
            registration_ref=clean_reference(registration_ref),
            audiences=clean_audiences(audiences or []),
            capacity=clean_capacity(capacity),
            project_ids=list(dict.fromkeys(project_ids or [])),
            campaign=campaign,
            **meta.event_fields(reason),
        )

    # -- typed views of the state ----------------------------------------------------------

    @property
    def training_status(self) -> TrainingStatus:
        return TrainingStatus(self.status)

    @property
    def first_session(self) -> date:
        return self.session_dates[0]

    @singledispatchmethod
    def when(self, event: Event) -> None:
        """Apply an event to the state; the created event is applied by `__init__`."""

    def _require_scheduled(self, doing: str) -> None:
        if self.status == TrainingStatus.HELD.value:
            raise TrainingHeldError(f"training action {self.id} was held: it cannot be {doing}")
        if self.status == TrainingStatus.CANCELLED.value:
            raise TrainingCancelledError(
                f"training action {self.id} was cancelled: it cannot be {doing}"
            )

    # -- details ---------------------------------------------------------------------------

    class DetailsRevised(Event):
        title: str | None
        partners: list[str] | None
        audiences: list[str] | None
        capacity: int | None
        project_ids: list[str] | None
        campaign: str | None

    def revise_details(
        self,
        meta: Meta,
        title: str | None = None,
        partners: list[str] | None = None,
        audiences: list[str] | None = None,
        capacity: int | None = None,
        project_ids: list[str] | None = None,
        campaign: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Revise the title, partners, audiences, capacity, projects or campaign (None leaves
        one unchanged); a cancelled action no longer changes."""
        if self.status == TrainingStatus.CANCELLED.value:
            raise TrainingCancelledError(
                f"training action {self.id} was cancelled: it cannot be revised"
            )
        values = (title, partners, audiences, capacity, project_ids, campaign)
        if all(value is None for value in values):
            raise InvalidValueError(
                "nothing to revise: give a title, partners, audiences, capacity, projects "
                "or a campaign"
            )
        self.trigger_event(
            self.DetailsRevised,
            title=clean_title(title) if title is not None else None,
            partners=clean_names(partners, "the partners") if partners is not None else None,
            audiences=clean_audiences(audiences) if audiences is not None else None,
            capacity=clean_capacity(capacity),
            project_ids=list(dict.fromkeys(project_ids)) if project_ids is not None else None,
            campaign=campaign,
            **meta.event_fields(reason),
        )

    @when.register(DetailsRevised)
    def _(self, event: DetailsRevised) -> None:
        if event.title is not None:
            self.title = event.title
        if event.partners is not None:
            self.partners = list(event.partners)
        if event.audiences is not None:
            self.audiences = list(event.audiences)
        if event.capacity is not None:
            self.capacity = event.capacity
        if event.project_ids is not None:
            self.project_ids = list(event.project_ids)
        if event.campaign is not None:
            self.campaign = event.campaign

    # -- rescheduling ------------------------------------------------------------------------

    class TrainingRescheduled(Event):
        session_dates: list[date]
        previous_dates: list[date]

    def reschedule(self, session_dates: list[date], meta: Meta, reason: str | None) -> None:
        """Move the sessions to other dates, saying why; the previous dates are kept."""
        self._require_scheduled("rescheduled")
        why = require_reason(reason, "to reschedule a training action")
        dates = clean_sessions(session_dates)
        if dates == self.session_dates:
            raise RescheduleToSameDatesError("a reschedule must move the sessions to other dates")
        self.trigger_event(
            self.TrainingRescheduled,
            session_dates=dates,
            previous_dates=list(self.session_dates),
            **meta.event_fields(why),
        )

    @when.register(TrainingRescheduled)
    def _(self, event: TrainingRescheduled) -> None:
        self.reschedules.append(
            Reschedule(
                previous_dates=list(event.previous_dates),
                session_dates=list(event.session_dates),
                rescheduled_on=event.occurred_on,
                reason=event.reason or "",
            )
        )
        self.session_dates = list(event.session_dates)

    # -- holding ---------------------------------------------------------------------------

    class TrainingHeld(Event):
        attendance: int
        attendance_by_audience: dict[str, int]

    def hold(
        self,
        attendance: int,
        meta: Meta,
        attendance_by_audience: dict[str, int] | None = None,
        reason: str | None = None,
    ) -> None:
        """Record that the action took place, with how many agents attended (never names).

        The first session must have begun (not after today); an attendance above the
        capacity needs a reason (an overflow room, a second screen…).
        """
        self._require_scheduled("held")
        require_not_future(self.first_session, meta.today, "the first session")
        require_count(attendance, "the attendance")
        by_audience: dict[str, int] = {}
        for audience, count in (attendance_by_audience or {}).items():
            try:
                key = Audience(audience).value
            except ValueError:
                raise AttendanceByAudienceError(f"unknown audience {audience!r}") from None
            require_count(count, f"the attendance of {key}")
            by_audience[key] = count
        if sum(by_audience.values()) > attendance:
            raise AttendanceByAudienceError(
                f"the attendance by audience adds up to {sum(by_audience.values())}, "
                f"more than the attendance ({attendance})"
            )
        if (
            self.capacity is not None
            and attendance > self.capacity
            and clean_reason(reason) is None
        ):
            raise AttendanceAboveCapacityError(
                f"an attendance of {attendance} is above the capacity ({self.capacity}): "
                "say why in the reason"
            )
        self.trigger_event(
            self.TrainingHeld,
            attendance=attendance,
            attendance_by_audience={
                a.value: by_audience[a.value] for a in Audience if a.value in by_audience
            },
            **meta.event_fields(reason),
        )

    @when.register(TrainingHeld)
    def _(self, event: TrainingHeld) -> None:
        self.status = TrainingStatus.HELD.value
        self.attendance = event.attendance
        self.attendance_by_audience = dict(event.attendance_by_audience)
        self.held_on = event.occurred_on

    # -- cancelling ------------------------------------------------------------------------

    class TrainingCancelled(Event):
        pass

    def cancel(self, meta: Meta, reason: str | None) -> None:
        """Cancel a scheduled action, saying why."""
        self._require_scheduled("cancelled")
        why = require_reason(reason, "to cancel a training action")
        self.trigger_event(self.TrainingCancelled, **meta.event_fields(why))

    @when.register(TrainingCancelled)
    def _(self, event: TrainingCancelled) -> None:
        self.status = TrainingStatus.CANCELLED.value
        self.cancelled_on = event.occurred_on
        self.cancel_reason = event.reason

    # -- views -------------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """The current state as plain data (the REST API's view)."""
        return {
            "id": str(self.id),
            "version": self.version,
            "lab": self.lab,
            "title": self.title,
            "format": self.format,
            "format_label": TrainingFormat(self.format).label,
            "sessions": [{"date": d.isoformat()} for d in self.session_dates],
            "mode": self.mode,
            "place": {"code": self.place.code, "cog_year": self.place.cog_year}
            if self.place
            else None,
            "partners": list(self.partners),
            "registration_ref": self.registration_ref,
            "audiences": list(self.audiences),
            "capacity": self.capacity,
            "project_ids": list(self.project_ids),
            "campaign": self.campaign,
            "status": self.status,
            "attendance": self.attendance,
            "attendance_by_audience": dict(self.attendance_by_audience),
            "held_on": self.held_on.isoformat() if self.held_on else None,
            "cancelled_on": self.cancelled_on.isoformat() if self.cancelled_on else None,
            "cancel_reason": self.cancel_reason,
            "reschedules": [
                {
                    "previous_dates": [d.isoformat() for d in r.previous_dates],
                    "session_dates": [d.isoformat() for d in r.session_dates],
                    "rescheduled_on": r.rescheduled_on.isoformat(),
                    "reason": r.reason,
                }
                for r in self.reschedules
            ],
            "scheduled_on": self.scheduled_on.isoformat(),
            "created_on": self.created_on.isoformat(),
            "modified_on": self.modified_on.isoformat(),
        }
