"""GraphQL through the real ASGI app (background projector on), on SQLite and PostgreSQL.

Writes go through the application; every read sends `X-Min-Position` with the last
write's position, which is itself under test: without it, reads could race the projector.
Each test works in its own lab, so counts are exact on the shared database.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from domain.meta import Meta
from domain.values import ActivityKind, GateDecision, Health, Outcome, Phase, Territory
from tests.factories import unique_slug
from tracker.application.access import Role, create_token
from tracker.application.commands import (
    AchieveMilestone,
    AddPartner,
    AssessHealth,
    CloseProject,
    Command,
    CommitFunding,
    DefineIndicator,
    EnterPhase,
    LogActivity,
    MeasureIndicator,
    PlanMilestone,
    RecordDecision,
    RegisterLab,
    RegisterProject,
    RescheduleMilestone,
)
from tracker.application.service import TrackerApplication
from tracker.application.services import Services
from tracker.asgi import create_app
from tracker.config.settings import Settings

PROJECT_FIELDS = """
  id labSlug title summary phase phaseLabel phaseSince health status outcome themes
  territories { level code cogYear name } startedOn registeredOn closedOn
  milestonesPlanned milestonesOpen milestonesAchieved milestonesCancelled milestonesOverdue
  activityCount participantCount partnerCount decisionCount fundingCents lastActivityOn
  version updatedAt
  lab { slug name regionCode registeredOn }
  nextMilestone { id title dueOn }
  milestones { id projectId title phase dueOn originalDueOn status achievedOn plannedOn
               reschedules daysSlipped overdue daysOverdue project { id } }
  phasePeriods { phase enteredOn leftOn decision days }
  activities { id kind title heldOn participants }
  funding { source fiscalYear amountCents commitments }
  indicators { id name unit baseline target value measuredOn }
"""


class Dashboard:
    """A GraphQL client with a viewer token, and the application to arrange state with."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.services: Services = client.app.state.services  # type: ignore[attr-defined]
        self.application: TrackerApplication = self.services.application
        self.token = create_token(self.services.application, Role.VIEWER, name="dashboard")[1]
        self.position = 0
        self.today = self.application.today()

    def meta(self, occurred_on: date | None = None) -> Any:
        return self.application.meta("tok_test", str(uuid.uuid4()), occurred_on)

    def wrote(self, result: Any) -> Any:
        self.position = max(self.position, result.position)
        return result

    def post(self, query: str, variables: dict[str, Any] | None = None, **headers: str) -> Any:
        sent = {"Authorization": f"Bearer {self.token}"}
        if self.position:
            sent["X-Min-Position"] = str(self.position)
        sent.update(headers)
        return self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=sent
        )

    def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = self.post(query, variables)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        return body["data"]

    def error(self, query: str, variables: dict[str, Any] | None = None, **headers: str) -> Any:
        response = self.post(query, variables, **headers)
        body = response.json()
        assert body.get("errors"), body
        return response.status_code, body["errors"][0]

    def lab(self) -> str:
        slug = unique_slug()
        self.wrote(
            self.application.execute(
                RegisterLab(slug=slug, name=f"Lab {slug}", region_code="27"), self.meta()
            )
        )
        return slug

    def project(
        self,
        lab: str,
        title: str = "Villages du futur",
        themes: list[str] | None = None,
        territories: list[Territory] | None = None,
    ) -> str:
        result = self.wrote(
            self.application.execute(
                RegisterProject(
                    lab=lab,
                    title=title,
                    summary="Construire avec les habitants.",
                    themes=themes if themes is not None else ["ruralité"],
                    territories=territories or [Territory("department", "71", 2024)],
                    started_on=date(2025, 1, 6),
                ),
                self.meta(date(2025, 1, 6)),
            )
        )
        return str(result.id)

    def do(self, command: Command, meta: Meta) -> Any:
        return self.wrote(self.application.execute(command, meta))


@pytest.fixture
def dashboard(database_url: str) -> Iterator[Dashboard]:
    settings = Settings(database_url=database_url, min_position_timeout_seconds=10)
    with TestClient(create_app(settings)) as client:
        yield Dashboard(client)


