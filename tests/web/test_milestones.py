"""The milestones page `/jalons`: the list behind each milestone figure of the dashboard."""

from __future__ import annotations

import html
import re
import uuid
from datetime import date, timedelta

from fastapi.testclient import TestClient

from domain.values import Phase
from tests.web.conftest import caught_up, new_token, register, sign_in
from tracker.application.commands import AchieveMilestone, PlanMilestone, RescheduleMilestone
from tracker.application.services import Services

FIGURES = {
    "open": "ouverts",
    "dueSoon": "bientot",
    "overdue": "en-retard",
    "slipped": "reportes",
    "achieved": "atteints",
}


def _milestones(services: Services) -> tuple[str, int]:
    """A lab whose one project has a milestone in each state: (lab, position)."""
    application = services.application
    lab, project_id, _ = register(application, "Bibliothèque innovante")
    today = date.today()

    def at() -> object:
        return application.meta("tok_fixture", str(uuid.uuid4()), today)

    def plan(title: str, due_on: date) -> str:
        result = application.execute(
            PlanMilestone(project_id=project_id, title=title, due_on=due_on, phase=Phase.FRAMING),
            at(),  # type: ignore[arg-type]
        )
        return str(result.created_id)

    plan("Ateliers avec les usagers", today + timedelta(days=10))
    plan("Rapport de diagnostic", today - timedelta(days=20))
    moved = plan("Prototype de l'espace", today + timedelta(days=40))
    application.execute(
        RescheduleMilestone(
            project_id=project_id,
            milestone_id=moved,
            due_on=today + timedelta(days=90),
            reason="travaux",
        ),
        at(),  # type: ignore[arg-type]
    )
    done = plan("Comité de lancement", today + timedelta(days=5))
    result = application.execute(
        AchieveMilestone(project_id=project_id, milestone_id=done, achieved_on=today),
        at(),  # type: ignore[arg-type]
    )
    return lab, result.position


def _found(page: str) -> int:
    shown = re.search(r"(\d+) jalons? trouvés?", page)
    assert shown is not None, page
    return int(shown.group(1))


def test_each_milestone_figure_links_to_its_list_which_counts_as_many(
    web: TestClient, web_services: Services
) -> None:
    lab, position = _milestones(web_services)
    caught_up(web, position)
    sign_in(web, new_token(web_services))
    dashboard = web.get("/", params={"lab": lab}).text
    counts = {}
    for figure, state in FIGURES.items():
        shown = re.search(
            rf'<a href="([^"]+)"><span class="figure" data-figure="{figure}">(\d+)<', dashboard
        )
        assert shown is not None, figure
        target, count = html.unescape(shown.group(1)), int(shown.group(2))
        assert target == f"/jalons?lab={lab}&etat={state}"
        page = web.get(target)
        assert page.status_code == 200
        assert _found(page.text) == count
        assert page.text.count('<th scope="row">') == count
        counts[state] = count
    assert counts == {"ouverts": 3, "bientot": 1, "en-retard": 1, "reportes": 1, "atteints": 1}


def test_the_milestones_page_lists_the_slipped_one_with_both_dates(
    web: TestClient, web_services: Services
) -> None:
    lab, position = _milestones(web_services)
    caught_up(web, position)
    sign_in(web, new_token(web_services))
    page = web.get("/jalons", params={"lab": lab, "etat": "reportes"})
    assert "<h1>Jalons reportés</h1>" in page.text
    row = page.text[page.text.index("Prototype de l") :]
    row = row[: row.index("</tr>")]
    assert "Bibliothèque innovante" in row
    assert ">50<" in row  # rescheduled 50 days later than first planned
    assert "voir la requête graphql" in page.text.lower()


def test_the_milestones_page_travels_in_time_and_says_which_date(
    web: TestClient, web_services: Services
) -> None:
    lab, position = _milestones(web_services)
    caught_up(web, position)
    sign_in(web, new_token(web_services))
    before = web.get("/jalons", params={"lab": lab, "on": "2025-01-31"})
    assert before.status_code == 200
    assert "Date métier affichée : 31 janvier 2025" in before.text
    assert _found(before.text) == 0
    assert _found(web.get("/jalons", params={"lab": lab}).text) == 4


def test_a_malformed_date_on_the_milestones_page_is_a_french_400(
    web: TestClient, web_services: Services
) -> None:
    sign_in(web, new_token(web_services))
    page = web.get("/jalons", params={"on": "31/02/2025"})
    assert page.status_code == 400
    assert 'lang="fr"' in page.text


def test_the_milestones_page_asks_a_signed_out_visitor_to_sign_in(web: TestClient) -> None:
    page = web.get("/jalons", params={"etat": "en-retard"})
    assert page.status_code == 303
    assert page.headers["location"] == "/connexion?suite=%2Fjalons%3Fetat%3Den-retard"
