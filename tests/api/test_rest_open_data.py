"""Open data: the package of the labs that publish, validated by `frictionless` (every
resource, latest and at a moment), its CSVs re-read equal to the GraphQL answers (on a
business date, as known at an instant too), and nothing about people (docs/open-data.md).

One world per database for the whole module (a published lab, an unpublished one, a
project whose health was revised after the fact): the tests only read it.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import frictionless
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from domain.values import Health, Phase
from projections.runner import PROJECTIONS, ProjectionWorker
from tests.api.conftest import TokenFactory, assert_problem, register_project
from tests.factories import registered_campaign, registered_lab, schedule_training
from tracker.application.commands import (
    AchieveMilestone,
    AssessHealth,
    ChangeLabPublication,
    Command,
    CommitFunding,
    HoldTraining,
    PlanMilestone,
)
from tracker.application.services import Services
from tracker.asgi import create_app
from tracker.cli.main import cli
from tracker.config.logging import configure_logging
from tracker.config.settings import Settings, get_settings
from tracker.exports.open_data import RESOURCES, Moment, export

OD = "/api/v1/open-data"
REASON = "motif-confidentiel-7f3a"
EVIDENCE = "Compte rendu de Jeanne Martin"
ACTOR = "tok_secret_actor"


@dataclass
class World:
    client: TestClient
    services: Services
    tokens: TokenFactory
    lab: str
    hidden_lab: str
    project: uuid.UUID
    hidden_project: uuid.UUID
    report: datetime
    """An instant between the first health assessment and the backdated second one."""
    campaign: str
    training: uuid.UUID
    hidden_training: uuid.UUID


@pytest.fixture(scope="module")
def world(database_url: str) -> Iterator[World]:
    """A published lab's project (a milestone achieved with evidence and a reason, funding,
    health at risk from 1 March, then, recorded after `report`, off track from 15 February:
    the later business date wins)
    and an unpublished lab's project."""
    app = create_app(Settings(database_url=database_url), run_projector=False)
    with TestClient(app) as client:
        services: Services = client.app.state.services  # type: ignore[attr-defined]
        application = services.application

        def send(command: Command, on: date) -> Any:
            return application.execute(command, application.meta(ACTOR, "od", on))

        lab, hidden_lab = registered_lab(application), registered_lab(application)
        send(ChangeLabPublication(lab=lab, published=True, reason=REASON), date(2025, 1, 6))
        project = register_project(application, lab)
        hidden_project = register_project(application, hidden_lab)
        milestone = send(
            PlanMilestone(
                project_id=project, title="Atelier", due_on=date(2025, 2, 1), phase=Phase.DISCOVERY
            ),
            date(2025, 1, 10),
        ).created_id
        send(
            AchieveMilestone(
                project_id=project,
                milestone_id=milestone,
                achieved_on=date(2025, 1, 10),
                evidence=EVIDENCE,
                reason=REASON,
            ),
            date(2025, 1, 10),
        )
        send(
            CommitFunding(
                project_id=project, source="État", amount_cents=250_050, fiscal_year=2025
            ),
            date(2025, 1, 10),
        )
        send(
            AssessHealth(project_id=project, health=Health.AT_RISK, reason=REASON),
            date(2025, 3, 1),
        )
        report = datetime.now(UTC)
        send(
            AssessHealth(project_id=project, health=Health.OFF_TRACK, reason=REASON),
            date(2025, 2, 15),
        )
        campaign = registered_campaign(application)
        training = send(replace(schedule_training(lab), campaign=campaign), date(2025, 11, 1)).id
        send(
            HoldTraining(
                training_id=training, attendance=12, attendance_by_audience={"communes_epci": 12}
            ),
            date(2025, 12, 1),
        )
        hidden_training = send(schedule_training(hidden_lab), date(2025, 11, 1)).id
        for projection in PROJECTIONS:
            ProjectionWorker(services, projection).run_until_caught_up()
        yield World(
            client,
            services,
            TokenFactory(services),
            lab,
            hidden_lab,
            project,
            hidden_project,
            report,
            campaign,
            training,
            hidden_training,
        )


def rows(world: World, resource: str, **query: str) -> list[dict[str, str]]:
    answer = world.client.get(f"{OD}/{resource}.csv", params=query)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8"))))


def graphql(world: World, query: str, **variables: Any) -> dict[str, Any]:
    answer = world.client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers=world.tokens("viewer"),
    ).json()
    assert "errors" not in answer, answer
    data: dict[str, Any] = answer["data"]
    return data


def test_a_lab_that_does_not_publish_is_not_in_the_open_data(world: World) -> None:
    assert str(world.hidden_project) not in {r["id"] for r in rows(world, "projets")}
    assert str(world.hidden_project) not in {r["id_projet"] for r in rows(world, "territoires")}
    assert str(world.hidden_training) not in {r["id"] for r in rows(world, "formations")}
    assert world.hidden_lab not in {r["laboratoire"] for r in rows(world, "jalons")}


