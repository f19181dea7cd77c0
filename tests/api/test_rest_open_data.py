"""Open data: the package of the labs that publish, validated by `frictionless`, its CSVs
re-read equal to the GraphQL answers, and nothing about people (docs/open-data.md)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from pathlib import Path

import frictionless
import pytest
from fastapi.testclient import TestClient

from domain.values import Phase
from projections.runner import PROJECTIONS, ProjectionWorker
from tests.api.conftest import TokenFactory, assert_problem
from tracker.application.commands import AchieveMilestone, CommitFunding, PlanMilestone
from tracker.application.service import TrackerApplication
from tracker.application.services import Services
from tracker.exports.open_data import export

OD = "/api/v1/open-data"
REASON = "motif-confidentiel-7f3a"


@pytest.fixture
def filled(
    api_application: TrackerApplication, app_services: Services, project: uuid.UUID
) -> uuid.UUID:
    """The project with a milestone achieved (with a reason and evidence) and funding."""
    at = api_application.meta("tok_secret_actor", "fixture", date(2025, 1, 10))
    milestone = api_application.execute(
        PlanMilestone(
            project_id=project, title="Atelier", due_on=date(2025, 2, 1), phase=Phase.DISCOVERY
        ),
        at,
    ).created_id
    assert milestone is not None
    api_application.execute(
        AchieveMilestone(
            project_id=project,
            milestone_id=milestone,
            achieved_on=date(2025, 1, 10),
            evidence="Compte rendu de Jeanne Martin",
            reason=REASON,
        ),
        at,
    )
    api_application.execute(
        CommitFunding(project_id=project, source="État", amount_cents=250_050, fiscal_year=2025),
        at,
    )
    return project


def publish(client: TestClient, headers: dict[str, str], lab: str, published: bool = True) -> None:
    answer = client.put(
        f"/api/v1/labs/{lab}/publication", json={"published": published}, headers=headers
    )
    assert answer.status_code == 200, answer.text


def catch_up(services: Services) -> None:
    for projection in PROJECTIONS:
        ProjectionWorker(services, projection).run_until_caught_up()


def rows(client: TestClient, resource: str) -> list[dict[str, str]]:
    answer = client.get(f"{OD}/{resource}.csv")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8"))))


def test_a_lab_that_does_not_publish_is_not_in_the_open_data(
    client: TestClient, app_services: Services, lab: str, filled: uuid.UUID
) -> None:
    catch_up(app_services)
    assert str(filled) not in {r["id"] for r in rows(client, "projets")}
    assert str(filled) not in {r["id_projet"] for r in rows(client, "jalons")}


def test_a_published_labs_projects_milestones_and_territories_are_open_data(
    client: TestClient, app_services: Services, staff: dict[str, str], lab: str, filled: uuid.UUID
) -> None:
    publish(client, staff, lab)
    catch_up(app_services)
    project = next(r for r in rows(client, "projets") if r["id"] == str(filled))
    assert (project["laboratoire"], project["financement_euros"]) == (lab, "2500.50")
    assert project["jalons_atteints"] == "1"
    milestone = next(r for r in rows(client, "jalons") if r["id_projet"] == str(filled))
    assert (milestone["statut"], milestone["date_atteinte"]) == ("achieved", "2025-01-10")
    place = next(r for r in rows(client, "territoires") if r["id_projet"] == str(filled))
    assert (place["niveau"], place["code_cog"], place["annee_cog"], place["nom"]) == (
        "department",
        "71",
        "2024",
        "Saône-et-Loire",
    )


def test_open_data_names_no_actor_token_person_or_reason(
    client: TestClient, app_services: Services, staff: dict[str, str], lab: str, filled: uuid.UUID
) -> None:
    publish(client, staff, lab)
    catch_up(app_services)
    text = "".join(client.get(f"{OD}/{r}.csv").text for r in ("projets", "jalons", "territoires"))
    for secret in (REASON, "tok_secret_actor", "Jeanne Martin", staff["Authorization"][7:]):
        assert secret not in text


def test_the_exported_package_validates_with_frictionless(
    client: TestClient,
    app_services: Services,
    staff: dict[str, str],
    lab: str,
    filled: uuid.UUID,
    tmp_path: Path,
) -> None:
    publish(client, staff, lab)
    catch_up(app_services)
    export(app_services, tmp_path, date(2026, 3, 1))
    report = frictionless.validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    served = client.get(f"{OD}/datapackage.json").json()
    assert [r["name"] for r in served["resources"]] == ["projets", "jalons", "territoires"]
    assert served["resources"][0]["schema"]["fields"][0]["title"] == "Identifiant du projet"


def test_the_csv_re_reads_equal_to_the_graphql_answer(
    client: TestClient,
    app_services: Services,
    staff: dict[str, str],
    tokens: TokenFactory,
    lab: str,
    filled: uuid.UUID,
) -> None:
    publish(client, staff, lab)
    catch_up(app_services)
    query = (
        "query($lab: String!) { projects(first: 100, filter: {lab: $lab})"
        " { edges { node { id title startedOn } } } }"
    )
    answer = client.post(
        "/graphql", json={"query": query, "variables": {"lab": lab}}, headers=tokens("viewer")
    ).json()
    assert "errors" not in answer, answer
    from_graphql = [
        (n["node"]["id"], n["node"]["title"], n["node"]["startedOn"])
        for n in answer["data"]["projects"]["edges"]
    ]
    from_csv = [
        (r["id"], r["titre"], r["date_debut"])
        for r in rows(client, "projets")
        if r["laboratoire"] == lab
    ]
    assert from_csv == from_graphql


def test_staff_of_another_lab_cannot_publish_and_a_no_op_change_is_refused(
    client: TestClient, tokens: TokenFactory, lab: str, staff: dict[str, str]
) -> None:
    other = tokens("staff", "autre-lab")
    response = client.put(
        f"/api/v1/labs/{lab}/publication", json={"published": True}, headers=other
    )
    assert_problem(response, 403)
    publish(client, staff, lab)
    again = client.put(f"/api/v1/labs/{lab}/publication", json={"published": True}, headers=staff)
    assert_problem(again, 409)
    publish(client, tokens("admin"), lab, published=False)


def test_an_unknown_resource_is_404(client: TestClient) -> None:
    assert_problem(client.get(f"{OD}/personnes.csv"), 404)
