"""Spreadsheets of the lists staff use: the projects, the training programme and a
campaign, as XLSX and ODS read back with independent readers (openpyxl; the ODS's XML),
holding the JSON's numbers (docs/spreadsheets.md).

One world per database for the whole module; the tests only read it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.values import ActivityMode, Phase, Territory, TrainingFormat
from projections.runner import PROJECTIONS, ProjectionWorker
from tests.api.conftest import TokenFactory, assert_problem, register_project
from tests.api.test_rest_spreadsheets import ods_sheets, xlsx_sheets
from tests.factories import registered_campaign, registered_lab, schedule_training
from tracker.application.commands import Command, CommitFunding, HoldTraining
from tracker.application.services import Services
from tracker.asgi import create_app
from tracker.config.settings import Settings
from tracker.exports.spreadsheets import ODS, XLSX


@dataclass
class World:
    client: TestClient
    viewer: dict[str, str]
    lab: str
    projects: list[uuid.UUID]
    campaign: str


@pytest.fixture(scope="module")
def world(database_url: str) -> Iterator[World]:
    """A lab with two projects (one funded 12,345.67 €) and three training actions: a
    workshop of a campaign held with 12 agents, a webinar held with 30, one scheduled."""
    app = create_app(Settings(database_url=database_url), run_projector=False)
    with TestClient(app) as client:
        services: Services = client.app.state.services  # type: ignore[attr-defined]
        application = services.application

        def send(command: Command) -> Any:
            return application.execute(command, application.meta("t", "c", date(2025, 12, 1)))

        lab = registered_lab(application)
        projects = [register_project(application, lab) for _ in range(2)]
        send(
            CommitFunding(
                project_id=projects[0], source="État", amount_cents=1_234_567, fiscal_year=2025
            )
        )
        campaign = registered_campaign(application)
        workshop = send(replace(schedule_training(lab), campaign=campaign)).id
        webinar = send(
            replace(
                schedule_training(lab),
                format=TrainingFormat.WEBINAR,
                mode=ActivityMode.IN_PERSON,
                place=Territory("commune", "21231", 2024),
                audiences=["state", "region"],
                session_dates=[date(2025, 10, 2), date(2025, 10, 9)],
            )
        ).id
        send(schedule_training(lab))
        send(HoldTraining(training_id=workshop, attendance=12))
        send(
            HoldTraining(
                training_id=webinar,
                attendance=30,
                attendance_by_audience={"state": 20, "region": 10},
            )
        )
        for projection in PROJECTIONS:
            ProjectionWorker(services, projection).run_until_caught_up()
        yield World(client, TokenFactory(services)("viewer"), lab, projects, campaign)


def get(world: World, path: str, **params: Any) -> Any:
    return world.client.get(path, params=params, headers=world.viewer)


def download(world: World, path: str, media: str, **params: Any) -> bytes:
    answer = get(world, path, **params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == media
    assert "attachment" in answer.headers["content-disposition"]
    content: bytes = answer.content
    return content


def test_the_projects_as_xlsx_hold_every_project_kept_with_dates_and_euros(world: World) -> None:
    listed = get(world, "/api/v1/projects", lab=world.lab).json()["items"]
    content = download(world, "/api/v1/projects", XLSX, lab=world.lab, limit=1, format="xlsx")
    rows = xlsx_sheets(content)["Projets"]
    header = rows[0]
    assert header[:3] == ("Laboratoire", "Projet", "Phase")
    ids = [r[header.index("Identifiant du projet")] for r in rows[1:]]
    assert ids == [p["id"] for p in listed] == [str(p) for p in world.projects]
    started = [r[header.index("Début")] for r in rows[1:]]
    assert started == [datetime.fromisoformat(p["started_on"]) for p in listed]
    assert [r[header.index("Financement")] for r in rows[1:]] == [12345.67, 0]
    assert rows[1][header.index("Phase")] == Phase.FRAMING.label


def test_the_projects_as_ods_hold_the_funding_as_a_currency(world: World) -> None:
    content = download(world, "/api/v1/projects", ODS, lab=world.lab, format="ods")
    rows = ods_sheets(content)["Projets"]
    header = [value for _, value in rows[0]]
    funding = header.index("Financement")
    assert rows[1][funding] == ("currency", "12345.67")
    assert rows[1][header.index("Début")] == ("date", "2025-01-06")


PROGRAMME = """query($lab: String!) { trainingProgramme(filter: {lab: $lab}) {
  held agentsTrained byFormat { key held agentsTrained } } }"""


def test_the_training_programme_as_xlsx_holds_the_actions_and_the_graphql_roll_ups(
    world: World,
) -> None:
    listed = get(world, "/api/v1/trainings", lab=world.lab).json()["items"]
    sheets = xlsx_sheets(download(world, "/api/v1/trainings", XLSX, lab=world.lab, format="xlsx"))
    assert list(sheets) == ["Formations", "Par format", "Par laboratoire", "Par public"]
    actions = sheets["Formations"]
    header = actions[0]
    ids = [r[header.index("Identifiant de l'action")] for r in actions[1:]]
    assert ids == [t["id"] for t in listed]
    firsts = [r[header.index("Première session")] for r in actions[1:]]
    assert firsts == [datetime.fromisoformat(t["sessions"][0]["date"]) for t in listed]
    answer = world.client.post(
        "/graphql", json={"query": PROGRAMME, "variables": {"lab": world.lab}}, headers=world.viewer
    ).json()["data"]["trainingProgramme"]
    by_format = {r[0]: (r[2], r[4]) for r in sheets["Par format"][1:]}
    assert by_format == {
        TrainingFormat(g["key"].lower()).label: (g["held"], g["agentsTrained"])
        for g in answer["byFormat"]
    }
    assert sheets["Par laboratoire"][1] == (world.lab, 1, 2, 0, answer["agentsTrained"])
    assert sheets["Par public"][1:] == [("Région", 10), ("Services de l'État", 20)]


def test_a_training_format_filters_while_accept_asks_for_the_spreadsheet(world: World) -> None:
    answer = world.client.get(
        "/api/v1/trainings",
        params={"lab": world.lab, "format": "webinar"},
        headers=world.viewer | {"Accept": ODS},
    )
    assert answer.headers["content-type"] == ODS
    actions = ods_sheets(answer.content)["Formations"]
    header = [value for _, value in actions[0]]
    assert [row[header.index("Format")][1] for row in actions[1:]] == ["Webinaire"]
    sessions = actions[1][header.index("Sessions")]
    assert sessions == ("float", "2")


def test_the_programme_spreadsheet_keeps_the_mode_status_and_place_filters(world: World) -> None:
    in_dijon = {"lab": world.lab, "mode": "in_person", "status": "held", "place": "21231"}
    listed = get(world, "/api/v1/trainings", **in_dijon).json()["items"]
    assert [t["format"] for t in listed] == ["webinar"]
    sheets = xlsx_sheets(download(world, "/api/v1/trainings", XLSX, **in_dijon, format="xlsx"))
    header = sheets["Formations"][0]
    assert [r[header.index("Identifiant de l'action")] for r in sheets["Formations"][1:]] == [
        listed[0]["id"]
    ]
    scheduled = get(world, "/api/v1/trainings", lab=world.lab, status="scheduled").json()
    assert [t["status"] for t in scheduled["items"]] == ["scheduled"]
    assert get(world, "/api/v1/trainings", place="Dijon").status_code == 422


def test_a_campaign_as_a_spreadsheet_has_its_row_its_actions_and_roll_ups(world: World) -> None:
    path = f"/api/v1/campaigns/{world.campaign}"
    sheets = xlsx_sheets(download(world, path, XLSX, format="xlsx"))
    assert list(sheets) == ["Campagne", "Formations", "Par format", "Par laboratoire", "Par public"]
    assert sheets["Campagne"][1][:4] == (
        "Mois de l'innovation publique",
        world.campaign,
        datetime(2025, 11, 2),
        datetime(2025, 11, 30),
    )
    assert len(sheets["Formations"]) == 2
    assert "ods" in get(world, path, format="pdf").json()["detail"]


def test_an_unknown_campaign_has_no_spreadsheet(world: World) -> None:
    assert_problem(get(world, "/api/v1/campaigns/inconnue", format="ods"), 404)


def test_an_unknown_format_on_the_lists_gets_406(world: World) -> None:
    for path in ("/api/v1/projects", "/api/v1/trainings"):
        problem = assert_problem(get(world, path, format="csv"), 406)
        assert "xlsx" in problem["detail"]
