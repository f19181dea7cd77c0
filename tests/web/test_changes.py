"""The comparison page through the real app: `/comparaison` shows what `portfolioChanges`
answers between two business dates, in French."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import caught_up, new_token, register, sign_in
from tracker.application.services import Services
from tracker.web.reading import query_text


@pytest.fixture
def web(shared: TestClient) -> TestClient:
    """This module's tests share one app per back end (tests/web/conftest.py)."""
    return shared


def test_the_comparison_shows_what_portfolio_changes_answers(
    web: TestClient, web_services: Services
) -> None:
    lab, _, position = register(web_services.application, "Villages du futur")
    caught_up(web, position)
    token = new_token(web_services)
    sign_in(web, token)
    page = web.get("/comparaison", params={"du": "2025-01-01", "au": "2025-02-01", "lab": lab})
    assert page.status_code == 200
    answer = web.post(
        "/graphql",
        json={
            "query": query_text("changes"),
            "variables": {"from": "2025-01-01", "to": "2025-02-01", "filter": {"lab": lab}},
        },
        headers={"Authorization": f"Bearer {token}"},
    ).json()["data"]["portfolioChanges"]
    shown = re.search(r'data-figure="opened">([^<]+)<', page.text)
    assert shown is not None
    assert int(shown.group(1)) == answer["totals"]["opened"] == 1
    assert "Villages du futur" in page.text
    assert "1 janvier 2025" in page.text


def test_the_comparison_refuses_a_malformed_date_and_dates_in_the_wrong_order(
    web: TestClient, web_services: Services
) -> None:
    sign_in(web, new_token(web_services))
    assert web.get("/comparaison", params={"du": "hier"}).status_code == 400
    assert (
        web.get("/comparaison", params={"du": "2025-02-01", "au": "2025-01-01"}).status_code == 400
    )


def test_the_comparison_without_dates_compares_the_year_so_far(
    web: TestClient, web_services: Services
) -> None:
    sign_in(web, new_token(web_services))
    page = web.get("/comparaison")
    assert page.status_code == 200
    assert "du premier janvier à aujourd’hui" in page.text
    assert f'value="01/01/{date.today().year}"' in page.text  # shown in French