def test_a_published_labs_projects_milestones_and_territories_are_open_data(
    world: World,
) -> None:
    project = next(r for r in rows(world, "projets") if r["id"] == str(world.project))
    assert (project["laboratoire"], project["financement_euros"]) == (world.lab, "2500.50")
    assert (project["jalons_atteints"], project["sante"]) == ("1", "at_risk")
    milestone = next(r for r in rows(world, "jalons") if r["id_projet"] == str(world.project))
    assert (milestone["statut"], milestone["date_atteinte"]) == ("achieved", "2025-01-10")
    place = next(r for r in rows(world, "territoires") if r["id_projet"] == str(world.project))
    assert (place["niveau"], place["code_cog"], place["annee_cog"], place["nom"]) == (
        "department",
        "71",
        "2024",
        "Saône-et-Loire",
    )


def test_a_published_labs_training_actions_and_the_campaigns_are_open_data(world: World) -> None:
    action = next(r for r in rows(world, "formations") if r["id"] == str(world.training))
    assert (action["laboratoire"], action["statut"], action["format"]) == (
        world.lab,
        "held",
        "workshop",
    )
    assert (action["participants"], action["campagne"], action["sessions"]) == (
        "12",
        world.campaign,
        "1",
    )
    attendance = [r for r in rows(world, "formations_publics") if r["id_formation"] == action["id"]]
    assert [(r["public"], r["participants"]) for r in attendance] == [("communes_epci", "12")]
    campaign = next(r for r in rows(world, "campagnes") if r["identifiant"] == world.campaign)
    assert (campaign["organisateur"], campaign["date_debut"]) == ("DITP", "2025-11-02")


PROGRAMME = """query($lab: String!) { trainingProgramme(filter: {lab: $lab}) {
  held agentsTrained byFormat { key held } } }"""


def test_the_training_csv_re_reads_equal_to_the_graphql_programme(world: World) -> None:
    programme = graphql(world, PROGRAMME, lab=world.lab)["trainingProgramme"]
    actions = [r for r in rows(world, "formations") if r["laboratoire"] == world.lab]
    held = [r for r in actions if r["statut"] == "held"]
    assert (len(held), sum(int(r["participants"]) for r in held)) == (
        programme["held"],
        programme["agentsTrained"],
    )
    by_format = {g["key"].lower(): g["held"] for g in programme["byFormat"]}
    assert by_format == Counter(r["format"] for r in held)


@pytest.mark.parametrize(
    ("query", "status", "agents"),
    [
        ({}, "held", "12"),
        ({"on": "2025-11-15"}, "scheduled", ""),
        ({"on": "2025-10-31"}, None, None),
        ({"as_known_at": "report"}, None, None),
    ],
)
def test_the_training_programme_on_a_date_as_known_at_an_instant(
    world: World, query: dict[str, str], status: str | None, agents: str | None
) -> None:
    if "as_known_at" in query:
        query = {"as_known_at": world.report.isoformat()}
    actions = [r for r in rows(world, "formations", **query) if r["id"] == str(world.training)]
    assert [(r["statut"], r["participants"]) for r in actions] == (
        [(status, agents)] if status else []
    )
    attendance = rows(world, "formations_publics", **query)
    assert [r["participants"] for r in attendance if r["id_formation"] == str(world.training)] == (
        [agents] if agents else []
    )
    campaigns = {r["identifiant"] for r in rows(world, "campagnes", **query)}
    assert (world.campaign in campaigns) == ("as_known_at" not in query)


def test_open_data_names_no_actor_token_person_or_reason(world: World) -> None:
    token = world.tokens.token("staff", world.lab)
    texts = [world.client.get(f"{OD}/{r.name}.csv").text for r in RESOURCES]
    texts.append(world.client.get(f"{OD}/datapackage.json").text)
    for secret in (REASON, ACTOR, EVIDENCE, token):
        assert not [t for t in texts if secret in t], secret


@pytest.mark.parametrize("when", ["latest", "on-a-date-as-known-then", "on-a-date"])
def test_the_exported_package_validates_with_frictionless(
    world: World, tmp_path: Path, when: str
) -> None:
    moment = {
        "latest": Moment(),
        "on-a-date-as-known-then": Moment(date(2025, 2, 20), world.report),
        "on-a-date": Moment(date(2025, 11, 15)),
    }[when]
    written = export(world.services, tmp_path, date(2026, 3, 1), moment)
    report = frictionless.validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert len(report.tasks) == len(written) - 1 == len(RESOURCES)
    served = world.client.get(f"{OD}/datapackage.json", params=_query(moment)).json()
    names = [r["name"] for r in served["resources"]]
    assert names == [r.name for r in RESOURCES]
    for resource in served["resources"]:
        expected = (tmp_path / f"{resource['name']}.csv").read_text(encoding="utf-8")
        assert world.client.get(f"{OD}/{resource['path']}").text == expected
    assert served["resources"][0]["schema"]["fields"][0]["title"] == "Identifiant du projet"


