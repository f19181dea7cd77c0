"""Spreadsheets for managers: the milestones and a project's history as XLSX and ODS,
read back with independent readers (openpyxl; the ODS's XML with the standard library),
holding the same numbers as the JSON; unknown formats get 406 (docs/spreadsheets.md)."""

from __future__ import annotations

import io
import uuid
import zipfile
from datetime import date, datetime
from typing import Any
from xml.etree import ElementTree

import openpyxl
import pytest
from fastapi.testclient import TestClient

from domain.values import Phase
from projections.runner import PROJECTIONS, ProjectionWorker
from tests.api.conftest import TokenFactory, assert_problem
from tracker.application.commands import CommitFunding, PlanMilestone
from tracker.application.service import TrackerApplication
from tracker.application.services import Services
from tracker.exports.spreadsheets import ODS, XLSX

TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
PAST = date(2025, 2, 3)
FUTURE = date(2030, 6, 30)


@pytest.fixture
def planned(
    api_application: TrackerApplication, app_services: Services, project: uuid.UUID
) -> uuid.UUID:
    """The project with an overdue milestone, a future one, and funding; projections caught up."""
    at = api_application.meta("tok_fixture", "fixture", date(2025, 1, 10))
    for title, due in (("Atelier de lancement", PAST), ("Bilan", FUTURE)):
        api_application.execute(
            PlanMilestone(project_id=project, title=title, due_on=due, phase=Phase.DISCOVERY), at
        )
    api_application.execute(
        CommitFunding(project_id=project, source="État", amount_cents=1_234_567, fiscal_year=2025),
        at,
    )
    for projection in PROJECTIONS:
        ProjectionWorker(app_services, projection).run_until_caught_up()
    return project


def xlsx_sheets(content: bytes) -> dict[str, list[tuple[Any, ...]]]:
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in workbook.worksheets}


def ods_sheets(content: bytes) -> dict[str, list[list[tuple[str, str]]]]:
    """Each sheet's rows of (value type, value) cells, read from content.xml directly."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.read("mimetype") == ODS.encode()
        root = ElementTree.fromstring(archive.read("content.xml"))
    sheets: dict[str, list[list[tuple[str, str]]]] = {}
    for table in root.iter(f"{TABLE}table"):
        rows = []
        for row in table.iter(f"{TABLE}table-row"):
            cells = []
            for cell in row.iter(f"{TABLE}table-cell"):
                kind = cell.get(f"{OFFICE}value-type", "")
                value = (
                    cell.get(f"{OFFICE}date-value")
                    or cell.get(f"{OFFICE}value")
                    or "".join(p.text or "" for p in cell.iter(f"{TEXT}p"))
                )
                cells.append((kind, value))
            rows.append(cells)
        sheets[table.get(f"{TABLE}name", "")] = rows
    return sheets


def _mine(client: TestClient, headers: dict[str, str], lab: str, **params: Any) -> Any:
    return client.get("/api/v1/milestones", params={"lab": lab, **params}, headers=headers)


def test_the_milestones_as_xlsx_hold_the_json_numbers_with_dates_as_dates(
    client: TestClient, tokens: TokenFactory, lab: str, planned: uuid.UUID
) -> None:
    viewer = tokens("viewer")
    listed = _mine(client, viewer, lab).json()
    answer = _mine(client, viewer, lab, format="xlsx")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == XLSX
    assert "attachment" in answer.headers["content-disposition"]
    rows = xlsx_sheets(answer.content)["Jalons"]
    header = rows[0]
    assert header[:6] == ("Laboratoire", "Projet", "Jalon", "Phase", "Statut", "Échéance")
    due = header.index("Échéance")
    overdue = header.index("En retard")
    assert [r[due] for r in rows[1:]] == [datetime.fromisoformat(m["due_on"]) for m in listed]
    assert [r[2] for r in rows[1:]] == [m["title"] for m in listed]
    assert [r[overdue] for r in rows[1:]] == ["oui", "non"]
    assert rows[1][3] == Phase.DISCOVERY.label


def test_the_milestones_as_ods_hold_the_same_dates(
    client: TestClient, tokens: TokenFactory, lab: str, planned: uuid.UUID
) -> None:
    viewer = tokens("viewer")
    listed = _mine(client, viewer, lab).json()
    answer = _mine(client, viewer, lab, format="ods")
    assert answer.headers["content-type"] == ODS
    rows = ods_sheets(answer.content)["Jalons"]
    header = [value for _, value in rows[0]]
    due = header.index("Échéance")
    assert [row[due] for row in rows[1:]] == [("date", m["due_on"]) for m in listed]


def test_a_spreadsheet_is_chosen_by_accept_too(
    client: TestClient, tokens: TokenFactory, lab: str, planned: uuid.UUID
) -> None:
    answer = _mine(client, tokens("viewer") | {"Accept": ODS}, lab)
    assert answer.headers["content-type"] == ODS


def test_an_unknown_format_gets_406_with_the_known_ones(
    client: TestClient, tokens: TokenFactory, lab: str
) -> None:
    viewer = tokens("viewer")
    problem = assert_problem(_mine(client, viewer, lab, format="pdf"), 406)
    for known in ("json", "xlsx", "ods"):
        assert known in problem["detail"]
    assert_problem(_mine(client, viewer | {"Accept": "text/csv"}, lab), 406)


def test_a_json_only_route_refuses_an_accept_without_json(
    client: TestClient, tokens: TokenFactory
) -> None:
    viewer = tokens("viewer")
    problem = assert_problem(
        client.get("/api/v1/labs", headers=viewer | {"Accept": "text/csv"}), 406
    )
    assert "json" in problem["detail"]
    assert (
        client.get("/api/v1/labs", headers=viewer | {"Accept": "text/html, */*;q=0.8"}).status_code
        == 200
    )


def test_a_projects_history_as_xlsx_has_its_events_and_its_funding_in_euros(
    client: TestClient, tokens: TokenFactory, planned: uuid.UUID
) -> None:
    auditor = tokens("auditor")
    events = client.get(f"/api/v1/projects/{planned}/events", headers=auditor).json()["items"]
    answer = client.get(f"/api/v1/projects/{planned}/events?format=xlsx", headers=auditor)
    assert answer.status_code == 200, answer.text
    sheets = xlsx_sheets(answer.content)
    assert list(sheets) == ["Historique", "Financements"]
    history = sheets["Historique"]
    assert history[0][:3] == ("Position dans le journal", "Version", "Événement")
    assert [(r[0], r[1], r[2]) for r in history[1:]] == [
        (e["position"], e["version"], e["type"]) for e in events
    ]
    funding = sheets["Financements"]
    assert funding[0] == ("Source", "Exercice", "Montant", "Engagements")
    assert funding[1][:3] == ("État", 2025, 12345.67)
    workbook = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert "€" in workbook["Financements"]["C2"].number_format


def test_a_projects_history_as_ods_has_its_funding_as_a_currency(
    client: TestClient, tokens: TokenFactory, planned: uuid.UUID
) -> None:
    answer = client.get(
        f"/api/v1/projects/{planned}/events", headers=tokens("auditor") | {"Accept": ODS}
    )
    sheets = ods_sheets(answer.content)
    assert list(sheets) == ["Historique", "Financements"]
    amount = sheets["Financements"][1][2]
    assert amount == ("currency", "12345.67")
    assert sheets["Historique"][1][3][0] == "date"
