"""The staff's forms: commands written as the signed-in person, once per form, on the version
the page showed, refused across sites, and every refusal in French beside its field."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.testclient import TestClient

from domain.values import Health
from tests.factories import schedule_training
from tests.web.conftest import BASE_URL, caught_up, new_token, register, sign_in
from tracker.application.access import Role
from tracker.application.commands import AssessHealth, HoldTraining
from tracker.application.services import Services
from tracker.audit.history import project_history
from tracker.audit.training import training_history

HIDDEN = re.compile(r'name="(csrf|cle|version|milestone_id)" value="([^"]*)"')


def hidden(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the first form posting to `action` on the page."""
    start = page.index(f'/saisie/{action}"')
    end = page.index("</form>", start)
    return dict(HIDDEN.findall(page[start:end]))


def staff_on_project(web: TestClient, services: Services) -> tuple[str, uuid.UUID]:
    """A new project, and a session of its lab's staff: (the staff's token id, project id)."""
    lab, project_id, _position = register(services.application, f"Projet {uuid.uuid4().hex[:6]}")
    token = new_token(services, Role.STAFF, lab)
    sign_in(web, token)
    return token.split(".")[0], project_id


def post(web: TestClient, project_id: uuid.UUID, action: str, fields: dict[str, str]) -> object:
    return web.post(
        f"/projets/{project_id}/saisie/{action}", data=fields, headers={"Origin": BASE_URL}
    )


def test_a_milestone_planned_through_the_form_carries_its_author_once(
    web: TestClient, web_services: Services
) -> None:
    _lab, project_id = staff_on_project(web, web_services)
    page = web.get(f"/projets/{project_id}/saisie")
    assert page.status_code == 200
    assert "Planifier un jalon" in page.text
    fields = {
        **hidden(page.text, "jalon"),
        "title": "Atelier avec les usagers",
        "due_on": "2025-03-01",
        "phase": "framing",
        "occurred_on": "2025-01-10",
    }
    first = post(web, project_id, "jalon", fields)
    assert first.status_code == 303  # type: ignore[attr-defined]
    again = post(web, project_id, "jalon", fields)  # the same form sent twice
    assert again.status_code == 303  # type: ignore[attr-defined]
    project = web_services.application.get_project(project_id)
    assert [m.title for m in project.milestones.values()] == ["Atelier avec les usagers"]
    recorded = web.get(first.headers["location"])  # type: ignore[attr-defined]
    assert "Enregistré." in recorded.text


def test_the_milestone_event_names_the_signed_in_token(
    web: TestClient, web_services: Services
) -> None:
    token_id, project_id = staff_on_project(web, web_services)
    page = web.get(f"/projets/{project_id}/saisie")
    post(
        web,
        project_id,
        "jalon",
        {**hidden(page.text, "jalon"), "title": "Restitution", "due_on": "2025-04-01",
         "phase": "framing", "occurred_on": "2025-01-10"},
    )  # fmt: skip
    history = project_history(web_services.application, project_id).entries
    actors = [entry.actor for entry in history if entry.type == "MilestonePlanned"]
    assert actors == [token_id]


def test_a_stale_page_records_nothing_and_says_someone_changed_the_project(
    web: TestClient, web_services: Services
) -> None:
    _lab, project_id = staff_on_project(web, web_services)
    page = web.get(f"/projets/{project_id}/saisie")
    application = web_services.application
    application.execute(
        AssessHealth(project_id=project_id, health=Health.AT_RISK, reason="retard"),
        application.meta("tok_other", str(uuid.uuid4())),
    )
    answer = post(
        web,
        project_id,
        "sante",
        {**hidden(page.text, "sante"), "health": "off_track", "reason": "x",
         "occurred_on": "2025-01-10"},
    )  # fmt: skip
    assert answer.status_code == 409  # type: ignore[attr-defined]
    assert "Quelqu’un a modifié ce projet depuis que vous l’avez ouvert" in answer.text  # type: ignore[attr-defined]
    assert application.get_project(project_id).health is Health.AT_RISK


def test_a_domain_refusal_is_shown_in_french_beside_its_field(
    web: TestClient, web_services: Services
) -> None:
    _lab, project_id = staff_on_project(web, web_services)
    page = web.get(f"/projets/{project_id}/saisie")
    answer = post(
        web,
        project_id,
        "phase",
        {**hidden(page.text, "phase"), "phase": "prototyping", "decision": "go",
         "occurred_on": "2025-01-10"},
    )  # fmt: skip
    assert answer.status_code == 409  # type: ignore[attr-defined]
    text = answer.text  # type: ignore[attr-defined]
    error = re.search(r'id="phase-phase-erreur">([^<]+)<', text)
    assert error is not None
    assert 'aria-describedby="phase-phase-erreur"' in text
    assert "phase" in error.group(1).lower()


