"""`portfolio(asOf:)`: the roll-ups as known at a recorded instant, on SQLite and PostgreSQL.

The app runs without its background projector: each test catches the live portfolio
and timeline projections up itself (`ProjectionWorker.run_until_caught_up`, the
projector's own code), so "the live portfolio at T" is exactly the log up to then, with
no wait and no race.
Each test works in its own lab, except where the whole log is the point.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.values import ActivityKind, GateDecision, Health, Outcome, Phase, Territory
from projections.portfolio import PortfolioProjection
from projections.runner import ProjectionWorker
from projections.timeline import TimelineProjection
from tests.api.conftest import TokenFactory
from tests.factories import unique_slug
from tracker.application.commands import (
    AchieveMilestone,
    AssessHealth,
    CloseProject,
    CommitFunding,
    EnterPhase,
    LogActivity,
    PlanMilestone,
    RegisterLab,
    RegisterProject,
    RescheduleMilestone,
)
from tracker.application.service import TrackerApplication
from tracker.application.services import Services

PORTFOLIO = """
query($f: ProjectFilter, $at: DateTime, $days: Int! = 30) {
  portfolio(filter: $f, asOf: $at, dueWithinDays: $days) {
    total byPhase { key label count } byHealth { key count } byStatus { key count }
    byLab { key count } byTerritory { key label count } byTheme { key count }
    milestones { open dueSoon overdue slipped achieved }
    activitiesByMonth { month activities participants }
    fundingByYear { year amountCents }
  }
}
"""
EMPTY = {
    "total": 0,
    "byPhase": [],
    "byHealth": [],
    "byStatus": [],
    "byLab": [],
    "byTerritory": [],
    "byTheme": [],
    "milestones": {"open": 0, "dueSoon": 0, "overdue": 0, "slipped": 0, "achieved": 0},
    "activitiesByMonth": [],
    "fundingByYear": [],
}


class Portfolio:
    """Writes through the application, the live projection caught up on demand, reads."""

    def __init__(self, client: TestClient, services: Services, tokens: TokenFactory) -> None:
        self.client = client
        self.services = services
        self.application: TrackerApplication = services.application
        self.headers = tokens("viewer")
        self.today = self.application.today()

    def meta(self) -> Any:
        return self.application.meta("tok_test", str(uuid.uuid4()))

    def lab(self) -> str:
        slug = unique_slug()
        self.application.execute(
            RegisterLab(slug=slug, name=f"Lab {slug}", region_code="27"), self.meta()
        )
        return slug

    def project(self, lab: str, title: str, themes: list[str], territory: Territory) -> uuid.UUID:
        return self.application.execute(
            RegisterProject(
                lab=lab,
                title=title,
                summary="Avec les habitants.",
                themes=themes,
                territories=[territory],
                started_on=date(2025, 1, 6),
            ),
            self.meta(),
        ).id

    def catch_up(self) -> None:
        # The live portfolio, and the timeline that `asOf` reads (docs/time.md).
        for projection in (PortfolioProjection, TimelineProjection):
            ProjectionWorker(self.services, projection).run_until_caught_up()

    def response(
        self,
        filter: dict[str, Any] | None = None,
        at: datetime | None = None,
        days: int = 30,
        headers: dict[str, str] | None = None,
    ) -> Any:
        variables = {"f": filter, "at": at.isoformat() if at else None, "days": days}
        return self.client.post(
            "/graphql",
            json={"query": PORTFOLIO, "variables": variables},
            headers=self.headers if headers is None else headers,
        )

    def read(
        self, filter: dict[str, Any] | None = None, at: datetime | None = None, days: int = 30
    ) -> dict[str, Any]:
        response = self.response(filter, at, days)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        figures: dict[str, Any] = body["data"]["portfolio"]
        return figures


@pytest.fixture
def portfolio(client: TestClient, app_services: Services, tokens: TokenFactory) -> Portfolio:
    return Portfolio(client, app_services, tokens)


def first_chapter(p: Portfolio, lab: str) -> tuple[uuid.UUID, uuid.UUID, str]:
    """Two projects with phases, health, milestones, activities and funding."""
    app, today = p.application, p.today
    a = p.project(lab, "A", ["santé"], Territory("commune", "21231", 2024))
    b = p.project(lab, "B", ["santé", "culture"], Territory("department", "21", 2024))
    app.execute(EnterPhase(project_id=a, phase=Phase.DISCOVERY, decision=GateDecision.GO), p.meta())
    app.execute(AssessHealth(project_id=b, health=Health.OFF_TRACK), p.meta())
    app.execute(
        PlanMilestone(
            project_id=a, title="En retard", due_on=today - timedelta(days=1), phase=Phase.FRAMING
        ),
        p.meta(),
    )
    soon = app.execute(
        PlanMilestone(
            project_id=b, title="Bientôt", due_on=today + timedelta(days=3), phase=Phase.FRAMING
        ),
        p.meta(),
    ).created_id
    assert soon is not None
    app.execute(
        LogActivity(
            project_id=a,
            kind=ActivityKind.WORKSHOP,
            title="Atelier",
            held_on=date(2026, 1, 5),
            participants=10,
        ),
        p.meta(),
    )
    app.execute(
        CommitFunding(project_id=a, source="Région", amount_cents=100_000, fiscal_year=2025),
        p.meta(),
    )
    return a, b, soon


def second_chapter(p: Portfolio, lab: str, a: uuid.UUID, b: uuid.UUID, soon: str) -> None:
    """What happens after the instant asked for: every roll-up changes."""
    app, today = p.application, p.today
    c = p.project(lab, "C", ["mobilité"], Territory("commune", "71270", 2024))
    app.execute(
        RescheduleMilestone(
            project_id=b, milestone_id=soon, due_on=today + timedelta(days=9), reason="météo"
        ),
        p.meta(),
    )
    app.execute(
        AchieveMilestone(
            project_id=b, milestone_id=soon, achieved_on=today, evidence="Compte rendu"
        ),
        p.meta(),
    )
    app.execute(AssessHealth(project_id=a, health=Health.AT_RISK), p.meta())
    app.execute(EnterPhase(project_id=c, phase=Phase.DISCOVERY, decision=GateDecision.GO), p.meta())
    app.execute(
        LogActivity(
            project_id=c,
            kind=ActivityKind.TRAINING,
            title="Formation",
            held_on=date(2026, 2, 3),
            participants=7,
        ),
        p.meta(),
    )
    app.execute(
        CommitFunding(project_id=b, source="État", amount_cents=50_000, fiscal_year=2026), p.meta()
    )
    app.execute(CloseProject(project_id=a, outcome=Outcome.ABANDONED, reason="Arrêt"), p.meta())


def test_as_of_an_instant_answers_what_was_read_at_that_instant(portfolio: Portfolio) -> None:
    lab = portfolio.lab()
    a, b, soon = first_chapter(portfolio, lab)
    portfolio.catch_up()
    read_then = portfolio.read({"lab": lab})
    then = datetime.now(UTC)
    second_chapter(portfolio, lab, a, b, soon)
    portfolio.catch_up()

    read_now = portfolio.read({"lab": lab})
    assert read_now != read_then
    assert portfolio.read({"lab": lab}, then) == read_then
    # Once more (the instant's replay is kept) after yet more events arrived.
    portfolio.application.execute(
        AssessHealth(project_id=b, health=Health.ON_TRACK), portfolio.meta()
    )
    assert portfolio.read({"lab": lab}, then) == read_then


def test_as_of_before_any_event_is_an_empty_portfolio(portfolio: Portfolio) -> None:
    lab = portfolio.lab()
    before = datetime.now(UTC)
    first_chapter(portfolio, lab)
    assert portfolio.read({"lab": lab}, before) == EMPTY
    assert portfolio.read(None, datetime(2000, 1, 1, tzinfo=UTC)) == EMPTY


def test_as_of_a_future_instant_is_the_live_portfolio_once_caught_up(
    portfolio: Portfolio,
) -> None:
    lab = portfolio.lab()
    a, b, soon = first_chapter(portfolio, lab)
    second_chapter(portfolio, lab, a, b, soon)
    portfolio.catch_up()
    # The whole log (every test's so far): the replay holds what the live tables hold.
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert portfolio.read(None, later) == portfolio.read()
    assert portfolio.read({"lab": lab}, later) == portfolio.read({"lab": lab})


def test_filters_apply_to_the_portfolio_as_of_an_instant(portfolio: Portfolio) -> None:
    lab = portfolio.lab()
    a, b, soon = first_chapter(portfolio, lab)
    then = datetime.now(UTC)
    second_chapter(portfolio, lab, a, b, soon)
    portfolio.catch_up()

    off_track = portfolio.read({"lab": lab, "health": "OFF_TRACK"}, then)
    assert (off_track["total"], off_track["byHealth"]) == (1, [{"key": "off_track", "count": 1}])
    assert portfolio.read({"lab": lab, "health": "AT_RISK"}, then)["total"] == 0
    assert portfolio.read({"lab": lab, "health": "AT_RISK"})["total"] == 1
    assert portfolio.read({"lab": lab, "theme": "mobilité"}, then)["total"] == 0
    assert portfolio.read({"lab": lab, "theme": "mobilité"})["total"] == 1
    in_71 = portfolio.read({"lab": lab, "territory": "71"}, then)
    assert in_71["total"] == 0
    in_21 = portfolio.read({"lab": lab, "territory": "21"}, then)
    assert in_21["total"] == 2
    assert in_21["byStatus"] == [{"key": "active", "count": 2}]
    titled = portfolio.read({"lab": lab, "text": "B"}, then)
    assert titled["total"] == 1
    assert titled["milestones"] == {
        "open": 1,
        "dueSoon": 1,
        "overdue": 0,
        "slipped": 0,
        "achieved": 0,
    }


def test_overdue_and_due_soon_count_from_the_as_of_date(portfolio: Portfolio) -> None:
    lab = portfolio.lab()
    pid = portfolio.project(lab, "A", ["santé"], Territory("department", "21", 2024))
    due = portfolio.today + timedelta(days=10)
    portfolio.application.execute(
        PlanMilestone(project_id=pid, title="Jalon", due_on=due, phase=Phase.FRAMING),
        portfolio.meta(),
    )
    now = datetime.now(UTC)
    portfolio.catch_up()

    def milestones(at: datetime, days: int = 30) -> dict[str, int]:
        figures: dict[str, int] = portfolio.read({"lab": lab}, at, days)["milestones"]
        return figures

    assert milestones(now)["dueSoon"] == 1
    assert milestones(now, days=5)["dueSoon"] == 0
    # The same events, read as on a later day: the milestone is then past due.
    assert milestones(now + timedelta(days=20)) == {
        "open": 1,
        "dueSoon": 0,
        "overdue": 1,
        "slipped": 0,
        "achieved": 0,
    }
    assert milestones(now + timedelta(days=8), days=5)["dueSoon"] == 1


def test_an_event_recorded_before_the_instant_but_positioned_after_a_later_one_counts(
    portfolio: Portfolio,
) -> None:
    """A slow writer: its event is stamped before the instant and committed after an event
    stamped after it, so the log's positions are not in timestamp order."""
    lab = portfolio.lab()
    slow = portfolio.project(lab, "Lent", ["santé"], Territory("department", "21", 2024))
    fast = portfolio.project(lab, "Rapide", ["santé"], Territory("department", "21", 2024))
    app = portfolio.application
    project = app.get_project(slow)
    project.assess_health(Health.OFF_TRACK, portfolio.meta())  # stamped now…
    then = datetime.now(UTC)
    app.execute(
        AssessHealth(project_id=fast, health=Health.AT_RISK), portfolio.meta()
    )  # stamped and saved later
    app.save(project)  # …saved last, at the higher position
    assert app.get_project(slow).version == 2
    portfolio.catch_up()

    by_health = portfolio.read({"lab": lab}, then)["byHealth"]
    assert by_health == [{"key": "off_track", "count": 1}, {"key": "on_track", "count": 1}]


def test_as_of_needs_a_token_like_the_portfolio(portfolio: Portfolio) -> None:
    at = datetime.now(UTC)
    refused = portfolio.response(at=at, headers={})
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    revoked = portfolio.response(at=at, headers={"Authorization": "Bearer tok_nosuchtoken"})
    assert revoked.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert portfolio.response(at=at).status_code == 200


def test_a_negative_due_within_days_is_refused_as_of_an_instant(portfolio: Portfolio) -> None:
    body = portfolio.response(at=datetime.now(UTC), days=-1).json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
