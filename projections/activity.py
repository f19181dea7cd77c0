"""The activity projection: one feed row per event, with a one-line summary in French.

The summaries quote names (a project's title, a milestone's) that later events refer to by
id only; this projection keeps those names in its own `rm_feed_names` so that it never
reads another projection's tables (each projection can lag, fail or be rebuilt alone).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking

from domain.lab import Lab
from domain.project import Project
from domain.values import ActivityKind, Health, Outcome, Phase
from projections.base import ReadModelProjection
from tracker.schema.read_models import activity_feed, feed_names

LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
HEALTH_LABELS = {
    Health.ON_TRACK.value: "en bonne voie",
    Health.AT_RISK.value: "à risque",
    Health.OFF_TRACK.value: "en difficulté",
}
OUTCOME_LABELS = {
    Outcome.DEPLOYED.value: "déployé",
    Outcome.SCALED.value: "essaimé",
    Outcome.HANDED_OVER.value: "transmis",
    Outcome.ABANDONED.value: "abandonné",
}
KIND_LABELS = {
    ActivityKind.WORKSHOP.value: "Atelier",
    ActivityKind.TRAINING.value: "Formation",
    ActivityKind.WEBINAR.value: "Webinaire",
    ActivityKind.USER_TEST.value: "Test utilisateurs",
    ActivityKind.RESIDENCY.value: "Résidence",
    ActivityKind.EVENT.value: "Événement",
}


def day(value: date) -> str:
    """A date as French readers write it."""
    return value.strftime("%d/%m/%Y")


def euros(cents: int) -> str:
    """An amount in euro cents as French readers write it: 12 500,50 €."""
    units, rest = divmod(cents, 100)
    grouped = f"{units:,}".replace(",", "\u202f")
    return f"{grouped} €" if rest == 0 else f"{grouped},{rest:02d} €"


def phase_label(phase: str) -> str:
    try:
        return Phase(phase).label
    except ValueError:
        return phase


def number(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def participants(count: int) -> str:
    return "1 participant" if count == 1 else f"{count} participants"


def names_recorded(event: Project.Event | Project.ProjectRegistered) -> tuple[str, ...]:
    """The `rm_feed_names` keys a project event records."""
    if isinstance(event, Project.ProjectRegistered):
        return (f"project:{event.originator_id}",)
    if isinstance(event, Project.MilestonePlanned):
        return (f"milestone:{event.originator_id}:{event.milestone_id}",)
    if isinstance(event, Project.PartnerJoined):
        return (f"partner:{event.originator_id}:{event.partner_id}",)
    if isinstance(event, Project.IndicatorDefined):
        return (f"indicator:{event.originator_id}:{event.indicator_id}",)
    return ()


def names_quoted(event: Project.Event | Project.ProjectRegistered) -> tuple[str, ...]:
    """The `rm_feed_names` keys a project event's summary quotes."""
    project = f"project:{event.originator_id}"
    if isinstance(
        event,
        Project.MilestoneRescheduled | Project.MilestoneAchieved | Project.MilestoneCancelled,
    ):
        return project, f"milestone:{event.originator_id}:{event.milestone_id}"
    if isinstance(event, Project.PartnerLeft):
        return project, f"partner:{event.originator_id}:{event.partner_id}"
    if isinstance(event, Project.IndicatorMeasured):
        return project, f"indicator:{event.originator_id}:{event.indicator_id}"
    return (project,)


