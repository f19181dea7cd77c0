"""The training programme's pages through the real app: `/formations` and
`/campagnes/{slug}` show what the GraphQL queries answer, in French."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from domain.values import ActivityMode, Territory
from tests.factories import registered_campaign, schedule_training
from tests.web.conftest import caught_up, new_token, register, sign_in
from tracker.application.commands import HoldTraining
from tracker.application.services import Services
from tracker.web.reading import query_text


@pytest.fixture
def web(shared: TestClient) -> TestClient:
    """This module's tests share one app per back end (tests/web/conftest.py)."""
    return shared


def _figure(page: str, name: str) -> int:
    shown = re.search(rf'data-figure="{name}">([^<]+)<', page)
    assert shown is not None, name
    return int(re.sub(r"\D", "", shown.group(1)))


def _held_campaign_action(services: Services) -> tuple[str, str, int]:
    """A lab and a campaign with one workshop held for 24 agents: (lab, campaign, position)."""
    application = services.application
    lab, _, _ = register(application, "Villages du futur")
    campaign = registered_campaign(application)
    scheduled = application.execute(
        dataclasses.replace(schedule_training(lab), campaign=campaign), application.meta("t", "c")
    )
    held = application.execute(
        HoldTraining(training_id=scheduled.id, attendance=24),
        application.meta("t", "c"),
    )
    return lab, campaign, held.position


def test_the_training_programme_shows_what_graphql_answers(
    web: TestClient, web_services: Services
) -> None:
    lab, _, position = _held_campaign_action(web_services)
    caught_up(web, position)
    token = new_token(web_services)
    sign_in(web, token)
    page = web.get("/formations", params={"lab": lab})
    assert page.status_code == 200
    assert "Programme de formation" in page.text
    answer = web.post(
        "/graphql",
        json={
            "query": query_text("training"),
            "variables": {"filter": {"lab": lab}, "first": 25},
        },
        headers={"Authorization": f"Bearer {token}"},
    ).json()["data"]
    assert _figure(page.text, "agentsTrained") == answer["trainingProgramme"]["agentsTrained"] == 24
    assert _figure(page.text, "held") == 1
    assert "Atelier Crash Test" in page.text
    assert "Tenue" in page.text


def test_the_training_programme_names_its_campaigns_each_linking_to_its_page(
    web: TestClient, web_services: Services
) -> None:
    lab, campaign, position = _held_campaign_action(web_services)
    caught_up(web, position)
    token = new_token(web_services)
    sign_in(web, token)
    answer = web.post(
        "/graphql",
        json={
            "query": "query($f: TrainingFilter) { trainingProgramme(filter: $f) {"
            " byCampaign { key label total } } }",
            "variables": {"f": {"lab": lab}},
        },
        headers={"Authorization": f"Bearer {token}"},
    ).json()["data"]["trainingProgramme"]
    assert answer["byCampaign"] == [
        {"key": campaign, "label": "Mois de l'innovation publique", "total": 1}
    ]
    page = web.get("/formations", params={"lab": lab}).text
    # In « Actions par campagne » (its table) and in the list of actions.
    named = rf'href="/campagnes/{campaign}(\?[^"]*)?">Mois de l&#39;innovation publique</a>'
    assert len(re.findall(named, page)) == 2
    assert f">{campaign}</a>" not in page


def test_the_training_programme_shows_its_communes_by_name_each_linking_to_its_actions(
    web: TestClient, web_services: Services
) -> None:
    application = web_services.application
    lab, _, _ = register(application, "Villages en salle")
    for title in ("Atelier à Dijon", "Atelier à Dijon, suite"):
        in_dijon = dataclasses.replace(
            schedule_training(lab),
            title=title,
            mode=ActivityMode.IN_PERSON,
            place=Territory("commune", "21231", 2024),
        )
        application.execute(in_dijon, application.meta("t", "c"))
    online = application.execute(schedule_training(lab), application.meta("t", "c"))
    caught_up(web, online.position)
    token = new_token(web_services)
    sign_in(web, token)
    answer = web.post(
        "/graphql",
        json={
            "query": "query($f: TrainingFilter) { trainingProgramme(filter: $f) {"
            " byTerritory { key label total } } }",
            "variables": {"f": {"lab": lab}},
        },
        headers={"Authorization": f"Bearer {token}"},
    ).json()["data"]["trainingProgramme"]
    # The remote action has no place: in no group.
    assert answer["byTerritory"] == [{"key": "21231", "label": "Dijon", "total": 2}]
    page = web.get("/formations", params={"lab": lab})
    assert "Actions par commune" in page.text
    # Counts are plurals: one format, one lab (not « en 1 formats »).
    assert "3 actions (prévues, tenues ou annulées) en 1 format ;" in page.text
    assert "3 actions dans 1 laboratoire." in page.text
    assert f'href="/formations?lab={lab}&amp;place=21231">Dijon (21231)</a>' in page.text
    dijon = web.get("/formations", params={"lab": lab, "place": "21231"})
    assert "Atelier à Dijon" in dijon.text
    assert "Atelier Crash Test" not in dijon.text
    assert _figure(dijon.text, "scheduled") == 2


