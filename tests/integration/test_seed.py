"""`tracker seed`: a deterministic, plausible portfolio written through the application."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from domain.values import Outcome, Territory
from tracker.application.seed import (
    BFC_COMMUNES,
    BFC_DEPARTMENTS,
    LABS,
    WINDOW_END,
    WINDOW_START,
    SeedError,
    plan_portfolio,
    seed_portfolio,
)
from tracker.application.service import TrackerApplication
from tracker.application.services import Services
from tracker.config.settings import Settings
from tracker.store import migrate

from ..conftest import create_postgres_database, drop_postgres_database

TODAY = date.today()
FEW = 12  # projects: enough to touch every command, fast on both databases


@pytest.fixture
def fresh_services(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], Services]]:
    """Open services on brand-new migrated databases, as many as a test asks for."""
    opened: list[Services] = []
    created: list[str] = []

    def open_fresh() -> Services:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / f'fresh{len(opened)}.db'}"
        else:
            url = create_postgres_database(request.getfixturevalue("postgres_server_url"))
            created.append(url)
        settings = Settings(database_url=url)
        migrate.upgrade(settings)
        services = Services.open(settings)
        opened.append(services)
        return services

    yield open_fresh
    for services in opened:
        services.close()
    for url in created:
        drop_postgres_database(request.getfixturevalue("postgres_server_url"), url)


def event_log(application: TrackerApplication) -> list[tuple[str, dict[str, Any]]]:
    """Every event as (topic, state), without the recording time."""
    log: list[tuple[str, dict[str, Any]]] = []
    start = 1
    while True:
        page = application.recorder.select_notifications(start=start, limit=1000)
        for notification in page:
            state = json.loads(notification.state)
            state.pop("timestamp")
            log.append((notification.topic, state))
        if len(page) < 1000:
            return log
        start = page[-1].id + 1


def test_the_same_seed_writes_the_same_event_log(fresh_services: Callable[[], Services]) -> None:
    first, second = fresh_services(), fresh_services()
    seed_portfolio(first.application, projects=FEW, seed=7)
    seed_portfolio(second.application, projects=FEW, seed=7)

    first_log = event_log(first.application)
    assert len(first_log) > FEW * 10
    assert first_log == event_log(second.application)


def test_another_seed_writes_another_portfolio(fresh_services: Callable[[], Services]) -> None:
    first, second = fresh_services(), fresh_services()
    seed_portfolio(first.application, projects=FEW, seed=7)
    seed_portfolio(second.application, projects=FEW, seed=8)

    assert event_log(first.application) != event_log(second.application)


def test_seeded_projects_replay_to_their_planned_state(
    fresh_services: Callable[[], Services],
) -> None:
    services = fresh_services()
    summary = seed_portfolio(services.application, projects=FEW, seed=3)
    _, steps = plan_portfolio(FEW, 3, services.application.today())

    project_ids = [s.kwargs["project_id"] for s in steps if s.command == "register_project"]
    projects = [services.application.get_project(pid) for pid in project_ids]
    assert summary.projects == len(projects) == FEW
    assert sum(len(p.activities) for p in projects) == summary.activities
    assert sum(p.is_closed for p in projects) == sum(summary.closed.values())
    assert {p.lab for p in projects} <= {lab.slug for lab in LABS}


def test_seed_refuses_a_store_that_holds_events(fresh_services: Callable[[], Services]) -> None:
    services = fresh_services()
    seed_portfolio(services.application, projects=2, seed=1)
    before = services.application.recorder.max_notification_id()

    with pytest.raises(SeedError, match="holds a portfolio already"):
        seed_portfolio(services.application, projects=2, seed=2)
    with pytest.raises(SeedError, match="another --seed"):
        seed_portfolio(services.application, projects=2, seed=1, force=True)
    assert services.application.recorder.max_notification_id() == before


def test_force_adds_a_second_portfolio_to_the_same_labs(
    fresh_services: Callable[[], Services],
) -> None:
    services = fresh_services()
    seed_portfolio(services.application, projects=2, seed=1)

    summary = seed_portfolio(services.application, projects=3, seed=2, force=True)

    assert summary.projects == 3
    assert len(services.application.list_labs()) == len(LABS)


# -- the figures, from the plan (no database needed) ----------------------------------------


@pytest.fixture(scope="module")
def default_plan() -> list[Any]:
    _, steps = plan_portfolio(200, 42, TODAY)
    return steps


def test_two_hundred_projects_log_about_five_hundred_activities(
    default_plan: list[Any],
) -> None:
    commands = Counter(s.command for s in default_plan)
    assert commands["register_project"] == 200
    assert 400 <= commands["log_activity"] <= 650
    participants = [s.kwargs["participants"] for s in default_plan if s.command == "log_activity"]
    assert all(1 <= p <= 200 for p in participants)
    kinds = Counter(s.kwargs["kind"].value for s in default_plan if s.command == "log_activity")
    assert kinds.most_common(2)[0][0] in {"workshop", "training"}


def test_every_kind_of_history_appears(default_plan: list[Any]) -> None:
    commands = Counter(s.command for s in default_plan)
    for command in (
        "enter_phase",
        "plan_milestone",
        "reschedule_milestone",
        "achieve_milestone",
        "cancel_milestone",
        "assess_health",
        "add_partner",
        "define_indicator",
        "measure_indicator",
        "commit_funding",
        "record_decision",
        "close_project",
    ):
        assert commands[command] > 0, command
    decisions = Counter(
        s.kwargs["decision"].value for s in default_plan if s.command == "enter_phase"
    )
    assert decisions["go"] > decisions["iterate"] > 0
    outcomes = {s.kwargs["outcome"] for s in default_plan if s.command == "close_project"}
    assert outcomes == set(Outcome)
    partners = {s.kwargs["name"] for s in default_plan if s.command == "add_partner"}
    assert {"CNFPT", "Collège européen de Cluny", "La 27e Région"} <= partners


def test_business_dates_stay_in_the_window_and_never_pass_today(default_plan: list[Any]) -> None:
    last = min(WINDOW_END, TODAY)
    assert all(WINDOW_START <= s.on <= last for s in default_plan)
    years = Counter(s.on.year for s in default_plan if s.command == "register_project")
    assert set(years) >= set(range(2019, 2026))
    for step in default_plan:
        for key in ("held_on", "achieved_on", "measured_on", "started_on"):
            if key in step.kwargs:
                assert step.kwargs[key] <= step.on <= last


def test_territories_are_real_cog_codes_of_the_labs_regions(default_plan: list[Any]) -> None:
    bfc_communes = {place.code for place in BFC_COMMUNES}
    by_lab = {lab.slug: lab for lab in LABS}
    for step in default_plan:
        if step.command != "register_project":
            continue
        lab = by_lab[step.kwargs["lab"]]
        territory: Territory
        for territory in step.kwargs["territories"]:
            Territory(territory.level, territory.code, territory.cog_year)  # valid formats
            if territory.level == "region":
                assert territory.code == lab.region_code
            elif territory.level == "department":
                assert territory.code in lab.departments
            elif territory.level == "commune":
                assert territory.code in {place.code for place in lab.communes}
    assert set(BFC_DEPARTMENTS) == {"21", "25", "39", "58", "70", "71", "89", "90"}
    assert {"21231", "25056", "39300", "58194", "70550", "71270", "89024", "90010"} <= bfc_communes
    assert LABS[0].region_code == "27"


def test_titles_and_summaries_are_french_and_filled_in(default_plan: list[Any]) -> None:
    registrations = [s for s in default_plan if s.command == "register_project"]
    for step in registrations:
        assert "{" not in step.kwargs["title"] + step.kwargs["summary"]
        assert 1 <= len(step.kwargs["title"]) <= 200
    titles = {s.kwargs["title"] for s in registrations}
    assert len(titles) > 100
    assert any("Villages du futur" in t for t in titles)


# -- the default size on SQLite, and the command line -------------------------------------


def test_two_hundred_projects_seed_on_sqlite(tmp_path: Path) -> None:
    """The default size seeds whole; how long it takes is the benchmarks' business
    (docs/benchmarks.md), not a test's."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'full.db'}")
    migrate.upgrade(settings)
    services = Services.open(settings)
    try:
        summary = seed_portfolio(services.application, projects=200, seed=42)
        assert services.application.recorder.max_notification_id() == summary.events
    finally:
        services.close()
    assert summary.projects == 200


