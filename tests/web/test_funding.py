"""The funding page `/financements`, the list behind the dashboard's funding by year, and
the schema's `funding` it reads."""

from __future__ import annotations

import html
import re
import uuid
from datetime import date

from fastapi.testclient import TestClient

from tests.web.conftest import caught_up, new_token, register, sign_in
from tracker.application.commands import CommitFunding
from tracker.application.services import Services
from tracker.web.reading import query_text

COMMITMENTS = [
    ("Région Bourgogne-Franche-Comté", 1_500_000_00, 2025),
    ("Région Bourgogne-Franche-Comté", 250_000_00, 2025),
    ("Banque des Territoires", 800_000_00, 2025),
    ("Fonds de transformation", 420_000_00, 2026),
]


def _funded(services: Services) -> tuple[str, str, int]:
    """A lab whose one project has funding for 2025 (two sources) and 2026."""
    application = services.application
    lab, project_id, position = register(application, "Villages du futur")
    for source, cents, year in COMMITMENTS:
        position = application.execute(
            CommitFunding(
                project_id=project_id, source=source, amount_cents=cents, fiscal_year=year
            ),
            application.meta("tok_fixture", str(uuid.uuid4()), date(2025, 2, 3)),
        ).position
    return lab, str(project_id), position


def _graphql(web: TestClient, token: str, query: str, variables: dict[str, object]) -> dict:
    response = web.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_each_years_funding_links_to_the_lines_that_add_up_to_it(
    web: TestClient, web_services: Services
) -> None:
    lab, _, position = _funded(web_services)
    caught_up(web, position)
    sign_in(web, new_token(web_services))
    dashboard = web.get("/", params={"lab": lab}).text
    shown = re.search(r'data-figure="funding-2025"><a href="([^"]+)">([^<]+)<', dashboard)
    assert shown is not None
    target, amount = html.unescape(shown.group(1)), shown.group(2)
    assert target == f"/financements?lab={lab}&annee=2025"
    page = web.get(target)
    assert page.status_code == 200
    assert "<h1>Financements engagés pour 2025</h1>" in page.text
    summary = re.search(r'data-figure="amount">([^<]+)<', page.text)
    assert summary is not None
    assert amount in summary.group(1)
    assert "2 lignes de financement" in page.text
    assert "Banque des Territoires" in page.text
    assert "Fonds de transformation" not in page.text


def test_the_schema_pages_the_funding_lines_with_their_projects(
    web: TestClient, web_services: Services
) -> None:
    lab, project_id, position = _funded(web_services)
    caught_up(web, position)
    token = new_token(web_services)
    query = """query($filter: FundingFilter, $after: String) {
      funding(filter: $filter, first: 1, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { node { source fiscalYear amountCents project { id } } }
      }
    }"""
    kept = {"project": {"lab": lab}}
    seen, after = [], None
    while True:
        found = _graphql(web, token, query, {"filter": kept, "after": after})["funding"]
        assert found["totalCount"] == 3  # two sources in 2025, one in 2026
        seen += [edge["node"] for edge in found["edges"]]
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]
    assert [(n["fiscalYear"], n["source"]) for n in seen] == [
        (2025, "Banque des Territoires"),
        (2025, "Région Bourgogne-Franche-Comté"),
        (2026, "Fonds de transformation"),
    ]
    assert seen[1]["amountCents"] == 1_750_000_00  # both commitments of that source and year
    assert {n["project"]["id"] for n in seen} == {project_id}
    bad = web.post(
        "/graphql",
        json={"query": query, "variables": {"after": "bm90LWEtY3Vyc29y"}},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_the_funding_page_travels_in_time(web: TestClient, web_services: Services) -> None:
    lab, _, position = _funded(web_services)
    caught_up(web, position)
    sign_in(web, new_token(web_services))
    before = web.get("/financements", params={"lab": lab, "on": "2025-01-31"})
    assert before.status_code == 200
    assert "Date métier affichée : 31 janvier 2025" in before.text
    assert "Aucun financement ne correspond à ces filtres." in before.text
    assert "3 lignes de financement" in web.get("/financements", params={"lab": lab}).text


def test_a_year_that_is_not_one_is_a_french_400(web: TestClient, web_services: Services) -> None:
    sign_in(web, new_token(web_services))
    page = web.get("/financements", params={"annee": "deux-mille"})
    assert page.status_code == 400
    assert "Année invalide" in page.text
    assert "deux-mille" in page.text


def test_the_funding_query_is_a_worked_example_on_the_page(
    web: TestClient, web_services: Services
) -> None:
    sign_in(web, new_token(web_services))
    page = web.get("/financements").text
    assert html.escape(query_text("funding").splitlines()[0]) in page