def test_a_request_without_a_valid_token_is_unauthenticated(dashboard: Dashboard) -> None:
    response = dashboard.client.post("/graphql", json={"query": "{ labs { slug } }"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    status, error = dashboard.error("{ labs { slug } }", Authorization="Bearer tok_nope.x")
    assert (status, error["extensions"]["code"]) == (401, "UNAUTHENTICATED")


def test_a_project_shows_every_field_from_the_projections(dashboard: Dashboard) -> None:
    lab = dashboard.lab()
    pid = dashboard.project(
        lab, territories=[Territory("commune", "21231", 2024)], themes=["culture"]
    )
    today = dashboard.today
    late = dashboard.do(
        PlanMilestone(
            project_id=uuid.UUID(pid),
            title="Atelier",
            due_on=today - timedelta(days=3),
            phase=Phase.DISCOVERY,
        ),
        dashboard.meta(),
    ).created_id
    dashboard.do(
        PlanMilestone(
            project_id=uuid.UUID(pid),
            title="Bilan",
            due_on=today + timedelta(days=9),
            phase=Phase.DISCOVERY,
        ),
        dashboard.meta(),
    )
    dashboard.do(
        EnterPhase(project_id=uuid.UUID(pid), phase=Phase.DISCOVERY, decision=GateDecision.GO),
        dashboard.meta(),
    )
    dashboard.do(
        AssessHealth(project_id=uuid.UUID(pid), health=Health.AT_RISK, reason="retard"),
        dashboard.meta(),
    )
    dashboard.do(
        LogActivity(
            project_id=uuid.UUID(pid),
            kind=ActivityKind.TRAINING,
            title="Formation",
            held_on=today,
            participants=14,
        ),
        dashboard.meta(),
    )
    dashboard.do(
        CommitFunding(
            project_id=uuid.UUID(pid), source="Région", amount_cents=3_000_000_000, fiscal_year=2026
        ),
        dashboard.meta(),
    )
    indicator = dashboard.do(
        DefineIndicator(
            project_id=uuid.UUID(pid), name="Usagers", unit="personnes", baseline=0, target=100
        ),
        dashboard.meta(),
    ).created_id
    dashboard.do(
        MeasureIndicator(
            project_id=uuid.UUID(pid), indicator_id=indicator, value=42, measured_on=today
        ),
        dashboard.meta(),
    )
    dashboard.do(
        AddPartner(project_id=uuid.UUID(pid), name="Université", role="recherche"), dashboard.meta()
    )
    dashboard.do(
        RecordDecision(
            project_id=uuid.UUID(pid), title="Choix", decision="Pilote", rationale="Moins cher"
        ),
        dashboard.meta(),
    )

    project = dashboard.data(
        f"query($id: ID!) {{ project(id: $id) {{ {PROJECT_FIELDS} }} }}", {"id": pid}
    )["project"]
    assert (project["phase"], project["phaseLabel"], project["health"], project["status"]) == (
        "DISCOVERY",
        "Immersion et diagnostic",
        "AT_RISK",
        "ACTIVE",
    )
    assert project["lab"]["slug"] == lab
    assert project["territories"] == [
        {"level": "commune", "code": "21231", "cogYear": 2024, "name": "Dijon"}
    ]
    assert project["nextMilestone"]["id"] == late
    assert (project["milestonesPlanned"], project["milestonesOverdue"]) == (2, 1)
    overdue = project["milestones"][0]
    assert (overdue["overdue"], overdue["daysOverdue"], overdue["project"]["id"]) == (True, 3, pid)
    assert [p["phase"] for p in project["phasePeriods"]] == ["FRAMING", "DISCOVERY"]
    assert project["activities"][0]["participants"] == project["participantCount"] == 14
    assert project["funding"] == [
        {"source": "Région", "fiscalYear": 2026, "amountCents": 3_000_000_000, "commitments": 1}
    ]
    assert project["fundingCents"] == 3_000_000_000
    assert project["indicators"][0]["value"] == 42
    assert (project["partnerCount"], project["decisionCount"], project["version"]) == (1, 1, 11)

    assert dashboard.data('{ project(id: "nope") { id } }')["project"] is None


def test_projects_filter_by_lab_phase_health_status_theme_territory_and_text(
    dashboard: Dashboard,
) -> None:
    lab = dashboard.lab()
    theme = f"thème-{uuid.uuid4().hex[:6]}"
    commune = dashboard.project(lab, "Médiathèque", [theme], [Territory("commune", "21231", 2024)])
    department = dashboard.project(lab, "Cantine", [], [Territory("department", "21", 2024)])
    other = dashboard.project(lab, "Mobilités", [], [Territory("department", "71", 2024)])
    dashboard.do(
        EnterPhase(project_id=uuid.UUID(commune), phase=Phase.DISCOVERY, decision=GateDecision.GO),
        dashboard.meta(),
    )
    dashboard.do(
        AssessHealth(project_id=uuid.UUID(department), health=Health.OFF_TRACK), dashboard.meta()
    )
    dashboard.do(
        CloseProject(project_id=uuid.UUID(other), outcome=Outcome.ABANDONED, reason="budget"),
        dashboard.meta(),
    )

    def ids(filter_: dict[str, Any]) -> set[str]:
        data = dashboard.data(
            "query($f: ProjectFilter) { projects(filter: $f, first: 100) "
            "{ totalCount edges { node { id } } } }",
            {"f": {"lab": lab, **filter_}},
        )["projects"]
        assert data["totalCount"] == len(data["edges"])
        return {e["node"]["id"] for e in data["edges"]}

    assert ids({}) == {commune, department, other}
    assert ids({"phase": "DISCOVERY"}) == {commune}
    assert ids({"health": "OFF_TRACK"}) == {department}
    assert ids({"status": "CLOSED"}) == {other}
    assert ids({"theme": theme}) == {commune}
    assert ids({"territory": "21"}) == {commune, department}  # a department holds its communes
    assert ids({"territory": "21231"}) == {commune}
    assert ids({"text": "cant"}) == {department}
    assert ids({"text": "100%"}) == set()


def test_projects_page_with_keyset_cursors_and_refuse_more_than_100(dashboard: Dashboard) -> None:
    lab = dashboard.lab()
    created = [dashboard.project(lab, f"Projet {i}") for i in range(5)]
    query = (
        "query($f: ProjectFilter, $after: String) { projects(filter: $f, first: 2, after: $after)"
        " { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id } } } }"
    )
    seen: list[str] = []
    after = None
    while True:
        page = dashboard.data(query, {"f": {"lab": lab}, "after": after})["projects"]
        assert page["totalCount"] == 5
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == created
    _, error = dashboard.error("{ projects(first: 101) { totalCount } }")
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    _, error = dashboard.error('{ projects(after: "garbage") { totalCount } }')
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


def test_milestones_due_soon_overdue_and_slipped(dashboard: Dashboard) -> None:
    lab = dashboard.lab()
    pid = dashboard.project(lab)
    today, meta = dashboard.today, dashboard.meta
    overdue = dashboard.do(
        PlanMilestone(
            project_id=uuid.UUID(pid),
            title="En retard",
            due_on=today - timedelta(days=2),
            phase=Phase.FRAMING,
        ),
        meta(),
    ).created_id
    soon = dashboard.do(
        PlanMilestone(
            project_id=uuid.UUID(pid),
            title="Bientôt",
            due_on=today + timedelta(days=5),
            phase=Phase.FRAMING,
        ),
        meta(),
    ).created_id
    later = dashboard.do(
        PlanMilestone(
            project_id=uuid.UUID(pid),
            title="Plus tard",
            due_on=today + timedelta(days=60),
            phase=Phase.FRAMING,
        ),
        meta(),
    ).created_id
    done = dashboard.do(
        PlanMilestone(
            project_id=uuid.UUID(pid),
            title="Fait",
            due_on=today - timedelta(days=9),
            phase=Phase.FRAMING,
        ),
        meta(),
    ).created_id
    dashboard.do(
        RescheduleMilestone(
            project_id=uuid.UUID(pid),
            milestone_id=later,
            due_on=today + timedelta(days=90),
            reason="météo",
        ),
        meta(),
    )
    dashboard.do(
        AchieveMilestone(
            project_id=uuid.UUID(pid), milestone_id=done, achieved_on=today, evidence="photos"
        ),
        meta(),
    )

    def ids(filter_: dict[str, Any]) -> list[str]:
        data = dashboard.data(
            "query($f: MilestoneFilter) { milestones(filter: $f, first: 50)"
            " { totalCount edges { node { id } } } }",
            {"f": {"project": {"lab": lab}, **filter_}},
        )["milestones"]
        return [e["node"]["id"] for e in data["edges"]]

    assert ids({}) == [done, overdue, soon, later]  # by due date
    assert ids({"dueWithinDays": 30}) == [soon]
    assert ids({"overdue": True}) == [overdue]
    assert ids({"slipped": True}) == [later]
    assert ids({"status": "ACHIEVED"}) == [done]
    assert ids({"projectId": pid, "overdue": False}) == [done, soon, later]
    first_page = dashboard.data(
        "query($f: MilestoneFilter) { milestones(filter: $f, first: 2)"
        " { pageInfo { hasNextPage endCursor } } }",
        {"f": {"projectId": pid}},
    )["milestones"]["pageInfo"]
    rest = dashboard.data(
        "query($f: MilestoneFilter, $a: String) { milestones(filter: $f, first: 10, after: $a)"
        " { edges { node { id } } } }",
        {"f": {"projectId": pid}, "a": first_page["endCursor"]},
    )["milestones"]["edges"]
    assert first_page["hasNextPage"]
    assert [e["node"]["id"] for e in rest] == [soon, later]


def test_the_activity_feed_pages_newest_first_with_french_summaries(dashboard: Dashboard) -> None:
    lab = dashboard.lab()
    pid = dashboard.project(lab)
    before = datetime.now().astimezone().isoformat()
    dashboard.do(
        AssessHealth(project_id=uuid.UUID(pid), health=Health.AT_RISK, reason="retard"),
        dashboard.meta(),
    )
    query = (
        "query($p: ID, $since: DateTime, $a: String) { activity(projectId: $p, since: $since,"
        " first: 1, after: $a) { totalCount pageInfo { hasNextPage endCursor }"
        " edges { node { position type projectId lab version actor occurredOn recordedAt"
        " summary } } } }"
    )
    page = dashboard.data(query, {"p": pid})["activity"]
    (newest,) = page["edges"]
    assert newest["node"]["type"] == "HealthAssessed"
    assert newest["node"]["summary"] == "« Villages du futur » : santé évaluée à risque"
    assert (newest["node"]["lab"], page["totalCount"]) == (lab, 2)
    older = dashboard.data(query, {"p": pid, "a": page["pageInfo"]["endCursor"]})["activity"]
    assert older["edges"][0]["node"]["type"] == "ProjectRegistered"
    assert dashboard.data(query, {"p": pid, "since": before})["activity"]["totalCount"] == 1


def test_the_portfolio_rolls_up_the_filtered_projects(dashboard: Dashboard) -> None:
    lab = dashboard.lab()
    today = dashboard.today
    a = dashboard.project(lab, "A", ["santé"], [Territory("commune", "21231", 2024)])
    b = dashboard.project(lab, "B", ["santé", "culture"], [Territory("department", "21", 2024)])
    dashboard.do(
        EnterPhase(project_id=uuid.UUID(a), phase=Phase.DISCOVERY, decision=GateDecision.GO),
        dashboard.meta(),
    )
    dashboard.do(AssessHealth(project_id=uuid.UUID(b), health=Health.OFF_TRACK), dashboard.meta())
    dashboard.do(
        PlanMilestone(
            project_id=uuid.UUID(a),
            title="Late",
            due_on=today - timedelta(days=1),
            phase=Phase.FRAMING,
        ),
        dashboard.meta(),
    )
    soon = dashboard.do(
        PlanMilestone(
            project_id=uuid.UUID(b),
            title="Soon",
            due_on=today + timedelta(days=3),
            phase=Phase.FRAMING,
        ),
        dashboard.meta(),
    ).created_id
    dashboard.do(
        RescheduleMilestone(
            project_id=uuid.UUID(b),
            milestone_id=soon,
            due_on=today + timedelta(days=4),
            reason="météo",
        ),
        dashboard.meta(),
    )
    dashboard.do(
        LogActivity(
            project_id=uuid.UUID(a),
            kind=ActivityKind.WORKSHOP,
            title="W",
            held_on=date(2026, 1, 5),
            participants=10,
        ),
        dashboard.meta(),
    )
    dashboard.do(
        LogActivity(
            project_id=uuid.UUID(b),
            kind=ActivityKind.TRAINING,
            title="T",
            held_on=date(2026, 1, 20),
            participants=5,
        ),
        dashboard.meta(),
    )
    dashboard.do(
        CommitFunding(
            project_id=uuid.UUID(a), source="Région", amount_cents=100_000, fiscal_year=2025
        ),
        dashboard.meta(),
    )
    dashboard.do(
        CommitFunding(
            project_id=uuid.UUID(b), source="État", amount_cents=50_000, fiscal_year=2026
        ),
        dashboard.meta(),
    )

    data = dashboard.data(
        "query($f: ProjectFilter) { portfolio(filter: $f, dueWithinDays: 7) { total"
        " byPhase { key label count } byHealth { key count } byStatus { key count }"
        " byLab { key count } byTerritory { key label name count } byTheme { key count }"
        " milestones { open dueSoon overdue slipped achieved }"
        " activitiesByMonth { month activities participants }"
        " fundingByYear { year amountCents } } }",
        {"f": {"lab": lab}},
    )["portfolio"]
    assert data["total"] == 2
    assert {(c["key"], c["label"], c["count"]) for c in data["byPhase"]} == {
        ("framing", "Cadrage", 1),
        ("discovery", "Immersion et diagnostic", 1),
    }
    assert {(c["key"], c["count"]) for c in data["byHealth"]} == {("on_track", 1), ("off_track", 1)}
    assert data["byStatus"] == [{"key": "active", "count": 2}]
    assert data["byLab"] == [{"key": lab, "count": 2}]
    assert {(c["key"], c["label"], c["name"]) for c in data["byTerritory"]} == {
        ("21231", "commune", "Dijon"),
        ("21", "department", "Côte-d'Or"),
    }
    assert data["byTheme"] == [{"key": "santé", "count": 2}, {"key": "culture", "count": 1}]
    assert data["milestones"] == {
        "open": 2,
        "dueSoon": 1,
        "overdue": 1,
        "slipped": 1,
        "achieved": 0,
    }
    assert data["activitiesByMonth"] == [{"month": "2026-01", "activities": 2, "participants": 15}]
    assert data["fundingByYear"] == [
        {"year": 2025, "amountCents": 100_000},
        {"year": 2026, "amountCents": 50_000},
    ]
    health = dashboard.data(
        "query($f: ProjectFilter) { portfolio(filter: $f) { total } }",
        {"f": {"lab": lab, "health": "OFF_TRACK"}},
    )
    assert health["portfolio"]["total"] == 1


def test_labs_lists_every_lab(dashboard: Dashboard) -> None:
    lab = dashboard.lab()
    labs = dashboard.data("{ labs { slug name regionCode registeredOn } }")["labs"]
    assert {"slug": lab, "name": f"Lab {lab}", "regionCode": "27"}.items() <= next(
        x for x in labs if x["slug"] == lab
    ).items()


def test_a_read_with_x_min_position_shows_the_write(dashboard: Dashboard) -> None:
    lab = dashboard.lab()
    pid = dashboard.project(lab)
    for participants in range(1, 6):
        dashboard.do(
            LogActivity(
                project_id=uuid.UUID(pid),
                kind=ActivityKind.WEBINAR,
                title="W",
                held_on=dashboard.today,
                participants=participants,
            ),
            dashboard.meta(),
        )
        count = dashboard.data(
            "query($id: ID!) { project(id: $id) { participantCount } }", {"id": pid}
        )["project"]["participantCount"]
        assert count == sum(range(1, participants + 1))


def test_a_position_not_reached_in_time_answers_projection_lag(database_url: str) -> None:
    settings = Settings(database_url=database_url, min_position_timeout_seconds=0.3)
    with TestClient(create_app(settings)) as client:
        dashboard = Dashboard(client)
        status, error = dashboard.error("{ labs { slug } }", **{"X-Min-Position": "999999999"})
        assert (status, error["extensions"]["code"]) == (503, "PROJECTION_LAG")
        status, error = dashboard.error("{ labs { slug } }", **{"X-Min-Position": "soon"})
        assert (status, error["extensions"]["code"]) == (400, "BAD_USER_INPUT")


def test_depth_token_and_alias_limits_refuse_abusive_queries(dashboard: Dashboard) -> None:
    nested = "lab { slug }"
    for _ in range(6):
        nested = f"milestones {{ project {{ {nested} }} }}"
    deep = f"{{ projects {{ edges {{ node {{ {nested} }} }} }} }}"
    _, error = dashboard.error(deep)
    assert "exceeds maximum operation depth" in error["message"]
    aliases = "{ " + " ".join(f"a{i}: labs {{ slug }}" for i in range(31)) + " }"
    _, error = dashboard.error(aliases)
    assert "aliases" in error["message"]
    tokens = "{ labs { " + " ".join(["slug"] * 2100) + " } }"
    _, error = dashboard.error(tokens)
    assert "token" in error["message"].lower()
    _, error = dashboard.error("{ nosuchfield }")
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


def test_graphiql_is_served_from_the_servers_own_assets_in_development(
    dashboard: Dashboard,
) -> None:
    page = dashboard.client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "https://" not in page.text
    assert "http://" not in page.text
    for script in ("graphiql.min.js", "react.production.min.js", "graphiql.min.css"):
        assert f"/graphql/assets/{script}" in page.text
        assert dashboard.client.get(f"/graphql/assets/{script}").status_code == 200
    assert dashboard.client.get("/graphql/assets/secret.py").status_code == 404
    types = dashboard.data("{ __schema { queryType { name } } }")
    assert types["__schema"]["queryType"]["name"] == "Query"


def test_production_turns_introspection_and_the_ide_off(database_url: str) -> None:
    settings = Settings(database_url=database_url, env="production")
    with TestClient(create_app(settings, run_projector=False)) as client:
        dashboard = Dashboard(client)
        assert client.get("/graphql", headers={"Accept": "text/html"}).status_code != 200
        assert client.get("/graphql/assets/graphiql.min.js").status_code == 404
        _, error = dashboard.error("{ __schema { queryType { name } } }")
        assert "introspection" in error["message"].lower()


def test_a_page_of_projects_with_nested_fields_costs_a_constant_number_of_statements(
    dashboard: Dashboard,
) -> None:
    lab = dashboard.lab()
    for i in range(50):
        pid = dashboard.project(lab, f"Projet {i}")
        dashboard.do(
            PlanMilestone(
                project_id=uuid.UUID(pid),
                title="Jalon",
                due_on=dashboard.today,
                phase=Phase.FRAMING,
            ),
            dashboard.meta(),
        )
    query = (
        "query($n: Int!, $f: ProjectFilter) { projects(first: $n, filter: $f) { edges { node {"
        " id lab { slug name } nextMilestone { id dueOn } milestones { id title }"
        " milestonesOverdue } } } }"
    )
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # The background projector and webhook deliverer share the engines: count the
        # request's statements only.
        if threading.current_thread().name not in {"tracker-projector", "tracker-webhooks"}:
            statements.append(statement)

    engines = {dashboard.services.engine}
    from projections.reading import read_engine

    engines.add(read_engine(dashboard.services))
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", count)
    dashboard.data("{ labs { slug } }")  # wait (X-Min-Position) for the projector once
    dashboard.position = 0  # then read without waiting: only the query's own statements
    try:
        costs = {}
        for n in (5, 50):
            statements.clear()
            data = dashboard.data(query, {"n": n, "f": {"lab": lab}})
            assert len(data["projects"]["edges"]) == n
            costs[n] = len(statements)
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", count)
    assert costs[5] == costs[50]
    assert costs[50] <= 10