def test_a_field_that_does_not_parse_is_shown_beside_it(
    web: TestClient, web_services: Services
) -> None:
    _lab, project_id = staff_on_project(web, web_services)
    page = web.get(f"/projets/{project_id}/saisie")
    answer = post(
        web,
        project_id,
        "activite",
        {**hidden(page.text, "activite"), "kind": "workshop", "title": "Atelier",
         "held_on": "demain", "participants": "12"},
    )  # fmt: skip
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert "Saisissez une date sous la forme jj/mm/aaaa" in answer.text  # type: ignore[attr-defined]
    assert 'value="Atelier"' in answer.text  # type: ignore[attr-defined]


def test_a_form_without_its_session_token_or_from_another_site_is_refused(
    web: TestClient, web_services: Services
) -> None:
    _lab, project_id = staff_on_project(web, web_services)
    page = web.get(f"/projets/{project_id}/saisie")
    fields = {**hidden(page.text, "sante"), "health": "at_risk", "reason": "x",
              "occurred_on": "2025-01-10"}  # fmt: skip
    forged = post(web, project_id, "sante", {**fields, "csrf": "0" * 64})
    assert forged.status_code == 403  # type: ignore[attr-defined]
    cross = web.post(
        f"/projets/{project_id}/saisie/sante",
        data=fields,
        headers={"Origin": "https://elsewhere.example"},
    )
    assert cross.status_code == 403
    assert web_services.application.get_project(project_id).health is Health.ON_TRACK


def test_only_the_staff_of_the_projects_lab_get_the_forms(
    web: TestClient, web_services: Services
) -> None:
    lab, project_id, _position = register(web_services.application, "Projet d'un autre")
    sign_in(web, new_token(web_services, Role.STAFF, f"{lab}-x"[:40]))
    assert web.get(f"/projets/{project_id}/saisie").status_code == 403
    sign_in(web, new_token(web_services, Role.VIEWER))
    assert web.get(f"/projets/{project_id}/saisie").status_code == 403
    web.cookies.clear()
    assert web.get(f"/projets/{project_id}/saisie").status_code == 303


def test_a_project_registered_through_the_form_belongs_to_the_staffs_lab(
    web: TestClient, web_services: Services
) -> None:
    lab, _project_id, _position = register(web_services.application, "Premier projet")
    sign_in(web, new_token(web_services, Role.STAFF, lab))
    page = web.get("/projets/nouveau")
    assert page.status_code == 200
    fields = {
        **dict(HIDDEN.findall(page.text)),
        "title": "Tiers-lieu numérique",
        "summary": "Ouvrir un lieu de médiation.",
        "themes": "inclusion numérique, tiers-lieux",
        "territory_level": "commune",
        "territory_code": "nope",
        "territory_year": "2025",
        "started_on": "2025-02-03",
    }
    refused = web.post("/projets/nouveau", data=fields, headers={"Origin": BASE_URL})
    assert refused.status_code == 422
    assert 'id="nouveau-territory_code-erreur"' in refused.text
    created = web.post(
        "/projets/nouveau", data={**fields, "territory_code": "71076"}, headers={"Origin": BASE_URL}
    )
    assert created.status_code == 303
    project_id = uuid.UUID(created.headers["location"].split("/")[2])
    project = web_services.application.get_project(project_id)
    assert (project.lab, project.title) == (lab, "Tiers-lieu numérique")
    assert project.themes == ["inclusion numérique", "tiers-lieux"]


# -- the training forms (`/formations/nouvelle`, `/formations/{id}/saisie`) ------------------


def staff_of_new_lab(shared: TestClient) -> tuple[Services, str, str]:
    """A new lab and a session of its staff on the module's app: (services, lab, token id)."""
    services: Services = shared.app.state.services  # type: ignore[attr-defined]
    lab, _project_id, _position = register(services.application, "Projet formateur")
    token = new_token(services, Role.STAFF, lab)
    sign_in(shared, token)
    return services, lab, token.split(".")[0]


def scheduled(services: Services, lab: str) -> tuple[uuid.UUID, int]:
    """A remote workshop of `lab` (30 seats, for communes), its session before today:
    (its id, its position)."""
    result = services.application.execute(
        schedule_training(lab), services.application.meta("tok_fixture", str(uuid.uuid4()))
    )
    return result.id, result.position


def post_training(web: TestClient, path: str, fields: dict[str, str]) -> Any:
    return web.post(path, data=fields, headers={"Origin": BASE_URL})