class ActivityProjection(ReadModelProjection):
    """The activity feed: what happened, to which project, by whom, in one French line."""

    name = "activity"
    description = "activity feed: one line per event"
    tables = (activity_feed, feed_names)

    def prefetch(self, events: Sequence[Any]) -> None:
        """Load the names this batch quotes and did not itself record."""
        recorded: set[str] = set()
        quoted: set[str] = set()
        for event in events:
            if isinstance(event, Project.ProjectRegistered | Project.Event):
                recorded.update(names_recorded(event))
                quoted.update(k for k in names_quoted(event) if k not in recorded)
        self.rows.prefetch(feed_names, quoted)

    # -- helpers ---------------------------------------------------------------------------

    def _remember(self, key: str, label: str, lab: str | None) -> None:
        self.rows.insert(feed_names, key=key, label=label, lab=lab)

    def _rename(self, key: str, label: str) -> None:
        row = self.rows.get(feed_names, key)
        if row is not None:
            self.rows.update(feed_names, row, label=label)

    def _name(self, key: str) -> tuple[str, str | None]:
        row = self.rows.get(feed_names, key)
        return (row["label"], row["lab"]) if row else ("?", None)

    def _feed(
        self, event: Any, tracking: Tracking, summary: str, lab: str | None, project: bool
    ) -> None:
        self.view.rows.insert(
            activity_feed,
            position=tracking.notification_id,
            project_id=str(event.originator_id) if project else None,
            lab=lab,
            event_type=type(event).__name__,
            version=event.originator_version,
            actor=event.actor,
            occurred_on=event.occurred_on,
            recorded_at=event.timestamp,
            # One line, whatever the free text quoted in it holds.
            summary=LINE_BREAKS.sub(" ", summary),
        )
        self.view.insert_tracking(tracking)

    def _project_line(self, event: Project.Event, tracking: Tracking, what: str) -> None:
        """A feed row for a project event: « title » : what."""
        title, lab = self._name(f"project:{event.originator_id}")
        self._feed(event, tracking, f"« {title} » : {what}", lab, project=True)

    def _entity(self, event: Project.Event, kind: str, entity_id: str) -> str:
        return self._name(f"{kind}:{event.originator_id}:{entity_id}")[0]

    # -- events ----------------------------------------------------------------------------

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events the feed does not show still move its position."""
        self.view.insert_tracking(tracking)

    @process_event.register(Lab.LabRegistered)
    def lab_registered(self, event: Lab.LabRegistered, tracking: Tracking) -> None:
        self._feed(
            event,
            tracking,
            f"Lab « {event.name} » enregistré (région {event.region_code})",
            event.slug,
            project=False,
        )

    @process_event.register(Project.ProjectRegistered)
    def project_registered(self, event: Project.ProjectRegistered, tracking: Tracking) -> None:
        self._remember(f"project:{event.originator_id}", event.title, event.lab)
        self._feed(
            event,
            tracking,
            f"Projet « {event.title} » enregistré, en phase {Phase.FRAMING.label}",
            event.lab,
            project=True,
        )

    @process_event.register(Project.DetailsRevised)
    def details_revised(self, event: Project.DetailsRevised, tracking: Tracking) -> None:
        fields = [
            label
            for label, value in (
                ("titre", event.title),
                ("résumé", event.summary),
                ("thèmes", event.themes),
                ("territoires", event.territories),
            )
            if value is not None
        ]
        if event.title is not None:
            self._rename(f"project:{event.originator_id}", event.title)
        self._project_line(event, tracking, f"fiche révisée ({', '.join(fields)})")

    @process_event.register(Project.PhaseEntered)
    def phase_entered(self, event: Project.PhaseEntered, tracking: Tracking) -> None:
        label = phase_label(event.phase)
        what = (
            f"passe en phase {label}"
            if event.decision == "go"
            else f"revient en phase {label} (itération)"
        )
        self._project_line(event, tracking, what)

    @process_event.register(Project.HealthAssessed)
    def health_assessed(self, event: Project.HealthAssessed, tracking: Tracking) -> None:
        health = HEALTH_LABELS.get(event.health, event.health)
        self._project_line(event, tracking, f"santé évaluée {health}")

    @process_event.register(Project.MilestonePlanned)
    def milestone_planned(self, event: Project.MilestonePlanned, tracking: Tracking) -> None:
        _, lab = self._name(f"project:{event.originator_id}")
        self._remember(f"milestone:{event.originator_id}:{event.milestone_id}", event.title, lab)
        self._project_line(event, tracking, f"jalon « {event.title} » prévu le {day(event.due_on)}")

    @process_event.register(Project.MilestoneRescheduled)
    def milestone_rescheduled(
        self, event: Project.MilestoneRescheduled, tracking: Tracking
    ) -> None:
        title = self._entity(event, "milestone", event.milestone_id)
        self._project_line(
            event,
            tracking,
            f"jalon « {title} » reporté du {day(event.previous_due_on)} au {day(event.due_on)}",
        )

    @process_event.register(Project.MilestoneAchieved)
    def milestone_achieved(self, event: Project.MilestoneAchieved, tracking: Tracking) -> None:
        title = self._entity(event, "milestone", event.milestone_id)
        self._project_line(
            event, tracking, f"jalon « {title} » atteint le {day(event.achieved_on)}"
        )

    @process_event.register(Project.MilestoneCancelled)
    def milestone_cancelled(self, event: Project.MilestoneCancelled, tracking: Tracking) -> None:
        title = self._entity(event, "milestone", event.milestone_id)
        self._project_line(event, tracking, f"jalon « {title} » annulé")

    @process_event.register(Project.PartnerJoined)
    def partner_joined(self, event: Project.PartnerJoined, tracking: Tracking) -> None:
        self._remember(f"partner:{event.originator_id}:{event.partner_id}", event.name, None)
        self._project_line(event, tracking, f"« {event.name} » rejoint le projet ({event.role})")

    @process_event.register(Project.PartnerLeft)
    def partner_left(self, event: Project.PartnerLeft, tracking: Tracking) -> None:
        name = self._entity(event, "partner", event.partner_id)
        self._project_line(event, tracking, f"« {name} » quitte le projet")

    @process_event.register(Project.IndicatorDefined)
    def indicator_defined(self, event: Project.IndicatorDefined, tracking: Tracking) -> None:
        self._remember(f"indicator:{event.originator_id}:{event.indicator_id}", event.name, None)
        self._project_line(
            event,
            tracking,
            f"indicateur « {event.name} » défini, cible {number(event.target)} {event.unit}",
        )

    @process_event.register(Project.IndicatorMeasured)
    def indicator_measured(self, event: Project.IndicatorMeasured, tracking: Tracking) -> None:
        name = self._entity(event, "indicator", event.indicator_id)
        self._project_line(
            event,
            tracking,
            f"indicateur « {name} » mesuré à {number(event.value)} le {day(event.measured_on)}",
        )

    @process_event.register(Project.ActivityLogged)
    def activity_logged(self, event: Project.ActivityLogged, tracking: Tracking) -> None:
        kind = KIND_LABELS.get(event.kind, event.kind)
        self._project_line(
            event,
            tracking,
            f"{kind.lower()} « {event.title} » le {day(event.held_on)}, "
            f"{participants(event.participants)}",
        )

    @process_event.register(Project.DecisionRecorded)
    def decision_recorded(self, event: Project.DecisionRecorded, tracking: Tracking) -> None:
        self._project_line(event, tracking, f"décision « {event.title} » : {event.decision}")

    @process_event.register(Project.FundingCommitted)
    def funding_committed(self, event: Project.FundingCommitted, tracking: Tracking) -> None:
        self._project_line(
            event,
            tracking,
            f"financement de {euros(event.amount_cents)} ({event.source}, "
            f"exercice {event.fiscal_year})",
        )

    @process_event.register(Project.ProjectClosed)
    def project_closed(self, event: Project.ProjectClosed, tracking: Tracking) -> None:
        outcome = OUTCOME_LABELS.get(event.outcome, event.outcome)
        self._project_line(event, tracking, f"projet clos ({outcome})")

    @process_event.register(Project.ProjectReopened)
    def project_reopened(self, event: Project.ProjectReopened, tracking: Tracking) -> None:
        self._project_line(event, tracking, f"projet rouvert en phase {phase_label(event.phase)}")