def _query(moment: Moment) -> dict[str, str]:
    """The route's query for `moment`."""
    asked = moment.properties()
    return {k: v for k, v in (("on", asked["on"]), ("as_known_at", asked["asKnownAt"])) if v}


PROJECTS = """query($lab: String!, $on: Date, $at: DateTime) {
  projects(first: 100, filter: {lab: $lab}, on: $on, asKnownAt: $at) {
    edges { node { id title health startedOn } } } }"""


@pytest.mark.parametrize(
    ("on", "known_then", "health"),
    [
        (None, False, "at_risk"),
        ("2025-03-10", True, "at_risk"),
        ("2025-02-20", False, "off_track"),
        ("2025-02-20", True, "on_track"),
        ("2025-01-05", False, None),
    ],
)
def test_the_csv_re_reads_equal_to_the_graphql_answer_on_a_date_as_known_at_an_instant(
    world: World, on: str | None, known_then: bool, health: str | None
) -> None:
    at = world.report.isoformat() if known_then else None
    query = {k: v for k, v in (("on", on), ("as_known_at", at)) if v is not None}
    edges = graphql(world, PROJECTS, lab=world.lab, on=on, at=at)["projects"]["edges"]
    from_graphql = [
        (n["node"]["id"], n["node"]["title"], n["node"]["health"].lower(), n["node"]["startedOn"])
        for n in edges
    ]
    from_csv = [
        (r["id"], r["titre"], r["sante"], r["date_debut"])
        for r in rows(world, "projets", **query)
        if r["laboratoire"] == world.lab
    ]
    assert from_csv == from_graphql
    assert [r[2] for r in from_csv] == ([health] if health else [])


def test_the_package_at_a_moment_says_so_and_its_paths_keep_it(world: World) -> None:
    at = world.report.isoformat()
    package = world.client.get(
        f"{OD}/datapackage.json", params={"on": "2025-02-20", "as_known_at": at}
    ).json()
    assert (package["on"], package["asKnownAt"]) == ("2025-02-20", at)
    assert "2025-02-20" in package["description"]
    assert package["resources"][0]["path"].startswith("projets.csv?on=2025-02-20&as_known_at=")
    latest = world.client.get(f"{OD}/datapackage.json").json()
    assert (latest["on"], latest["asKnownAt"], latest["resources"][0]["path"]) == (
        None,
        None,
        "projets.csv",
    )


def test_tracker_open_data_export_writes_the_package_at_a_moment(
    world: World, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = world.report.isoformat()
    monkeypatch.setenv("TRACKER_DATABASE_URL", database_url)
    arguments = ["open-data", "export", str(tmp_path), "--on", "2025-02-20", "--as-known-at", at]
    get_settings.cache_clear()
    try:
        done = CliRunner().invoke(cli, arguments)
    finally:
        get_settings.cache_clear()
        configure_logging("console", "WARNING")
    assert done.exit_code == 0, done.output
    assert done.stdout.split() == [str(tmp_path / "datapackage.json")] + [
        str(tmp_path / r.path) for r in RESOURCES
    ]
    for name in ("projets", "formations"):
        served = world.client.get(
            f"{OD}/{name}.csv", params={"on": "2025-02-20", "as_known_at": at}
        )
        assert (tmp_path / f"{name}.csv").read_text(encoding="utf-8") == served.text


def test_a_malformed_date_is_422(world: World) -> None:
    assert_problem(world.client.get(f"{OD}/projets.csv", params={"on": "hier"}), 422)
    for instant in ("x", "1700000000", "2.3e-13"):
        answer = world.client.get(f"{OD}/datapackage.json", params={"as_known_at": instant})
        errors = assert_problem(answer, 422)["errors"]
        assert "instant ISO 8601" in errors[0]["msg"], errors


def test_staff_of_another_lab_cannot_publish_and_a_no_op_change_is_refused(
    client: TestClient, tokens: TokenFactory, lab: str, staff: dict[str, str]
) -> None:
    path = f"/api/v1/labs/{lab}/publication"
    assert_problem(
        client.put(path, json={"published": True}, headers=tokens("staff", "autre-lab")), 403
    )
    assert client.put(path, json={"published": True}, headers=staff).status_code == 200
    assert_problem(client.put(path, json={"published": True}, headers=staff), 409)
    stopped = client.put(path, json={"published": False}, headers=tokens("admin"))
    assert stopped.status_code == 200, stopped.text


def test_an_unknown_resource_is_404(world: World) -> None:
    assert_problem(world.client.get(f"{OD}/personnes.csv"), 404)