def _backdated_campaign_action(services: Services) -> tuple[str, str, int]:
    """A workshop of a new lab in the campaign, scheduled on 2025-11-01 and held for 12
    agents on 2025-11-30 (business dates): (lab, campaign, position)."""
    application = services.application
    lab, _, _ = register(application, "Villages d'hier")
    campaign = registered_campaign(application)
    scheduled = application.execute(
        dataclasses.replace(schedule_training(lab), campaign=campaign),
        application.meta("t", "c", occurred_on=date(2025, 11, 1)),
    )
    held = application.execute(
        HoldTraining(training_id=scheduled.id, attendance=12),
        application.meta("t", "c", occurred_on=date(2025, 11, 30)),
    )
    return lab, campaign, held.position


def test_the_training_programme_travels_in_time(web: TestClient, web_services: Services) -> None:
    lab, _, position = _backdated_campaign_action(web_services)
    caught_up(web, position)
    sign_in(web, new_token(web_services))
    before = web.get("/formations", params={"lab": lab, "on": "2025-11-15"})
    assert before.status_code == 200
    assert "Date métier affichée : 15 novembre 2025." in before.text
    assert "les chiffres sont ceux d’aujourd’hui" not in before.text
    assert (_figure(before.text, "scheduled"), _figure(before.text, "held")) == (1, 0)
    assert _figure(before.text, "agentsTrained") == 0
    unborn = web.get("/formations", params={"lab": lab, "on": "2025-10-31"})
    assert _figure(unborn.text, "scheduled") == 0
    assert "Atelier Crash Test" not in unborn.text
    now = web.get("/formations", params={"lab": lab})
    assert (_figure(now.text, "held"), _figure(now.text, "agentsTrained")) == (1, 12)
    unknown = web.get("/formations", params={"lab": lab, "connu_le": "2020-01-01T00:00:00Z"})
    assert "Tel que connu le" in unknown.text
    assert "pas encore appliqué" not in unknown.text
    assert _figure(unknown.text, "scheduled") == 0


def test_a_campaign_page_travels_in_time(web: TestClient, web_services: Services) -> None:
    _, campaign, position = _backdated_campaign_action(web_services)
    caught_up(web, position)
    token = new_token(web_services)
    sign_in(web, token)
    page = web.get(f"/campagnes/{campaign}", params={"on": "2025-11-15"})
    assert page.status_code == 200
    assert "Date métier affichée : 15 novembre 2025." in page.text
    variables = {"slug": campaign, "on": "2025-11-15", "asKnownAt": None}
    answer = web.post(
        "/graphql",
        json={"query": query_text("campaign"), "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    ).json()["data"]
    shown = answer["trainingProgramme"]
    assert _figure(page.text, "scheduled") == shown["scheduled"] >= 1
    assert _figure(page.text, "held") == shown["held"]
    assert _figure(page.text, "agentsTrained") == shown["agentsTrained"]
    today = web.get(f"/campagnes/{campaign}")
    assert _figure(today.text, "agentsTrained") >= shown["agentsTrained"] + 12


def test_a_campaign_page_shows_its_actions_and_roll_ups(
    web: TestClient, web_services: Services
) -> None:
    _, campaign, position = _held_campaign_action(web_services)
    caught_up(web, position)
    sign_in(web, new_token(web_services))
    page = web.get(f"/campagnes/{campaign}")
    assert page.status_code == 200
    assert "Mois de l&#39;innovation publique" in page.text
    assert _figure(page.text, "agentsTrained") == 24
    assert "Atelier Crash Test" in page.text
    assert web.get("/campagnes/pas-de-campagne").status_code == 404


def test_the_training_programme_downloads_with_its_filters_and_dates(
    web: TestClient, web_services: Services
) -> None:
    lab, _, position = _backdated_campaign_action(web_services)
    caught_up(web, position)
    sign_in(web, new_token(web_services))
    listed = web.get("/formations", params={"lab": lab, "status": "held"}).text
    assert f'href="/formations.csv?lab={lab}&amp;status=held"' in listed
    assert f'href="/formations.ods?lab={lab}&amp;status=held"' in listed
    download = web.get("/formations.csv", params={"lab": lab, "status": "held"})
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert 'filename="formations-' in download.headers["content-disposition"]
    lines = download.text.splitlines()
    assert lines[0].startswith("Laboratoire,Action,Format,Modalité,Statut")
    assert len(lines) == 2
    assert ",tenue," in lines[1]
    assert ",12," in lines[1]  # the agents trained
    # On 15 November 2025 the action was scheduled, not held yet: the filter keeps nothing,
    # and the roll-ups are those of that date.
    earlier = web.get("/formations.xlsx", params={"lab": lab, "on": "2025-11-15"})
    book = load_workbook(io.BytesIO(earlier.content))
    assert book.sheetnames == ["Formations", "Par format", "Par laboratoire", "Par public"]
    actions = list(book["Formations"].iter_rows(min_row=2, values_only=True))
    assert [row[4] for row in actions] == ["prévue"]
    held_then = web.get(
        "/formations.csv", params={"lab": lab, "status": "held", "on": "15/11/2025"}
    )
    assert len(held_then.text.splitlines()) == 1
    assert web.get("/formations.pdf").status_code == 404
    assert web.get("/formations.csv", params={"from": "2025-13-01"}).status_code == 400
