"""The pages through the real app: what each shows, and that it shows the GraphQL answers."""

from __future__ import annotations

import re
import uuid
from datetime import date

from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from domain.values import ActivityKind
from tests.factories import schedule_training
from tests.web.conftest import caught_up, new_token, register, sign_in
from tracker.application.access import Role
from tracker.application.commands import AddPartner, HoldTraining, LogActivity, RecordDecision
from tracker.application.services import Services
from tracker.web.charts import chart_label, distinct_labels
from tracker.web.i18n import CATALOGUE, template_messages, translated
from tracker.web.pages import Filters, TimeTravel, dashboard_variables
from tracker.web.reading import query_text


def _graphql(web: TestClient, token: str, name: str, variables: dict[str, object]) -> dict:
    response = web.post(
        "/graphql",
        json={"query": query_text(name), "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_every_template_message_has_a_french_translation() -> None:
    with CATALOGUE.open("rb") as source:
        catalogue = read_po(source)
    untranslated = [m for m in template_messages() if not translated(catalogue, m)]
    assert template_messages()
    assert any(isinstance(m, tuple) for m in template_messages())  # counts are plurals
    assert untranslated == []


def test_the_dashboard_shows_the_portfolio_totals_graphql_answers(
    web: TestClient, web_services: Services
) -> None:
    _, _, position = register(web_services.application, "Villages du futur")
    caught_up(web, position)
    token = new_token(web_services)
    sign_in(web, token)
    page = web.get("/")
    assert page.status_code == 200
    answer = _graphql(web, token, "dashboard", dashboard_variables(Filters(), TimeTravel()))
    shown = re.search(r'data-figure="total">([^<]+)<', page.text)
    assert shown is not None
    assert shown.group(1).replace("\u202f", "").replace("\xa0", "") == str(
        answer["portfolio"]["total"]
    )


def test_the_dashboard_says_in_french_which_date_it_shows(
    web: TestClient, web_services: Services
) -> None:
    sign_in(web, new_token(web_services))
    page = web.get("/?on=2024-12-31")
    assert page.status_code == 200
    assert 'lang="fr"' in page.text
    assert "Date métier affichée : 31 décembre 2024" in page.text


def test_the_dashboard_on_a_business_date_shows_what_graphql_answers_for_it(
    web: TestClient, web_services: Services
) -> None:
    _, _, position = register(web_services.application, "Villages du futur")
    caught_up(web, position)
    token = new_token(web_services)
    sign_in(web, token)
    travel = TimeTravel.parse({"on": "2025-01-05"})
    page = web.get("/?on=2025-01-05")
    answer = _graphql(web, token, "dashboard", dashboard_variables(Filters(), travel))
    today = _graphql(web, token, "dashboard", dashboard_variables(Filters(), TimeTravel()))
    shown = re.search(r'data-figure="total">([^<]+)<', page.text)
    assert shown is not None
    assert shown.group(1).replace("\u202f", "") == str(answer["portfolio"]["total"])
    assert answer["portfolio"]["total"] < today["portfolio"]["total"]


def _figure(page: str, name: str) -> int:
    shown = re.search(rf'data-figure="{name}">(?:<a href="[^"]*">)?([^<]+)<', page)
    assert shown is not None, name
    return int(re.sub(r"\D", "", shown.group(1)))


def test_the_dashboard_shows_activities_and_agents_trained_by_quarter_as_graphql_answers(
    web: TestClient, web_services: Services
) -> None:
    application = web_services.application
    lab, project_id, _ = register(application, "Villages du futur")

    def on(day: date) -> object:
        return application.meta("tok_fixture", str(uuid.uuid4()), day)

    for held_on, participants in ((date(2025, 2, 10), 15), (date(2025, 3, 3), 9)):
        application.execute(
            LogActivity(
                project_id=project_id,
                kind=ActivityKind.WORKSHOP,
                title="Atelier",
                held_on=held_on,
                participants=participants,
            ),
            on(held_on),
        )
    scheduled = application.execute(schedule_training(lab), on(date(2025, 11, 1)))
    held = application.execute(
        HoldTraining(training_id=scheduled.id, attendance=12), on(date(2025, 11, 30))
    )
    caught_up(web, held.position)
    token = new_token(web_services)
    sign_in(web, token)
    travel = TimeTravel.parse({"on": "2025-12-31"})
    page = web.get("/", params={"lab": lab, "on": "2025-12-31"}).text
    answer = _graphql(
        web, token, "dashboard", dashboard_variables(Filters.parse({"lab": lab}), travel)
    )
    first_quarter = [m for m in answer["portfolio"]["activitiesByMonth"] if m["month"] < "2025-04"]
    last_quarter = [m for m in answer["training"]["byMonth"] if m["key"] >= "2025-10"]
    assert _figure(page, "activities-2025-T1") == sum(m["activities"] for m in first_quarter) == 2
    assert _figure(page, "participants-2025-T1") == 24
    assert _figure(page, "agents-2025-T4") == sum(m["agentsTrained"] for m in last_quarter) == 12
    assert _figure(page, "held-2025-T4") == 1
    assert _figure(page, "agents-2025-T2") == 0  # the quarters in between are shown
    assert "Du 1er trimestre 2025 au 4e trimestre 2025" in page
    assert "2 activités (24 participants)" in page
    assert "1 action de formation et y ont formé 12 agents" in page
    assert 'role="img" aria-labelledby="au-fil-du-temps-svg-titre au-fil-du-temps-resume"' in page
    behind = (
        f"/formations?lab={lab}&amp;status=held"
        "&amp;from=2025-10-01&amp;to=2025-12-31&amp;on=2025-12-31"
    )
    assert f'<a href="{behind}">12</a>' in page
    actions = web.get(behind.replace("&amp;", "&")).text
    assert _figure(actions, "agentsTrained") == 12
    # A quarter's activity figures link to that quarter's activities, on the same dates.
    listed = f"/activites?lab={lab}&amp;on=2025-12-31&amp;from=2025-01-01&amp;to=2025-03-31"
    assert f'<a href="{listed}">2</a>' in page
    assert f'<a href="{listed}">24</a>' in page
    activities = web.get(listed.replace("&amp;", "&")).text
    assert "2 activités trouvées" in activities
    # Before the holding's business date, nobody was trained yet.
    earlier = web.get("/", params={"lab": lab, "on": "2025-11-15"}).text
    assert _figure(earlier, "agents-2025-T4") == 0
    assert _figure(earlier, "activities-2025-T1") == 2
    # The training actions follow the lab filter only, and the page says so.
    themed = web.get("/", params={"lab": lab, "theme": "ruralité", "on": "2025-12-31"}).text
    assert "seul le laboratoire s’applique à elles (pas : theme)" in themed
    assert _figure(themed, "agents-2025-T4") == 12


def test_a_project_page_travels_to_a_business_date_and_says_which(
    web: TestClient, web_services: Services
) -> None:
    _, project_id, position = register(web_services.application, "Villages du futur")
    caught_up(web, position)
    sign_in(web, new_token(web_services))
    page = web.get(f"/projets/{project_id}", params={"on": "2025-02-01"})
    assert page.status_code == 200
    assert "Date métier affichée : 1 février 2025" in page.text
    before = web.get(f"/projets/{project_id}", params={"on": "2025-01-05"})
    assert before.status_code == 404
    assert "Aucun projet n’avait cette adresse à la date affichée" in before.text


def test_the_projects_list_filters_by_words_of_the_title(
    web: TestClient, web_services: Services
) -> None:
    word = f"zéphyrine{uuid.uuid4().hex[:8]}"
    _, project_id, position = register(web_services.application, f"Médiathèque {word}")
    caught_up(web, position)
    sign_in(web, new_token(web_services))
    found = web.get("/projets", params={"text": word})
    assert found.status_code == 200
    assert f"/projets/{project_id}" in found.text
    assert "1 projet trouvé" in found.text  # a plural: not « 1 projets »


def test_a_project_page_draws_its_timeline_and_shows_its_query(
    web: TestClient, web_services: Services
) -> None:
    _, project_id, position = register(web_services.application, "Villages du futur")
    caught_up(web, position)
    sign_in(web, new_token(web_services))
    page = web.get(f"/projets/{project_id}")
    assert page.status_code == 200
    assert "<svg" in page.text
    assert 'class="period phase-framing"' in page.text
    assert "voir la requête GraphQL" in page.text
    assert "Saône-et-Loire — 71 (department, COG 2024)" in page.text


def test_an_unknown_project_is_a_french_404_page(web: TestClient, web_services: Services) -> None:
    sign_in(web, new_token(web_services))
    page = web.get("/projets/00000000-0000-0000-0000-000000000000")
    assert page.status_code == 404
    assert "Page introuvable" in page.text


def test_a_malformed_date_is_a_400_page(web: TestClient, web_services: Services) -> None:
    sign_in(web, new_token(web_services))
    assert web.get("/projets?on=hier").status_code == 400


def test_the_stylesheet_is_served_by_tracker_itself(web: TestClient) -> None:
    response = web.get("/static/tracker.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")


def test_an_auditor_reads_a_projects_history_with_reasons_and_both_dates(
    web: TestClient, web_services: Services
) -> None:
    _, project_id, position = register(web_services.application, "Villages du futur")
    caught_up(web, position)
    sign_in(web, new_token(web_services, Role.AUDITOR))
    page = web.get(f"/projets/{project_id}/historique")
    assert page.status_code == 200
    assert "ProjectRegistered" in page.text
    assert "Survenu le" in page.text
    assert "Enregistré le" in page.text


def test_a_viewer_cannot_reach_a_projects_history(web: TestClient, web_services: Services) -> None:
    _, project_id, position = register(web_services.application, "Villages du futur")
    caught_up(web, position)
    sign_in(web, new_token(web_services, Role.VIEWER))
    page = web.get(f"/projets/{project_id}/historique")
    assert page.status_code == 403
    assert "ProjectRegistered" not in page.text


def test_the_demo_link_pre_fills_the_sign_in_form(web: TestClient) -> None:
    page = web.get("/connexion", params={"jeton": "tok_0123456789abcdef.secret"})
    assert 'value="tok_0123456789abcdef.secret"' in page.text


def test_each_dashboard_figure_links_to_the_filtered_list(
    web: TestClient, web_services: Services
) -> None:
    lab, _, position = register(web_services.application, "Villages du futur")
    caught_up(web, position)
    sign_in(web, new_token(web_services))
    page = web.get("/", params={"lab": lab})
    assert f'href="/projets?lab={lab}&amp;phase=framing"' in page.text
    assert f'href="/projets?lab={lab}"' in page.text


def test_a_project_page_shows_its_partners_and_decisions_on_the_date_shown(
    web: TestClient, web_services: Services
) -> None:
    application = web_services.application
    _, project_id, _ = register(application, "Villages du futur")
    application.execute(
        AddPartner(project_id=project_id, name="Université de Bourgogne", role="recherche"),
        application.meta("tok_fixture", str(uuid.uuid4()), date(2025, 3, 3)),
    )
    decided = application.execute(
        RecordDecision(
            project_id=project_id,
            title="Choix du pilote",
            decision="Tester à Autun",
            rationale="Le <b>moins</b> cher",
        ),
        application.meta("tok_fixture", str(uuid.uuid4()), date(2025, 3, 10)),
    )
    caught_up(web, decided.position)
    sign_in(web, new_token(web_services))
    page = web.get(f"/projets/{project_id}")
    assert "Université de Bourgogne" in page.text
    assert "Tester à Autun" in page.text
    assert "Le &lt;b&gt;moins&lt;/b&gt; cher" in page.text
    before = web.get(f"/projets/{project_id}", params={"on": "2025-03-05"})
    assert "Université de Bourgogne" in before.text
    assert "Tester à Autun" not in before.text


def test_a_long_chart_label_is_cut_in_its_middle_so_that_names_stay_apart() -> None:
    grand_est = "Laboratoire d'innovation publique de l'État dans le Grand Est"
    occitanie = "Laboratoire d'innovation publique de l'État en Occitanie"
    cut = {chart_label(grand_est), chart_label(occitanie)}
    assert cut == {"Laboratoire…le Grand Est", "Laboratoire…en Occitanie"}
    assert all(len(label) <= 30 for label in cut)
    assert chart_label("Déploiement") == "Déploiement"


def test_two_names_cut_alike_are_told_apart_in_a_chart_and_whole_in_its_titles() -> None:
    region = "Laboratoire d'innovation publique de la Région Bourgogne-Franche-Comté"
    state = "Laboratoire d'innovation publique de l'État en Bourgogne-Franche-Comté"
    assert chart_label(region) == chart_label(state)  # what the middle cut alone gives
    shown = distinct_labels([region, state, "Déploiement", region])
    assert shown == [
        "…la Région…Franche-Comté",
        "…l'État en…Franche-Comté",
        "Déploiement",
        shown[0],
    ]
    assert all(len(label) <= 30 for label in shown)
    # Alike even without their common words: numbered, still apart.
    twins = distinct_labels(["A" * 40, "A" * 41])
    assert len(set(twins)) == 2
    assert all(len(label) <= 30 for label in twins)
