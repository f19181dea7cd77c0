"""Named domain errors: each one is a rule of the domain refusing a command."""

from __future__ import annotations


class DomainError(Exception):
    """A domain rule refused the command; nothing was recorded."""


class InvalidValueError(DomainError, ValueError):
    """A value is malformed or out of its range."""


class InvalidTitleError(InvalidValueError):
    """A title is empty or longer than 200 characters after trimming."""


class InvalidTerritoryError(InvalidValueError):
    """A territory's COG code does not match its level's format, or its year is implausible."""


class InvalidSlugError(InvalidValueError):
    """A lab slug is not lowercase letters, digits and inner hyphens, 1 to 64 characters."""


class NegativeValueError(InvalidValueError):
    """A count or an amount is negative."""


class FutureDateError(InvalidValueError):
    """A business date lies after today."""


class ReasonRequiredError(InvalidValueError):
    """The command needs a reason and none was given."""


class NotFoundError(DomainError, LookupError):
    """Something the command names does not exist."""


class LabNotFoundError(NotFoundError):
    """No lab has this slug."""


class ProjectNotFoundError(NotFoundError):
    """No project has this id."""


class MilestoneNotFoundError(NotFoundError):
    """The project has no milestone with this id."""


class PartnerNotFoundError(NotFoundError):
    """The project has no current partner with this id."""


class IndicatorNotFoundError(NotFoundError):
    """The project has no indicator with this id."""


class LabAlreadyRegisteredError(DomainError):
    """A lab with this slug is registered already."""


class PhaseTransitionError(DomainError):
    """The phase rules refuse this transition."""


class PhaseSkippedError(PhaseTransitionError):
    """A `go` decision must enter exactly the next phase."""


class NotAnEarlierPhaseError(PhaseTransitionError):
    """An `iterate` decision must return to a phase before the current one."""


class ProjectClosedError(DomainError):
    """A closed project accepts nothing but `reopen`."""


class ProjectNotClosedError(DomainError):
    """Only a closed project can be reopened."""


class MilestoneNotPlannedError(DomainError):
    """The milestone is achieved or cancelled already: it can no longer change."""


class RescheduleToSameDateError(DomainError):
    """A reschedule must move the milestone to a different date."""


class PartnerAlreadyJoinedError(DomainError):
    """A current partner has this name already."""


# -- the training programme (domain/training.py, domain/campaign.py) -------------------------


class TrainingNotFoundError(NotFoundError):
    """No training action has this id."""


class CampaignNotFoundError(NotFoundError):
    """No campaign has this slug."""


class CampaignAlreadyRegisteredError(DomainError):
    """A campaign with this slug is registered already."""


class DatesOutOfOrderError(InvalidValueError):
    """Dates that must follow each other do not (sessions, a campaign's period)."""


class SessionRequiredError(InvalidValueError):
    """A training action needs at least one session."""


class PlaceRequiredError(InvalidValueError):
    """An action held in person (or hybrid) needs a place; a remote one has none."""


class AttendanceAboveCapacityError(ReasonRequiredError):
    """The attendance exceeds the capacity and no reason says why."""


class AttendanceByAudienceError(InvalidValueError):
    """The attendance by audience names an unknown audience or adds up to more than the total."""


class TrainingNotScheduledError(DomainError):
    """The action is held or cancelled already: it can no longer be held, moved or cancelled."""


class TrainingHeldError(TrainingNotScheduledError):
    """The action was held already."""


class TrainingCancelledError(TrainingNotScheduledError):
    """The action was cancelled."""


class RescheduleToSameDatesError(DomainError):
    """A reschedule must move the sessions to other dates."""


class ProjectOfAnotherLabError(DomainError):
    """A training action supports projects of its own lab only."""


class TimelineError(DomainError):
    """A business date does not fit the project's timeline (docs/time.md)."""


class DatedBeforeStartError(TimelineError):
    """Nothing about a project is dated before its start."""


class PhaseOutOfOrderError(TimelineError):
    """Phase entries, closings and reopenings are dated in order."""


class MilestoneOutOfOrderError(TimelineError):
    """A milestone's plan, reschedules and achievement or cancellation are dated in order."""


class PartnerLeftBeforeJoiningError(TimelineError):
    """A partner leaves on or after the day it joined."""


class MeasuredBeforeDefinedError(TimelineError):
    """An indicator is measured on or after the day it was defined."""


class WebhookSubscriptionNotFoundError(NotFoundError):
    """No webhook subscription has this id (or it was deleted)."""


class WebhookSubscriptionStateError(DomainError):
    """The subscription is not in a state that allows this change (paused twice, deleted…)."""


class LabPublicationUnchangedError(DomainError):
    """The lab's open-data publication is already as asked."""
