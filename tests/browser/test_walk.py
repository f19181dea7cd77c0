"""A person's walk through the pages in a real browser, and axe-core on every page."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import pytest

from tests.browser.conftest import Server, screenshot
from tracker.web.dates import field_date
from tracker.web.pages import Filters, TimeTravel, dashboard_variables
from tracker.web.reading import query_text
from tracker.web.rendering import long_date

pytestmark = pytest.mark.e2e

# axe-core's own script, from the axe-playwright-python wheel: injected from this file, never
# fetched. Its WCAG 2.1 A and AA rules are the ones checked.
AXE_SCRIPT = (resources.files("axe_playwright_python") / "axe.min.js").read_text("utf-8")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
CAMPAIGN = "mois-innovation-publique-2020"  # the demo's campaign (tracker seed)


def _figure(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def _sign_in(page: Any, server: Server, role: str = "viewer") -> None:
    page.goto(f"{server.url}/")
    assert page.url.startswith(f"{server.url}/connexion")
    page.get_by_label("Jeton").fill(server.tokens[role])
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{server.url}/")


def _axe_violations(page: Any) -> list[dict[str, Any]]:
    # evaluate() runs as the browser's devtools would, so the pages' CSP (no script) stays on.
    page.evaluate(AXE_SCRIPT)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
    )
    assert result["passes"], "axe-core checked nothing"
    return [
        {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


def test_a_person_signs_in_filters_opens_a_project_changes_the_date_and_signs_out(
    page: Any, server: Server
) -> None:
    _sign_in(page, server)
    portfolio = server.graphql(
        query_text("dashboard"), dashboard_variables(Filters(), TimeTravel())
    )
    total = page.locator('[data-figure="total"]').inner_text()
    assert _figure(total) == portfolio["portfolio"]["total"]
    overdue = page.locator('[data-figure="overdue"]').inner_text()
    assert _figure(overdue) == portfolio["portfolio"]["milestones"]["overdue"]

    page.get_by_role("link", name="Projets", exact=True).click()
    page.get_by_label("Phase").select_option("framing")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url(re.compile(r".*phase=framing.*"))
    listed = server.graphql(query_text("projects"), {"filter": {"phase": "FRAMING"}, "first": 25})[
        "projects"
    ]
    heading = page.get_by_role("heading", level=2, name=re.compile("projets? trouvés?"))
    assert _figure(heading.inner_text()) == listed["totalCount"]

    first = listed["edges"][0]["node"]
    page.get_by_role("link", name=first["title"], exact=True).first.click()
    assert page.get_by_role("heading", level=1).inner_text() == first["title"]

    started = server.graphql(query_text("project"), {"id": first["id"]})["project"]["startedOn"]
    # Typed as a French person types a date (the field says « jj/mm/aaaa »).
    page.get_by_label("Date métier").fill(field_date(started))
    page.get_by_role("button", name="Afficher").click()
    page.wait_for_url(re.compile(rf".*on={field_date(started).replace('/', '%2F')}.*"))
    then = server.graphql(query_text("project"), {"id": first["id"], "on": started})["project"]
    main = page.locator("main").inner_text()
    assert f"Date métier affichée : {long_date(started)}" in main
    assert then["phaseLabel"] in page.locator(".facts").inner_text()

    page.get_by_role("link", name="Se déconnecter").click()
    page.get_by_role("button", name="Se déconnecter de ce navigateur").click()
    page.wait_for_url(re.compile(r".*/connexion.*"))
    page.goto(f"{server.url}/projets")
    assert "/connexion" in page.url


def test_no_page_has_an_axe_core_wcag_violation(page: Any, server: Server) -> None:
    page.goto(f"{server.url}/connexion")
    found = {"/connexion": _axe_violations(page)}
    _sign_in(page, server)
    project = server.graphql(query_text("projects"), {"first": 1})["projects"]["edges"][0]
    pictures = {  # the docs' screenshots (TRACKER_SCREENSHOTS): a name, where to start
        "/": ("tableau-de-bord", None),
        "/?on=2025-12-31": ("au-fil-du-temps", "#au-fil-du-temps-titre"),
        "/formations": ("formations-laboratoires", "#labo-formations-titre"),
        f"/projets/{project['node']['id']}": ("projet", "#frise-titre"),
        "/formations?format=workshop&on=2024-12-31": ("formations", ".time-travel"),
        "/comparaison?du=2024-12-31&au=2025-06-30": ("comparaison", None),
        "/jalons?etat=en-retard": ("jalons-en-retard", None),
        "/financements?annee=2025": ("financements", None),
        "/activites": ("activites", None),
    }
    for path in (
        "/",
        "/?on=2025-12-31",
        "/?on=2024-12-31&connu_le=2025-06-30T12:00:00",
        "/projets",
        "/projets?phase=framing",
        f"/projets/{project['node']['id']}",
        "/deconnexion",
        "/projets/00000000-0000-0000-0000-000000000000",
        "/formations",
        "/formations?format=workshop&on=2024-12-31",
        f"/campagnes/{CAMPAIGN}",
        "/comparaison?du=2024-12-31&au=2025-06-30",
        "/jalons?etat=en-retard",
        "/jalons?etat=atteints&on=2024-12-31",
        "/financements?annee=2025",
        "/activites",
        "/activites?from=2025-01-01&to=2025-03-31&on=2025-12-31",
    ):
        page.goto(f"{server.url}{path}")
        found[path] = _axe_violations(page)
        if path in pictures:
            screenshot(page, *pictures[path])
    assert {path: v for path, v in found.items() if v} == {}


def test_a_viewer_cannot_reach_the_auditor_pages_and_an_auditor_can(
    page: Any, server: Server
) -> None:
    project = server.graphql(query_text("projects"), {"first": 1})["projects"]["edges"][0]
    history = f"{server.url}/projets/{project['node']['id']}/historique"
    _sign_in(page, server, "viewer")
    assert page.goto(history).status == 403
    page.context.clear_cookies()
    _sign_in(page, server, "auditor")
    page.goto(f"{server.url}/projets/{project['node']['id']}")
    page.get_by_role("link", name="Son historique : qui a changé quoi, quand et pourquoi").click()
    assert page.url == history
    assert page.get_by_role("heading", level=1).inner_text().startswith("Historique")
    assert _axe_violations(page) == []
    screenshot(page, "historique")


def test_pages_run_no_script_and_load_nothing_from_elsewhere(page: Any, server: Server) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    _sign_in(page, server)
    page.goto(f"{server.url}/projets")
    assert all(url.startswith(server.url) for url in requested), requested
    assert page.locator("script").count() == 0


def test_a_person_reads_the_training_programme_and_opens_the_demo_campaign(
    page: Any, server: Server
) -> None:
    _sign_in(page, server)
    page.get_by_role("link", name="Formations", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Programme de formation"
    answer = server.graphql(query_text("training"), {"first": 25})["trainingProgramme"]
    assert (
        _figure(page.locator('[data-figure="agentsTrained"]').inner_text())
        == answer["agentsTrained"]
    )
    assert _figure(page.locator('[data-figure="held"]').inner_text()) == answer["held"]
    page.locator("#campagne-titre ~ .chart-body table a").first.click()
    shown = server.graphql(query_text("campaign"), {"slug": CAMPAIGN})
    assert page.get_by_role("heading", level=1).inner_text() == shown["campaign"]["name"]
    assert (
        _figure(page.locator('[data-figure="agentsTrained"]').inner_text())
        == shown["trainingProgramme"]["agentsTrained"]
    )


def test_a_staff_member_finds_the_overdue_milestones_of_their_lab(
    page: Any, server: Server
) -> None:
    _sign_in(page, server, "staff")
    lab = server.graphql("{ labs { slug } }", {})["labs"][0]["slug"]  # the staff's lab
    page.goto(f"{server.url}/?lab={lab}")
    page.locator('[data-figure="overdue"]').click()
    page.wait_for_url(re.compile(r".*/jalons\?.*etat=en-retard.*"))
    assert page.get_by_role("heading", level=1).inner_text() == "Jalons en retard"
    answer = server.graphql(
        query_text("milestones"),
        {"filter": {"overdue": True, "project": {"lab": lab}}, "first": 25},
    )["milestones"]
    heading = page.get_by_role("heading", level=2, name=re.compile("jalons? trouvés?"))
    assert _figure(heading.inner_text()) == answer["totalCount"] > 0
    first = answer["edges"][0]["node"]
    page.get_by_role("link", name=first["project"]["title"], exact=True).first.click()
    assert page.get_by_role("heading", level=1).inner_text() == first["project"]["title"]


def test_a_person_opens_a_quarters_activities_from_the_dashboard(page: Any, server: Server) -> None:
    _sign_in(page, server)
    page.goto(f"{server.url}/?on=2025-12-31")
    figure = page.locator('[data-figure^="activities-20"] a').first
    quarter = figure.locator("xpath=ancestor::td").get_attribute("data-figure")
    shown = _figure(figure.inner_text())
    figure.click()
    assert page.get_by_role("heading", level=1).inner_text() == "Activités des projets"
    held = re.search(r"from=([\d-]+)&to=([\d-]+)", page.url)
    assert held is not None
    assert quarter == f"activities-{held.group(1)[:4]}-T{(int(held.group(1)[5:7]) + 2) // 3}"
    answer = server.graphql(
        query_text("activities"),
        {"filter": {"from": held.group(1), "to": held.group(2)}, "first": 25, "on": "2025-12-31"},
    )
    assert shown == answer["activities"]["totalCount"]
    assert _figure(page.locator("#liste-titre").inner_text()) == shown


def test_a_person_compares_the_portfolio_between_two_dates(page: Any, server: Server) -> None:
    _sign_in(page, server)
    page.get_by_role("link", name="Comparer deux dates", exact=True).click()
    page.get_by_label("De la date métier").fill("31/12/2024")
    page.get_by_label("À la date métier").fill("30/06/2025")
    page.get_by_role("button", name="Comparer").click()
    page.wait_for_url(re.compile(r".*du=31%2F12%2F2024.*"))
    answer = server.graphql(query_text("changes"), {"from": "2024-12-31", "to": "2025-06-30"})
    totals = answer["portfolioChanges"]["totals"]
    for name in ("opened", "milestonesSlipped", "milestonesAchieved"):
        assert _figure(page.locator(f'[data-figure="{name}"]').inner_text()) == totals[name]
    assert "31 décembre 2024" in page.locator("main").inner_text()


def test_a_staff_member_reads_their_labs_history_but_not_another_labs(
    page: Any, server: Server
) -> None:
    labs = [lab["slug"] for lab in server.graphql("{ labs { slug } }", {})["labs"]]
    own, other = (
        server.graphql(query_text("projects"), {"filter": {"lab": lab}, "first": 1})["projects"][
            "edges"
        ][0]["node"]["id"]
        for lab in labs[:2]
    )
    _sign_in(page, server, "staff")
    page.goto(f"{server.url}/projets/{own}")
    page.get_by_role("link", name="Son historique : qui a changé quoi, quand et pourquoi").click()
    assert page.get_by_role("heading", level=2, name="L’historique est-il intact ?").is_visible()
    assert _axe_violations(page) == []
    assert page.goto(f"{server.url}/projets/{other}/historique").status == 403
