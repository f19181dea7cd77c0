"""Each projector, event type by event type, on an in-memory SQLite database.

Events come from real aggregates (their commands), in memory; the projectors write through
a `ReadModelView` bound to one transaction, as the runner does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from eventsourcing.persistence import Tracking

from domain.lab import Lab
from domain.project import Project
from domain.values import (
    ActivityKind,
    ActivityMode,
    GateDecision,
    Health,
    Outcome,
    Phase,
    Territory,
)
from projections.activity import ActivityProjection, euros
from projections.base import ReadModelProjection
from projections.portfolio import PortfolioProjection, department_of
from projections.view import ReadModelView
from tests.factories import meta, new_project
from tracker.schema.read_models import (
    activities,
    activity_feed,
    funding,
    indicators,
    labs,
    milestones,
    phase_periods,
    project_territories,
    project_themes,
    projection_tracking,
    projects,
)

DAY = date(2026, 3, 2)


class Harness:
    """Both projectors on a fresh in-memory database, fed events with rising positions."""

    def __init__(self) -> None:
        self.engine = sa.create_engine("sqlite://")
        tables = [projection_tracking, *PortfolioProjection.tables, *ActivityProjection.tables]
        for table in tables:
            table.create(self.engine)
        self.position = 0
        self.projections: list[ReadModelProjection] = [
            cls(ReadModelView(self.engine, cls.name, {t: t for t in cls.tables}))
            for cls in (PortfolioProjection, ActivityProjection)
        ]

    def feed(self, events: Sequence[Any]) -> None:
        with self.engine.begin() as connection:
            for projection in self.projections:
                with projection.view.bind(connection):
                    position = self.position
                    for event in events:
                        position += 1
                        projection.process_event(event, Tracking("tracker", position))
                    assert projection.view.pending is not None
                    assert projection.view.pending.notification_id == position
        self.position += len(events)

    def rows(self, table: sa.Table, **where: Any) -> list[dict[str, Any]]:
        query = sa.select(table)
        for column, value in where.items():
            query = query.where(table.c[column] == value)
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def one(self, table: sa.Table, **where: Any) -> dict[str, Any]:
        (row,) = self.rows(table, **where)
        return row

    def last_summary(self) -> str:
        with self.engine.connect() as connection:
            summary: str = connection.scalar(
                sa.select(activity_feed.c.summary).order_by(activity_feed.c.position.desc())
            )
        return summary


@pytest.fixture
def harness() -> Iterator[Harness]:
    built = Harness()
    yield built
    built.engine.dispose()


@pytest.fixture
def project(harness: Harness) -> Project:
    """A registered project, already projected."""
    registered = new_project(
        territories=[Territory("commune", "21231", 2024), Territory("department", "71", 2024)],
        themes=["culture", "ruralité"],
    )
    harness.feed(registered.collect_events())
    return registered


def test_a_registered_lab_gets_a_row_and_a_feed_line(harness: Harness) -> None:
    lab = Lab.register("lab-bfc", "Lab Bourgogne", "27", meta())
    harness.feed(lab.collect_events())
    assert harness.one(labs, slug="lab-bfc")["name"] == "Lab Bourgogne"
    assert harness.last_summary() == "Lab « Lab Bourgogne » enregistré (région 27)"


def test_a_registered_project_starts_in_framing_with_zero_counts(
    harness: Harness, project: Project
) -> None:
    row = harness.one(projects, id=str(project.id))
    assert (row["phase"], row["health"], row["status"], row["version"]) == (
        "framing",
        "on_track",
        "active",
        1,
    )
    assert row["milestones_planned"] == row["activities"] == row["funding_cents"] == 0
    assert {r["theme"] for r in harness.rows(project_themes, project_id=str(project.id))} == {
        "culture",
        "ruralité",
    }
    territories = harness.rows(project_territories, project_id=str(project.id))
    assert {(t["code"], t["department"]) for t in territories} == {("21231", "21"), ("71", "71")}
    (period,) = harness.rows(phase_periods, project_id=str(project.id))
    assert (period["phase"], period["entered_on"], period["left_on"]) == (
        "framing",
        project.started_on,
        None,
    )
    assert "enregistré, en phase Cadrage" in harness.last_summary()


def test_revised_details_replace_title_themes_and_territories(
    harness: Harness, project: Project
) -> None:
    project.revise_details(
        meta(),
        title="Nouveau titre",
        themes=["santé"],
        territories=[Territory("region", "27", 2024)],
    )
    harness.feed(project.collect_events())
    row = harness.one(projects, id=str(project.id))
    assert (row["title"], row["themes"], row["version"]) == ("Nouveau titre", ["santé"], 2)
    assert [r["theme"] for r in harness.rows(project_themes, project_id=str(project.id))] == [
        "santé"
    ]
    (territory,) = harness.rows(project_territories, project_id=str(project.id))
    assert (territory["code"], territory["department"]) == ("27", None)
    assert (
        harness.last_summary() == "« Nouveau titre » : fiche révisée (titre, thèmes, territoires)"
    )


def test_entering_phases_opens_and_closes_phase_periods(harness: Harness, project: Project) -> None:
    project.enter_phase(Phase.DISCOVERY, GateDecision.GO, meta(date(2026, 2, 1)))
    project.enter_phase(Phase.FRAMING, GateDecision.ITERATE, meta(date(2026, 3, 1)), "à revoir")
    harness.feed(project.collect_events())
    periods = sorted(
        harness.rows(phase_periods, project_id=str(project.id)), key=lambda r: r["seq"]
    )
    assert [(p["phase"], p["left_on"], p["decision"]) for p in periods] == [
        ("framing", date(2026, 2, 1), "start"),
        ("discovery", date(2026, 3, 1), "go"),
        ("framing", None, "iterate"),
    ]
    row = harness.one(projects, id=str(project.id))
    assert (row["phase"], row["phase_since"]) == ("framing", date(2026, 3, 1))
    assert harness.last_summary().endswith("revient en phase Cadrage (itération)")


def test_assessed_health_is_the_projects_health(harness: Harness, project: Project) -> None:
    project.assess_health(Health.OFF_TRACK, meta(), "retard")
    harness.feed(project.collect_events())
    assert harness.one(projects, id=str(project.id))["health"] == "off_track"
    assert harness.last_summary().endswith("santé évaluée en difficulté")


def test_milestones_count_and_the_next_one_follows_plans_and_reschedules(
    harness: Harness, project: Project
) -> None:
    first = project.plan_milestone("Atelier", date(2026, 9, 1), Phase.DISCOVERY, meta())
    second = project.plan_milestone("Bilan", date(2026, 10, 1), Phase.DISCOVERY, meta())
    harness.feed(project.collect_events())
    assert harness.one(projects, id=str(project.id))["next_milestone_id"] == first
    assert harness.last_summary().endswith("jalon « Bilan » prévu le 01/10/2026")

    project.reschedule_milestone(first, date(2026, 11, 15), meta(), "météo")
    harness.feed(project.collect_events())
    row = harness.one(projects, id=str(project.id))
    assert (row["next_milestone_id"], row["next_milestone_due_on"]) == (second, date(2026, 10, 1))
    milestone = harness.one(milestones, milestone_id=first)
    assert (milestone["due_on"], milestone["original_due_on"]) == (
        date(2026, 11, 15),
        date(2026, 9, 1),
    )
    assert (milestone["reschedules"], milestone["days_slipped"]) == (1, 75)
    assert harness.last_summary().endswith("reporté du 01/09/2026 au 15/11/2026")


def test_achieved_and_cancelled_milestones_leave_the_open_count(
    harness: Harness, project: Project
) -> None:
    first = project.plan_milestone("Atelier", date(2026, 9, 1), Phase.DISCOVERY, meta())
    second = project.plan_milestone("Bilan", date(2026, 10, 1), Phase.DISCOVERY, meta())
    project.achieve_milestone(first, DAY, "photos", meta())
    harness.feed(project.collect_events())
    assert harness.last_summary().endswith("jalon « Atelier » atteint le 02/03/2026")
    project.cancel_milestone(second, meta(), "inutile")
    harness.feed(project.collect_events())
    assert harness.last_summary().endswith("jalon « Bilan » annulé")
    row = harness.one(projects, id=str(project.id))
    assert (
        row["milestones_planned"],
        row["milestones_open"],
        row["milestones_achieved"],
        row["milestones_cancelled"],
        row["next_milestone_id"],
    ) == (2, 0, 1, 1, None)
    assert harness.one(milestones, milestone_id=first)["achieved_on"] == DAY
    assert harness.one(milestones, milestone_id=second)["status"] == "cancelled"


def test_partners_joining_and_leaving_are_counted(harness: Harness, project: Project) -> None:
    partner = project.add_partner("Université", "recherche", meta())
    harness.feed(project.collect_events())
    assert harness.one(projects, id=str(project.id))["partners"] == 1
    assert harness.last_summary().endswith("« Université » rejoint le projet (recherche)")
    project.remove_partner(partner, meta())
    harness.feed(project.collect_events())
    assert harness.one(projects, id=str(project.id))["partners"] == 0
    assert harness.last_summary().endswith("« Université » quitte le projet")


def test_an_indicator_keeps_its_latest_measurement_by_business_date(
    harness: Harness, project: Project
) -> None:
    indicator = project.define_indicator("Usagers", "personnes", 0, 100, meta())
    project.measure_indicator(indicator, 40, date(2026, 3, 1), meta())
    project.measure_indicator(indicator, 10, date(2026, 1, 1), meta())  # older: not latest
    harness.feed(project.collect_events())
    row = harness.one(indicators, indicator_id=indicator)
    assert (row["value"], row["measured_on"], row["measurements"]) == (40.0, date(2026, 3, 1), 2)
    assert harness.last_summary().endswith("indicateur « Usagers » mesuré à 10 le 01/01/2026")


def test_activities_count_participants_by_month(harness: Harness, project: Project) -> None:
    project.log_activity(ActivityKind.TRAINING, "Formation", date(2026, 2, 3), 12, meta())
    project.log_activity(ActivityKind.WORKSHOP, "Atelier", date(2026, 1, 20), 8, meta())
    harness.feed(project.collect_events())
    row = harness.one(projects, id=str(project.id))
    assert (row["activities"], row["participants"], row["last_activity_on"]) == (
        2,
        20,
        date(2026, 2, 3),
    )
    assert sorted(r["month"] for r in harness.rows(activities, project_id=str(project.id))) == [
        "2026-01",
        "2026-02",
    ]
    assert harness.last_summary().endswith("atelier « Atelier » le 20/01/2026, 8 participants")


def test_an_activity_keeps_its_mode_and_a_webinar_without_one_is_remote(
    harness: Harness, project: Project
) -> None:
    hybrid = project.log_activity(
        ActivityKind.WORKSHOP, "Atelier", DAY, 5, meta(), mode=ActivityMode.HYBRID
    )
    unknown = project.log_activity(ActivityKind.TRAINING, "Formation", DAY, 3, meta())
    webinar = project.log_activity(ActivityKind.WEBINAR, "Webinaire", DAY, 9, meta())
    harness.feed(project.collect_events())
    modes = {r["activity_id"]: r["mode"] for r in harness.rows(activities)}
    assert modes == {hybrid: "hybrid", unknown: None, webinar: "remote"}


def test_decisions_are_counted(harness: Harness, project: Project) -> None:
    project.record_decision("Choix", "Pilote", "Moins cher", meta())
    harness.feed(project.collect_events())
    assert harness.one(projects, id=str(project.id))["decisions"] == 1
    assert harness.last_summary().endswith("décision « Choix » : Pilote")


def test_funding_adds_up_by_source_and_fiscal_year(harness: Harness, project: Project) -> None:
    project.commit_funding("Région", 1_500_000, 2026, meta())
    project.commit_funding("Région", 250_050, 2026, meta())
    project.commit_funding("État", 100_000, 2025, meta())
    harness.feed(project.collect_events())
    rows = {(r["source"], r["fiscal_year"]): r for r in harness.rows(funding)}
    assert rows["Région", 2026]["amount_cents"] == 1_750_050
    assert rows["Région", 2026]["commitments"] == 2
    assert rows["État", 2025]["amount_cents"] == 100_000
    assert harness.one(projects, id=str(project.id))["funding_cents"] == 1_850_050
    assert harness.last_summary().endswith("financement de 1\u202f000 € (État, exercice 2025)")


def test_closing_ends_the_phase_period_and_reopening_starts_one(
    harness: Harness, project: Project
) -> None:
    project.close(Outcome.HANDED_OVER, meta(date(2026, 4, 1)), "transmis à la mairie")
    harness.feed(project.collect_events())
    row = harness.one(projects, id=str(project.id))
    assert (row["status"], row["outcome"], row["closed_on"]) == (
        "closed",
        "handed_over",
        date(2026, 4, 1),
    )
    assert harness.last_summary().endswith("projet clos (transmis)")
    project.reopen(meta(date(2026, 5, 1)), "nouvelle saison")
    harness.feed(project.collect_events())
    row = harness.one(projects, id=str(project.id))
    assert (row["status"], row["outcome"], row["closed_on"]) == ("active", None, None)
    periods = sorted(
        harness.rows(phase_periods, project_id=str(project.id)), key=lambda r: r["seq"]
    )
    assert [(p["left_on"], p["decision"]) for p in periods] == [
        (date(2026, 4, 1), "start"),
        (None, "reopen"),
    ]
    assert harness.last_summary().endswith("projet rouvert en phase Cadrage")


def test_every_event_gets_one_feed_line_with_its_actor(harness: Harness, project: Project) -> None:
    project.assess_health(Health.AT_RISK, meta(), "retard")
    events = project.collect_events()
    harness.feed(events)
    feed = harness.rows(activity_feed, project_id=str(project.id))
    assert [r["event_type"] for r in sorted(feed, key=lambda r: r["position"])] == [
        "ProjectRegistered",
        "HealthAssessed",
    ]
    assert feed[-1]["actor"] == events[0].actor  # type: ignore[attr-defined]


def test_an_event_no_handler_reads_still_moves_the_position(harness: Harness) -> None:
    class Unknown:
        pass

    projection = harness.projections[0]
    with harness.engine.begin() as connection, projection.view.bind(connection):
        projection.process_event(Unknown(), Tracking("tracker", 41))
        assert projection.view.pending == Tracking("tracker", 41)


@pytest.mark.parametrize(
    ("territory", "department"),
    [
        (Territory("commune", "21231", 2024), "21"),
        (Territory("commune", "2A004", 2024), "2A"),
        (Territory("commune", "97105", 2024), "971"),
        (Territory("department", "971", 2024), "971"),
        (Territory("region", "27", 2024), None),
    ],
)
def test_the_stored_department_agrees_with_territory_contains(
    territory: Territory, department: str | None
) -> None:
    assert department_of(territory) == department
    if department is not None:
        assert Territory("department", department, 2024).contains(territory)


def test_amounts_read_as_french_euros() -> None:
    assert euros(1_250_050) == "12\u202f500,50 €"
    assert euros(100) == "1 €"
