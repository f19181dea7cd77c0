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


class WebhookSubscriptionNotFoundError(NotFoundError):
    """No webhook subscription has this id (or it was deleted)."""


class WebhookSubscriptionStateError(DomainError):
    """The subscription is not in a state that allows this change (paused twice, deleted…)."""


class LabPublicationUnchangedError(DomainError):
    """The lab's open-data publication is already as asked."""
