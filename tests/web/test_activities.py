"""`/activites` through the real app: the projects' activities as the GraphQL query
answers, filtered by project, kind and period, on a business date, a page at a time."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from fastapi.testclient import TestClient

from domain.values import ActivityKind
from tests.web.conftest import caught_up, new_token, register, sign_in
from tracker.application.commands import LogActivity
from tracker.application.service import TrackerApplication
from tracker.application.services import Services
from tracker.web.reading import query_text


@pytest.fixture
def web(shared: TestClient) -> TestClient:
    """This module's tests share one app per back end (tests/web/conftest.py)."""
    return shared


def _logged(
    application: TrackerApplication, title: str, held: list[tuple[date, ActivityKind]]
) -> tuple[str, int]:
    """A lab with one project titled `title` and its activities `held`: (lab, position)."""
    lab, project_id, position = register(application, title)
    for number, (held_on, kind) in enumerate(held, start=1):
        position = application.execute(
            LogActivity(
                project_id=project_id,
                kind=kind,
                title=f"Activité {number}",
                held_on=held_on,
                participants=10 + number,
            ),
            application.meta("tok_fixture", str(uuid.uuid4()), held_on),
        ).position
    return lab, position


def test_the_activities_list_shows_what_graphql_answers(
    web: TestClient, web_services: Services
) -> None:
    held = [(date(2025, 2, 10), ActivityKind.WORKSHOP), (date(2025, 5, 3), ActivityKind.WEBINAR)]
    lab, position = _logged(web_services.application, "Villages du futur", held)
    caught_up(web, position)
    token = new_token(web_services)
    sign_in(web, token)
    page = web.get("/activites", params={"lab": lab})
    assert page.status_code == 200
    variables = {"filter": {"project": {"lab": lab}}, "first": 25, "after": None}
    answer = web.post(
        "/graphql",
        json={"query": query_text("activities"), "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    ).json()["data"]["activities"]
    assert answer["totalCount"] == 2
    assert "2 activités trouvées" in page.text
    # The latest first, each with its project, kind, French date and participants.
    latest, earliest = (edge["node"] for edge in answer["edges"])
    assert (latest["title"], earliest["title"]) == ("Activité 2", "Activité 1")
    assert page.text.index("Activité 2") < page.text.index("Activité 1")
    assert "webinaire" in page.text
    assert "03/05/2025" in page.text
    assert f'href="/projets/{latest["project"]["id"]}">Villages du futur</a>' in page.text
    assert "voir la requête GraphQL" in page.text


def test_the_activities_list_keeps_a_quarter_and_a_kind(
    web: TestClient, web_services: Services
) -> None:
    held = [
        (date(2025, 2, 10), ActivityKind.WORKSHOP),
        (date(2025, 3, 3), ActivityKind.WEBINAR),
        (date(2025, 5, 3), ActivityKind.WORKSHOP),
    ]
    lab, position = _logged(web_services.application, "Villages du futur", held)
    caught_up(web, position)
    sign_in(web, new_token(web_services))
    quarter = {"lab": lab, "from": "01/01/2025", "to": "31/03/2025"}
    assert "2 activités trouvées" in web.get("/activites", params=quarter).text
    workshops = web.get("/activites", params={**quarter, "kind": "workshop"}).text
    assert "1 activité trouvée" in workshops
    assert "Activité 1" in workshops
    # The other filters of the projects apply too: no project of this lab is closed.
    assert (
        "0 activité trouvée" in web.get("/activites", params={**quarter, "status": "closed"}).text
    )


def test_the_activities_list_on_a_business_date_leaves_out_the_later_ones(
    web: TestClient, web_services: Services
) -> None:
    held = [(date(2025, 2, 10), ActivityKind.WORKSHOP), (date(2025, 5, 3), ActivityKind.WORKSHOP)]
    lab, position = _logged(web_services.application, "Villages du futur", held)
    caught_up(web, position)
    sign_in(web, new_token(web_services))
    page = web.get("/activites", params={"lab": lab, "on": "2025-03-31"}).text
    assert "Date métier affichée : 31 mars 2025." in page
    assert "1 activité trouvée" in page
    assert "Activité 2" not in page


def test_the_activities_list_pages_by_25(web: TestClient, web_services: Services) -> None:
    held = [(date(2025, 2, day), ActivityKind.EVENT) for day in range(1, 28)]
    lab, position = _logged(web_services.application, "Villages du futur", held)
    caught_up(web, position)
    sign_in(web, new_token(web_services))
    first = web.get("/activites", params={"lab": lab}).text
    assert "27 activités trouvées" in first
    assert first.count('<th scope="row">Activité') == 25
    following = first.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    rest = web.get(following).text
    assert rest.count('<th scope="row">Activité') == 2
    assert 'rel="next"' not in rest


def test_a_malformed_period_is_a_400_page(web: TestClient, web_services: Services) -> None:
    sign_in(web, new_token(web_services))
    page = web.get("/activites", params={"from": "32/13/2025"})
    assert page.status_code == 400
    assert "from" in page.text


def test_the_activities_list_needs_a_session(web: TestClient) -> None:
    answer = web.get("/activites")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/connexion?suite=")
