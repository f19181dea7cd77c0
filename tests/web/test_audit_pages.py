"""The history page for auditors and the lab's staff: people's names, the verification
status, the downloads; another lab's staff refused."""

from __future__ import annotations

import io
import uuid
from datetime import date

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from domain.values import Health
from tests.web.conftest import caught_up, new_token, register, sign_in
from tracker.application.access import Role, create_token
from tracker.application.commands import AssessHealth, RecordAuditVerified
from tracker.application.people import add_person
from tracker.application.services import Services


@pytest.fixture
def web(shared: TestClient) -> TestClient:
    """This module's tests share one app per back end (tests/web/conftest.py)."""
    return shared


def _assessed_by_a_person(web: TestClient, services: Services) -> tuple[str, uuid.UUID, str]:
    """A project whose health a named staff member assessed: (lab, project, staff token)."""
    application = services.application
    lab, project_id, _ = register(application, "Villages du futur")
    person = add_person(services.engine, "Céline Zatorsky")
    token_id, token = create_token(application, Role.STAFF, lab=lab, person_id=person)
    assessed = application.execute(
        AssessHealth(project_id=project_id, health=Health.AT_RISK, reason="retard du marché"),
        application.meta(token_id, str(uuid.uuid4()), date(2025, 2, 3)),
    )
    caught_up(web, assessed.position)
    return lab, project_id, token


def test_the_labs_staff_read_its_history_with_peoples_names_and_reasons(
    web: TestClient, web_services: Services
) -> None:
    _, project_id, token = _assessed_by_a_person(web, web_services)
    sign_in(web, token)
    project = web.get(f"/projets/{project_id}")
    assert f"/projets/{project_id}/historique" in project.text
    page = web.get(f"/projets/{project_id}/historique")
    assert page.status_code == 200
    assert "Céline Zatorsky" in page.text
    assert "retard du marché" in page.text


def test_the_history_shows_what_was_learnt_late_between_two_instants(
    web: TestClient, web_services: Services
) -> None:
    _, project_id, token = _assessed_by_a_person(web, web_services)
    sign_in(web, token)
    today = web_services.application.today()
    page = web.get(
        f"/projets/{project_id}/historique",
        params={"appris_du": "2025-06-01", "appris_au": today.isoformat()},
    )
    assert page.status_code == 200
    learnt = page.text.split("Ce qui a été appris entre deux instants")[1]
    learnt = learnt.split("L’historique est-il intact ?")[0]
    assert "jusqu’au 1 juin 2025" in learnt
    assert "HealthAssessed</th><td>03/02/2025" in learnt  # dated before, recorded in it
    assert "Céline Zatorsky" in learnt
    assert "retard du marché" in learnt
    later = web.get(f"/projets/{project_id}/historique", params={"appris_du": "2099-01-01"})
    assert "Rien n’a été appris tardivement" in later.text
    bad = web.get(f"/projets/{project_id}/historique", params={"appris_au": "hier"})
    assert bad.status_code == 400
    assert "appris_au" in bad.text


def test_another_labs_staff_cannot_read_the_history_nor_download_it(
    web: TestClient, web_services: Services
) -> None:
    _, project_id, _ = _assessed_by_a_person(web, web_services)
    other, _, _ = register(web_services.application, "Autre projet")
    sign_in(web, new_token(web_services, Role.STAFF, lab=other))
    page = web.get(f"/projets/{project_id}/historique")
    assert page.status_code == 403
    assert "retard du marché" not in page.text
    assert web.get(f"/projets/{project_id}/historique.xlsx").status_code == 403


def test_the_history_page_says_when_the_log_was_last_verified(
    web: TestClient, web_services: Services
) -> None:
    _, project_id, _ = _assessed_by_a_person(web, web_services)
    application = web_services.application
    application.execute(
        RecordAuditVerified(events=1234, last_position=1234, findings=0),
        application.meta("tok_auditor", str(uuid.uuid4())),
    )
    sign_in(web, new_token(web_services, Role.AUDITOR))
    page = web.get(f"/projets/{project_id}/historique")
    assert page.status_code == 200
    assert "L’historique est-il intact ?" in page.text
    assert "intact — 1" in page.text
    assert f'href="/projets/{project_id}/historique.ods"' in page.text


def test_an_auditor_downloads_the_history_as_a_spreadsheet(
    web: TestClient, web_services: Services
) -> None:
    _, project_id, _ = _assessed_by_a_person(web, web_services)
    sign_in(web, new_token(web_services, Role.AUDITOR))
    download = web.get(f"/projets/{project_id}/historique.xlsx")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(download.content))["Historique"]
    reasons = [row[6] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "retard du marché" in reasons
    assert web.get(f"/projets/{project_id}/historique.csv").status_code == 404


def test_a_reader_downloads_the_overdue_milestones_of_a_lab(
    web: TestClient, web_services: Services
) -> None:
    lab, _, position = register(web_services.application, "Villages du futur")
    caught_up(web, position)
    sign_in(web, new_token(web_services))
    download = web.get("/jalons.ods", params={"lab": lab, "overdue": "1"})
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/vnd.oasis.opendocument.spreadsheet"
    assert 'filename="jalons-' in download.headers["content-disposition"]
    assert 'href="/jalons.xlsx?overdue=1"' in web.get("/").text


def test_the_projects_list_downloads_as_csv_with_its_filters(
    web: TestClient, web_services: Services
) -> None:
    lab, project_id, position = register(web_services.application, "Villages du futur")
    caught_up(web, position)
    sign_in(web, new_token(web_services))
    listed = web.get("/projets", params={"lab": lab})
    assert f'href="/projets.csv?lab={lab}"' in listed.text
    download = web.get("/projets.csv", params={"lab": lab})
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    lines = download.text.splitlines()
    assert lines[0].startswith("Laboratoire,Projet,Phase")
    assert len(lines) == 2
    assert str(project_id) in lines[1]
    earlier = web.get("/projets.xlsx", params={"lab": lab, "on": "2025-01-05"})
    rows = list(load_workbook(io.BytesIO(earlier.content))["Projets"].iter_rows(values_only=True))
    assert len(rows) == 1  # the header only: the project started on 6 January
