"""The Project aggregate's rules besides phases and milestones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from domain.errors import (
    FutureDateError,
    IndicatorNotFoundError,
    InvalidTerritoryError,
    InvalidTitleError,
    InvalidValueError,
    NegativeValueError,
    PartnerAlreadyJoinedError,
    PartnerNotFoundError,
    ProjectClosedError,
)
from domain.meta import Meta
from domain.project import Project
from domain.values import ActivityKind, ActivityMode, Outcome, Phase, Territory
from tests.factories import (
    DAY,
    DOMAIN_COMMANDS,
    TODAY,
    meta,
    new_project,
    with_entities,
)

TOMORROW = TODAY + timedelta(days=1)


def closed_project() -> tuple[Project, Callable[[str], None]]:
    """A closed project holding a milestone, a partner and an indicator, and a way to command it."""
    project = new_project()
    entities = with_entities(project)
    project.close(Outcome.ABANDONED, meta(), "fin du financement")

    def command(name: str) -> None:
        DOMAIN_COMMANDS[name](project, entities, meta())

    return project, command


# -- a closed project accepts nothing but reopen ----------------------------------------------


@pytest.mark.parametrize("name", list(DOMAIN_COMMANDS))
def test_a_closed_project_refuses_every_command_but_reopen(name: str) -> None:
    project, command = closed_project()
    version = project.version
    with pytest.raises(ProjectClosedError):
        command(name)
    assert project.version == version
    assert project.is_closed


@pytest.mark.parametrize("name", list(DOMAIN_COMMANDS))
def test_an_open_project_accepts_every_command(name: str) -> None:
    project = new_project()
    entities = with_entities(project)
    version = project.version
    DOMAIN_COMMANDS[name](project, entities, meta())
    assert project.version == version + 1


def test_a_reopened_project_accepts_commands_again() -> None:
    project, command = closed_project()
    project.reopen(meta(), "nouveau financement")
    command("log_activity")
    assert len(project.activities) == 1


def test_closing_records_outcome_date_and_phase() -> None:
    project = new_project()
    project.close(Outcome.DEPLOYED, meta(occurred_on=DAY), "déployé")
    event = project.collect_events()[-1]
    assert isinstance(event, Project.ProjectClosed)
    assert (event.outcome, event.phase) == ("deployed", "framing")
    assert (project.outcome, project.closed_on) == (Outcome.DEPLOYED, DAY)


# -- business dates are never in the future ----------------------------------------------------


FUTURE_DATED: dict[str, Callable[[Project, str, str], object]] = {
    "achieved_on": lambda p, m, i: p.achieve_milestone(m, TOMORROW, "preuve", meta()),
    "held_on": lambda p, m, i: p.log_activity(
        ActivityKind.WEBINAR, "Webinaire", TOMORROW, 5, meta()
    ),
    "measured_on": lambda p, m, i: p.measure_indicator(i, 3, TOMORROW, meta()),
    "started_on": lambda p, m, i: new_project(started_on=TOMORROW),
}


@pytest.mark.parametrize("field", list(FUTURE_DATED))
def test_a_future_business_date_is_refused(field: str) -> None:
    project = new_project()
    entities = with_entities(project)
    version = project.version
    with pytest.raises(FutureDateError, match=field):
        FUTURE_DATED[field](project, entities.milestone_id, entities.indicator_id)
    assert project.version == version


def test_a_future_occurred_on_is_refused() -> None:
    with pytest.raises(FutureDateError, match="occurred_on"):
        Meta(actor="tok", correlation_id="c", occurred_on=TOMORROW, today=TODAY)


def test_a_registration_is_dated_on_the_project_start_whatever_day_it_is_entered() -> None:
    project = new_project(started_on=date(2024, 2, 29), meta=meta(occurred_on=DAY))
    assert project.registered_on == date(2024, 2, 29)
    assert project.collect_events()[0].occurred_on == date(2024, 2, 29)


def test_business_dates_of_today_are_accepted() -> None:
    project = new_project(started_on=TODAY, meta=meta(occurred_on=TODAY))
    project.log_activity(ActivityKind.EVENT, "Forum", TODAY, 40, meta(occurred_on=TODAY))
    assert project.started_on == project.activities[0].held_on == TODAY


# -- titles, counts, amounts, numbers -----------------------------------------------------------


BAD_TITLES = ["", "    ", "\n\t", "é" * 201, " " + "x" * 201 + " "]
TITLED: dict[str, Callable[[Project, str], object]] = {
    "register": lambda p, t: new_project(title=t),
    "revise_details": lambda p, t: p.revise_details(meta(), title=t),
    "add_partner": lambda p, t: p.add_partner(t, "financeur", meta()),
    "define_indicator": lambda p, t: p.define_indicator(t, "%", 0, 1, meta()),
    "log_activity": lambda p, t: p.log_activity(ActivityKind.TRAINING, t, DAY, 1, meta()),
    "record_decision": lambda p, t: p.record_decision(t, "oui", "parce que", meta()),
    "commit_funding": lambda p, t: p.commit_funding(t, 100, 2026, meta()),
}


@pytest.mark.parametrize("title", BAD_TITLES)
@pytest.mark.parametrize("command", list(TITLED))
def test_a_title_outside_1_to_200_characters_is_refused(command: str, title: str) -> None:
    with pytest.raises(InvalidTitleError):
        TITLED[command](new_project(), title)


@pytest.mark.parametrize("title", ["x", "x" * 200, "  " + "é" * 200 + "  "])
def test_titles_of_1_to_200_characters_after_trimming_are_accepted(title: str) -> None:
    assert new_project(title=title).title == title.strip()


NUMBERED: dict[str, Callable[[Project, object], object]] = {
    "participants": lambda p, n: p.log_activity(ActivityKind.WORKSHOP, "A", DAY, n, meta()),
    "amount_cents": lambda p, n: p.commit_funding("Région", n, 2026, meta()),
}


@pytest.mark.parametrize("field", list(NUMBERED))
def test_a_negative_count_or_amount_is_refused(field: str) -> None:
    with pytest.raises(NegativeValueError):
        NUMBERED[field](new_project(), -1)


@pytest.mark.parametrize("value", [1.5, True, "12"])
@pytest.mark.parametrize("field", list(NUMBERED))
def test_a_count_or_amount_must_be_a_whole_number(field: str, value: object) -> None:
    with pytest.raises(InvalidValueError):
        NUMBERED[field](new_project(), value)


@pytest.mark.parametrize("field", list(NUMBERED))
def test_a_count_or_amount_of_zero_is_accepted(field: str) -> None:
    project = new_project()
    NUMBERED[field](project, 0)
    assert project.version == 2


INDICATOR_NUMBERS: dict[str, Callable[[Project, str, float], object]] = {
    "baseline": lambda p, i, x: p.define_indicator("Taux", "%", x, 1, meta()),
    "target": lambda p, i, x: p.define_indicator("Taux", "%", 0, x, meta()),
    "value": lambda p, i, x: p.measure_indicator(i, x, DAY, meta()),
}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("field", list(INDICATOR_NUMBERS))
def test_indicator_numbers_must_be_finite(field: str, value: float) -> None:
    project = new_project()
    indicator_id = with_entities(project).indicator_id
    with pytest.raises(InvalidValueError, match=field):
        INDICATOR_NUMBERS[field](project, indicator_id, value)


@pytest.mark.parametrize("fiscal_year", [1999, 2101, True])
def test_a_fiscal_year_out_of_range_is_refused(fiscal_year: int) -> None:
    with pytest.raises(InvalidValueError, match="fiscal year"):
        new_project().commit_funding("Région", 100, fiscal_year, meta())


def test_funding_is_recorded_in_cents() -> None:
    project = new_project()
    project.commit_funding("  Région  ", 1_234_567, 2026, meta())
    assert (project.funding[0].source, project.funding[0].amount_cents) == ("Région", 1_234_567)


# -- details ---------------------------------------------------------------------------------


def test_revising_nothing_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="nothing to revise"):
        new_project().revise_details(meta())


def test_revising_changes_only_the_fields_given() -> None:
    project = new_project()
    territory = Territory("department", "2A", 2024)
    project.revise_details(meta(), themes=["santé", " santé ", "eau"], territories=[territory])
    assert (project.title, project.themes, project.territories) == (
        "Une bibliothèque innovante",
        ["santé", "eau"],
        [territory],
    )


def test_a_summary_over_5000_characters_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="summary"):
        new_project().revise_details(meta(), summary="x" * 5001)


@pytest.mark.parametrize("theme", ["", "   ", "x" * 101])
def test_a_blank_or_long_theme_is_refused(theme: str) -> None:
    with pytest.raises(InvalidValueError, match="themes"):
        new_project(themes=["culture", theme])


def test_an_invalid_territory_cannot_be_built() -> None:
    with pytest.raises(InvalidTerritoryError):
        new_project(territories=[Territory("commune", "2A04", 2024)])


# -- partners and indicators ---------------------------------------------------------------------


def test_a_partner_joins_and_leaves() -> None:
    project = new_project()
    partner_id = project.add_partner("Pôle emploi", "opérateur", meta())
    project.remove_partner(partner_id, meta())
    assert project.partners == {}


def test_a_current_partner_cannot_join_twice_whatever_the_case() -> None:
    project = new_project()
    project.add_partner("Pôle emploi", "opérateur", meta())
    with pytest.raises(PartnerAlreadyJoinedError):
        project.add_partner("  PÔLE EMPLOI ", "financeur", meta())


def test_a_partner_who_left_may_join_again() -> None:
    project = new_project()
    project.remove_partner(project.add_partner("CAF", "financeur", meta()), meta())
    project.add_partner("CAF", "financeur", meta())
    assert [p.name for p in project.partners.values()] == ["CAF"]


def test_removing_an_unknown_partner_is_refused() -> None:
    with pytest.raises(PartnerNotFoundError):
        new_project().remove_partner("nobody", meta())


def test_measuring_an_unknown_indicator_is_refused() -> None:
    with pytest.raises(IndicatorNotFoundError):
        new_project().measure_indicator("nothing", 1, DAY, meta())


def test_an_older_measurement_does_not_replace_the_latest() -> None:
    project = new_project()
    indicator_id = project.define_indicator("Usagers", "personnes", 0, 100, meta())
    project.measure_indicator(indicator_id, 40, date(2026, 3, 1), meta())
    project.measure_indicator(indicator_id, 10, date(2026, 2, 1), meta())
    indicator = project.indicators[indicator_id]
    assert (indicator.value, indicator.measured_on) == (40.0, date(2026, 3, 1))


# -- activities -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "mode", "recorded"),
    [
        (ActivityKind.WEBINAR, None, "remote"),
        (ActivityKind.WORKSHOP, None, None),
        (ActivityKind.WORKSHOP, ActivityMode.HYBRID, "hybrid"),
        (ActivityKind.WEBINAR, ActivityMode.IN_PERSON, "in_person"),
    ],
)
def test_an_activity_records_its_mode(
    kind: ActivityKind, mode: ActivityMode | None, recorded: str | None
) -> None:
    project = new_project()
    project.log_activity(kind, "Session", DAY, 8, meta(), mode=mode)
    assert project.activities[0].mode == recorded


# -- metadata ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(DOMAIN_COMMANDS))
def test_every_event_carries_actor_correlation_id_business_date_and_reason(name: str) -> None:
    project = new_project()
    entities = with_entities(project)
    project.collect_events()
    command_meta = meta(occurred_on=DAY)
    DOMAIN_COMMANDS[name](project, entities, command_meta)
    (event,) = project.collect_events()
    assert (event.actor, event.correlation_id, event.occurred_on) == (
        command_meta.actor,
        command_meta.correlation_id,
        DAY,
    )
    assert event.reason is None or event.reason.strip() == event.reason != ""
    assert event.timestamp is not None


def test_the_registered_event_carries_the_metadata() -> None:
    command_meta = meta(occurred_on=DAY)
    (event,) = new_project(meta=command_meta).collect_events()
    assert (event.actor, event.correlation_id, event.occurred_on, event.reason) == (
        command_meta.actor,
        command_meta.correlation_id,
        date(2025, 9, 1),
        None,
    )


def test_a_new_project_starts_active_on_track_in_framing() -> None:
    project = new_project()
    assert (project.phase, project.health.value, project.status.value) == (
        Phase.FRAMING,
        "on_track",
        "active",
    )
