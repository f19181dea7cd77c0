"""The training projection: the labs' training actions, their attendance, and campaigns.

A projection of its own (not tables of the portfolio's): the programme's roll-ups read
only these tables, so the projection can lag, fail or be rebuilt alone
(`tracker projections rebuild training`). One row per action in `rm_trainings`, its
attendance by audience in `rm_training_attendance` (once held), one row per campaign in
`rm_campaigns`. An action counts in the year and month of its first session.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking

from domain.campaign import Campaign
from domain.training import TrainingAction
from domain.values import TrainingStatus
from projections.base import ReadModelProjection
from tracker.schema.read_models import campaigns, training_attendance, trainings


def session_values(session_dates: Sequence[date]) -> dict[str, Any]:
    """The columns that follow from an action's sessions."""
    first = session_dates[0]
    return {
        "sessions": [d.isoformat() for d in session_dates],
        "first_session_on": first,
        "last_session_on": session_dates[-1],
        "year": first.year,
        "month": first.strftime("%Y-%m"),
    }


class TrainingProjection(ReadModelProjection):
    """Training actions, their attendance by audience, and campaigns."""

    name = "training"
    description = "training actions, attendance by audience, campaigns"
    tables = (campaigns, trainings, training_attendance)

    def prefetch(self, events: Sequence[Any]) -> None:
        """Load the rows of the actions this batch changes but did not schedule."""
        scheduled: set[str] = set()
        wanted: set[str] = set()
        for event in events:
            if isinstance(event, TrainingAction.TrainingScheduled):
                scheduled.add(str(event.originator_id))
            elif isinstance(event, TrainingAction.Event):
                training_id = str(event.originator_id)
                if training_id not in scheduled:
                    wanted.add(training_id)
        self.rows.prefetch(trainings, wanted)

    def _touch(self, event: TrainingAction.Event, **values: Any) -> None:
        """Set `values`, the version and the last change on the action's row."""
        row = self.rows.get(trainings, str(event.originator_id))
        if row is None:
            return
        self.rows.update(
            trainings, row, version=event.originator_version, updated_at=event.timestamp, **values
        )

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this projection does not read still move its position."""
        self.view.insert_tracking(tracking)

    @process_event.register(Campaign.CampaignRegistered)
    def campaign_registered(self, event: Campaign.CampaignRegistered, tracking: Tracking) -> None:
        self.rows.fresh(campaigns, event.slug)
        self.rows.insert(
            campaigns,
            slug=event.slug,
            name=event.name,
            starts_on=event.starts_on,
            ends_on=event.ends_on,
            theme=event.theme,
            organiser=event.organiser,
            registered_on=event.occurred_on,
            registered_position=tracking.notification_id,
        )
        self.view.insert_tracking(tracking)

    @process_event.register(TrainingAction.TrainingScheduled)
    def training_scheduled(
        self, event: TrainingAction.TrainingScheduled, tracking: Tracking
    ) -> None:
        training_id = str(event.originator_id)
        self.rows.fresh(trainings, training_id)
        self.rows.fresh(training_attendance, training_id)
        self.rows.insert(
            trainings,
            id=training_id,
            lab=event.lab,
            title=event.title,
            format=event.format,
            mode=event.mode,
            status=TrainingStatus.SCHEDULED.value,
            **session_values(event.session_dates),
            place_code=event.place.code if event.place else None,
            place_cog_year=event.place.cog_year if event.place else None,
            partners=list(event.partners),
            registration_ref=event.registration_ref,
            audiences=list(event.audiences),
            capacity=event.capacity,
            project_ids=list(event.project_ids),
            campaign=event.campaign,
            attendance=None,
            reschedules=0,
            scheduled_on=event.occurred_on,
            version=event.originator_version,
            scheduled_position=tracking.notification_id,
            updated_at=event.timestamp,
        )
        self.view.insert_tracking(tracking)

    @process_event.register(TrainingAction.DetailsRevised)
    def details_revised(self, event: TrainingAction.DetailsRevised, tracking: Tracking) -> None:
        values: dict[str, Any] = {}
        if event.title is not None:
            values["title"] = event.title
        if event.partners is not None:
            values["partners"] = list(event.partners)
        if event.audiences is not None:
            values["audiences"] = list(event.audiences)
        if event.capacity is not None:
            values["capacity"] = event.capacity
        if event.project_ids is not None:
            values["project_ids"] = list(event.project_ids)
        if event.campaign is not None:
            values["campaign"] = event.campaign
        self._touch(event, **values)
        self.view.insert_tracking(tracking)

    @process_event.register(TrainingAction.TrainingRescheduled)
    def training_rescheduled(
        self, event: TrainingAction.TrainingRescheduled, tracking: Tracking
    ) -> None:
        row = self.rows.get(trainings, str(event.originator_id))
        reschedules = row["reschedules"] + 1 if row else 1
        self._touch(event, reschedules=reschedules, **session_values(event.session_dates))
        self.view.insert_tracking(tracking)

    @process_event.register(TrainingAction.TrainingHeld)
    def training_held(self, event: TrainingAction.TrainingHeld, tracking: Tracking) -> None:
        training_id = str(event.originator_id)
        self.rows.replace_partition(
            training_attendance,
            training_id,
            (
                {"training_id": training_id, "audience": audience, "attendance": count}
                for audience, count in event.attendance_by_audience.items()
            ),
        )
        self._touch(event, status=TrainingStatus.HELD.value, attendance=event.attendance)
        self.view.insert_tracking(tracking)

    @process_event.register(TrainingAction.TrainingCancelled)
    def training_cancelled(
        self, event: TrainingAction.TrainingCancelled, tracking: Tracking
    ) -> None:
        self._touch(event, status=TrainingStatus.CANCELLED.value)
        self.view.insert_tracking(tracking)