def test_a_training_scheduled_through_the_form_is_the_staffs_labs_once(
    shared: TestClient,
) -> None:
    services, lab, token_id = staff_of_new_lab(shared)
    page = shared.get("/formations/nouvelle")
    assert page.status_code == 200
    fields = {
        **dict(HIDDEN.findall(page.text)),
        "title": "Atelier design de services",
        "format": "workshop",
        "session_1": "2025-03-04",
        "session_2": "2025-03-11",
        "mode": "in_person",
        "place_code": "",
        "place_year": "2025",
        "capacity": "20",
        "partners": "CNFPT, Région",
        "audience_communes_epci": "1",
    }
    refused = post_training(shared, "/formations/nouvelle", fields)
    assert refused.status_code == 409  # in the room needs a place: said beside it, in French
    error = re.search(r'id="nouvelle-place_code-erreur">([^<]+)<', refused.text)
    assert error is not None
    assert "lieu" in error.group(1).lower()
    assert 'value="Atelier design de services"' in refused.text
    fields["place_code"] = "58194"
    first = post_training(shared, "/formations/nouvelle", fields)
    again = post_training(shared, "/formations/nouvelle", fields)  # the same form sent twice
    assert (first.status_code, again.status_code) == (303, 303)
    assert first.headers["location"] == again.headers["location"]
    training_id = uuid.UUID(first.headers["location"].split("/")[2])
    training = services.application.get_training(training_id)
    assert (training.lab, training.title, training.capacity) == (lab, fields["title"], 20)
    assert training.audiences == ["communes_epci"]
    assert training.partners == ["CNFPT", "Région"]
    assert [e.actor for e in training_history(services.application, training_id).entries] == [
        token_id
    ]


def test_a_training_held_through_the_form_keeps_its_attendance_by_audience(
    shared: TestClient,
) -> None:
    services, lab, _token_id = staff_of_new_lab(shared)
    training_id, position = scheduled(services, lab)
    path = f"/formations/{training_id}/saisie"
    caught_up(shared, position)  # the programme's list links each of the lab's actions here
    assert f'href="{path}"' in shared.get(f"/formations?lab={lab}").text
    page = shared.get(path)
    assert page.status_code == 200
    fields = {**hidden(page.text, "tenue"), "attendance": "35", "occurred_on": "2025-11-30",
              "attendance_communes_epci": "20"}  # fmt: skip
    above = post_training(shared, f"{path}/tenue", fields)
    assert above.status_code == 409  # above the 30 seats without a reason
    assert 'aria-describedby="tenue-reason-erreur"' in above.text
    held = post_training(shared, f"{path}/tenue", {**fields, "reason": "Salle de débordement"})
    assert held.status_code == 303
    training = services.application.get_training(training_id)
    assert (training.status, training.attendance) == ("held", 35)
    assert training.attendance_by_audience == {"communes_epci": 20}
    assert "Enregistré." in shared.get(held.headers["location"]).text


def test_a_stale_training_page_records_nothing_and_a_cancel_needs_its_reason(
    shared: TestClient,
) -> None:
    services, lab, _token_id = staff_of_new_lab(shared)
    training_id, _position = scheduled(services, lab)
    path = f"/formations/{training_id}/saisie"
    page = shared.get(path)
    no_reason = post_training(
        shared, f"{path}/annulee", {**hidden(page.text, "annulee"), "occurred_on": "2025-11-01"}
    )
    assert no_reason.status_code == 409
    assert 'id="annulee-reason-erreur"' in no_reason.text
    application = services.application
    application.execute(
        HoldTraining(training_id=training_id, attendance=12),
        application.meta("tok_other", str(uuid.uuid4())),
    )
    stale = post_training(
        shared,
        f"{path}/annulee",
        {**hidden(page.text, "annulee"), "reason": "Formateur absent", "occurred_on": "2025-11-01"},
    )
    assert stale.status_code == 409
    assert "Quelqu’un a modifié cette action de formation" in stale.text
    assert application.get_training(training_id).status == "held"


def test_only_the_staff_of_the_actions_lab_get_the_training_forms(shared: TestClient) -> None:
    services, lab, _token_id = staff_of_new_lab(shared)
    training_id, _position = scheduled(services, lab)
    path = f"/formations/{training_id}/saisie"
    fields = {**hidden(shared.get(path).text, "annulee"), "reason": "x"}
    assert post_training(shared, f"{path}/annulee", {**fields, "csrf": "0" * 64}).status_code == 403
    sign_in(shared, new_token(services, Role.STAFF, f"{lab}-x"[:40]))
    assert shared.get(path).status_code == 403
    sign_in(shared, new_token(services, Role.VIEWER))
    assert shared.get(path).status_code == 403
    assert shared.get("/formations/nouvelle").status_code == 403
    shared.cookies.clear()
    assert shared.get(path).status_code == 303
    assert services.application.get_training(training_id).status == "scheduled"
