"""Dates typed in French (jj/mm/aaaa) in every date field of the pages, ISO 8601 kept for
links and scripts, anything else refused in French (tracker/web/dates.py, docs/web.md)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import new_token, sign_in
from tests.web.test_forms import hidden, post, staff_on_project
from tracker.application.services import Services
from tracker.web.dates import field_date, field_instant, parse_date, parse_instant


@pytest.fixture
def web(shared: TestClient) -> TestClient:
    """This module's tests share one app per back end (tests/web/conftest.py)."""
    return shared


def test_a_date_is_read_in_french_or_iso_and_nothing_else() -> None:
    assert parse_date("31/12/2024") == parse_date("2024-12-31") == date(2024, 12, 31)
    assert parse_date(" 1/2/2025 ") == parse_date("01.02.2025") == date(2025, 2, 1)
    for wrong in ("12/31/2024", "31/12/24", "2024-31-12", "demain", "", "31 décembre 2024"):
        with pytest.raises(ValueError):
            parse_date(wrong)
    assert field_date(date(2025, 2, 1)) == field_date("2025-02-01") == "01/02/2025"


def test_an_instant_is_read_in_french_or_iso() -> None:
    assert parse_instant("31/12/2024 18:05") == datetime(2024, 12, 31, 18, 5)
    assert parse_instant("31/12/2024 18h05") == datetime(2024, 12, 31, 18, 5)
    assert parse_instant("31/12/2024 18:05:09") == datetime(2024, 12, 31, 18, 5, 9)
    assert parse_instant("31/12/2024") == datetime(2024, 12, 31)
    assert parse_instant("2024-12-31T18:00:00+01:00").utcoffset() is not None
    for wrong in ("31/12/2024 25:00", "hier", "18:00"):
        with pytest.raises(ValueError):
            parse_instant(wrong)
    assert field_instant(datetime(2024, 12, 31, 18, 5, 9)) == "31/12/2024 18:05:09"


def test_the_date_fields_are_french_and_take_a_french_date(
    web: TestClient, web_services: Services
) -> None:
    sign_in(web, new_token(web_services))
    page = web.get("/", params={"on": "31/12/2024"})
    assert page.status_code == 200
    assert "Date métier affichée : 31 décembre 2024." in page.text
    assert 'type="text" lang="fr"' in page.text
    assert 'value="31/12/2024"' in page.text
    assert 'Date métier <span class="hint">(jj/mm/aaaa)</span>' in page.text
    # Its links keep ISO 8601.
    assert "on=2024-12-31" in page.text
    known = web.get("/", params={"connu_le": "31/12/2024 18:00"})
    assert known.status_code == 200
    assert "Tel que connu le 31 déc. 2024, 18:00:00" in known.text
    actions = web.get("/formations", params={"from": "01/01/2024", "to": "31/12/2024"})
    assert actions.status_code == 200
    assert 'value="01/01/2024"' in actions.text
    assert '"from": "2024-01-01"' in actions.text  # the query's variable


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/", {"on": "12/31/2024"}, "on"),
        ("/", {"connu_le": "hier"}, "connu_le"),
        ("/formations", {"from": "2024-31-12"}, "from"),
        ("/comparaison", {"du": "31/12/24"}, "du"),
    ],
)
def test_a_date_that_is_neither_french_nor_iso_is_refused_in_french(
    web: TestClient, web_services: Services, path: str, params: dict[str, str], field: str
) -> None:
    sign_in(web, new_token(web_services))
    page = web.get(path, params=params)
    assert page.status_code == 400
    assert f"Le champ {field} doit être une date sous la forme jj/mm/aaaa" in page.text


def test_a_staff_form_takes_a_french_date(web: TestClient, web_services: Services) -> None:
    _lab, project_id = staff_on_project(web, web_services)
    page = web.get(f"/projets/{project_id}/saisie")
    assert 'Tenue le <span class="hint">(jj/mm/aaaa)</span>' in page.text
    answer = post(
        web,
        project_id,
        "activite",
        {**hidden(page.text, "activite"), "kind": "workshop", "title": "Atelier",
         "held_on": "10/02/2025", "participants": "12"},
    )  # fmt: skip
    assert answer.status_code == 303  # type: ignore[attr-defined]
    project = web_services.application.get_project(project_id)
    assert [a.held_on for a in project.activities] == [date(2025, 2, 10)]
