"""The portfolio's roll-ups (`rm_portfolio_counts`) give what counting the rows gives.

The unfiltered live portfolio is read from the roll-ups the portfolio projection keeps as
it changes its rows (`projections.queries.counted_portfolio`); every other portfolio
question counts the rows it keeps (`scanned_portfolio`). Hypothesis draws commands over a
few projects (details revised, milestones moved, closed and reopened included), the
projections catch up, and both answers must be equal, for several days asked; a store
whose rows were projected before migration 0015 gets its roll-ups filled from them.
"""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.project import Project
from domain.values import ActivityKind, Outcome, Territory
from projections import queries
from projections.portfolio import PortfolioProjection
from projections.reading import read_engine
from projections.runner import ProjectionWorker, rebuild
from tests.factories import meta, new_project, registered_lab
from tests.integration.test_projections_property import TODAY, apply, commands
from tracker.application.services import Services
from tracker.config.settings import Settings
from tracker.schema.read_models import portfolio_counts
from tracker.store import migrate

THEMES = ["culture", "santé", "Énergie", "mobilité"]
PLACES = [
    Territory("commune", "21231", 2024),
    Territory("department", "21", 2024),
    Territory("region", "27", 2024),
    Territory("department", "2A", 2024),
]
revisions = st.tuples(
    st.just("revise"),
    st.lists(st.sampled_from(THEMES), min_size=1, max_size=3),
    st.lists(st.sampled_from(PLACES), min_size=1, max_size=3, unique=True),
)
steps = st.tuples(st.integers(0, 2), st.one_of(commands, revisions))
days = st.integers(-400, 400).map(lambda n: TODAY + timedelta(days=n))


def step(project: Project, command: tuple[Any, ...]) -> None:
    if command[0] != "revise":
        apply(project, command)
        return
    with contextlib.suppress(DomainError):
        project.revise_details(meta(today=TODAY), themes=command[1], territories=command[2])


def both(engine: sa.Engine, today: date, within: int) -> tuple[Any, Any]:
    return (
        queries.counted_portfolio(engine, today, within),
        queries.scanned_portfolio(engine, None, today, within),
    )


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=st.lists(steps, max_size=40), asked=st.lists(days, min_size=1, max_size=3))
def test_the_counted_portfolio_equals_the_rows_counted(
    services: Services, sequence: list[tuple[int, tuple[Any, ...]]], asked: list[date]
) -> None:
    lab = registered_lab(services.application)
    projects = [new_project(lab=lab, meta=meta(today=TODAY)) for _ in range(3)]
    for index, command in sequence:
        step(projects[index], command)
    services.application.save(*projects)
    ProjectionWorker(services, PortfolioProjection).run_until_caught_up()
    engine = read_engine(services)
    for today in asked:
        for within in (0, 30, 365):
            counted, scanned = both(engine, today, within)
            assert counted == scanned, (today, within)
    assert queries.portfolio(engine, None, TODAY, 30) == both(engine, TODAY, 30)[0]


def test_a_rebuild_writes_the_roll_ups_the_projector_kept(services: Services) -> None:
    lab = registered_lab(services.application)
    project = new_project(lab=lab, meta=meta(today=TODAY))
    for command in (("plan", TODAY), ("plan", TODAY), ("reschedule", 0, TODAY), ("cancel", 1)):
        apply(project, command)
    step(project, ("revise", ["santé"], [PLACES[1]]))
    services.application.save(project)
    ProjectionWorker(services, PortfolioProjection).run_until_caught_up()

    assert rebuild(services, PortfolioProjection, check=True).differences == []


def counts(engine: sa.Engine) -> set[tuple[Any, ...]]:
    c = portfolio_counts
    with engine.connect() as connection:
        return {tuple(r) for r in connection.execute(sa.select(c))}


def test_the_migration_fills_the_roll_ups_from_the_rows_already_projected(
    empty_database_url: str,
) -> None:
    settings = Settings(database_url=empty_database_url)
    migrate.upgrade(settings)
    services = Services.open(settings)
    try:
        lab = registered_lab(services.application)
        project = new_project(lab=lab, meta=meta(today=TODAY))
        for command in (
            ("plan", TODAY),
            ("plan", TODAY + timedelta(days=3)),
            ("reschedule", 0, TODAY + timedelta(days=40)),
            ("achieve", 1, TODAY),
            ("activity", ActivityKind.WORKSHOP, 12, TODAY),
            ("fund", "Région", 5000, 2026),
            ("close", Outcome.HANDED_OVER),
        ):
            apply(project, command)
        services.application.save(project)
        ProjectionWorker(services, PortfolioProjection).run_until_caught_up()
        engine = read_engine(services)
        kept = counts(engine)
        migrate.downgrade(settings, "0014_sign_in_identities")
        migrate.upgrade(settings)
        filled = counts(engine)
        counted, scanned = both(engine, TODAY, 30)
    finally:
        services.close()

    assert filled == kept
    assert counted == scanned
    assert counted.total == 1