def run_cli(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRACKER_DATABASE_URL": database_url}
    return subprocess.run(
        [str(Path(sys.executable).parent / "tracker"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_seed_command_prints_a_summary_then_refuses_a_second_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate.upgrade(Settings(database_url=url))

    first = run_cli("seed", "--projects", "3", "--seed", "5", database_url=url)
    second = run_cli("seed", "--projects", "3", database_url=url)

    assert first.returncode == 0, first.stderr
    assert "seeded 5 labs, 3 projects" in first.stderr
    assert second.returncode == 1
    error_lines = second.stderr.strip().splitlines()
    assert len(error_lines) == 1
    assert error_lines[0].startswith("error: the event store holds a portfolio already")


# -- the training programme ------------------------------------------------------------------


def test_two_hundred_projects_come_with_about_five_hundred_training_actions(
    default_plan: list[Any],
) -> None:
    commands = Counter(s.command for s in default_plan)
    assert 480 <= commands["schedule_training"] <= 505
    assert commands["hold_training"] > 0.85 * commands["schedule_training"]
    assert 0 < commands["cancel_training"] < 40
    assert 0 < commands["reschedule_training"] < 40
    assert commands["register_campaign"] == 1


def test_the_november_2020_programme_is_inside_its_campaign(default_plan: list[Any]) -> None:
    (campaign,) = [s for s in default_plan if s.command == "register_campaign"]
    assert (campaign.kwargs["slug"], campaign.kwargs["organiser"]) == (
        "mois-innovation-publique-2020",
        "DITP",
    )
    attached = {
        s.kwargs["title"]
        for s in default_plan
        if s.command == "schedule_training"
        and s.kwargs["campaign"] == "mois-innovation-publique-2020"
        and s.kwargs["lab"] == "etat-bfc"
    }
    assert {
        "Module 2 « Design de services : du test au déploiement »",
        "« Le Design au service des collectivités »",
        "Réseau de l'innovation publique, épisode 2",
        "Atelier Crash Test : la politique éducative à Besançon",
        "De la facilitation à la facilitation graphique",
    } <= attached
    labs = {
        s.kwargs["lab"]
        for s in default_plan
        if s.command == "schedule_training" and s.kwargs["campaign"]
    }
    assert len(labs) > 1


def test_a_seeded_store_answers_agents_trained_per_lab(
    fresh_services: Callable[[], Services],
) -> None:
    services = fresh_services()
    summary = seed_portfolio(services.application, projects=FEW, seed=3)
    _, steps = plan_portfolio(FEW, 3, services.application.today())

    trainings = [
        services.application.get_training(uuid.UUID(s.kwargs["training_id"]))
        for s in steps
        if s.command == "schedule_training"
    ]
    assert summary.trainings == len(trainings) == round(FEW * 2.5)
    assert summary.agents_trained == sum(t.attendance or 0 for t in trainings) > 0
