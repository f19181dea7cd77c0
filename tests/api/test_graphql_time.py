"""GraphQL time travel through the real app: `on`/`asKnownAt` on the root fields,
`portfolioChanges` and `knowledgeChanges`, on SQLite and PostgreSQL (docs/time.md)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from fastapi.testclient import TestClient

from domain.values import ActivityKind, GateDecision, Health, Phase
from projections.runner import PROJECTIONS, ProjectionWorker
from tests.api.conftest import TokenFactory
from tests.factories import registered_lab
from tracker.application.commands import (
    AssessHealth,
    Command,
    EnterPhase,
    LogActivity,
    PlanMilestone,
    RegisterProject,
    RescheduleMilestone,
)
from tracker.application.services import Services


class Story:
    """docs/time.md's worked example, plus a milestone that slips, in a lab of its own."""

    def __init__(self, client: TestClient, services: Services, tokens: TokenFactory) -> None:
        self.client, self.services = client, services
        self.application = services.application
        self.headers = tokens("viewer")
        self.lab = registered_lab(self.application)
        self.pid = uuid.uuid4()
        self.send(
            RegisterProject(
                lab=self.lab,
                title="Projet",
                summary="",
                themes=[],
                territories=[],
                started_on=date(2025, 9, 1),
                project_id=self.pid,
            ),
            date(2025, 10, 6),
        )
        self.send(
            EnterPhase(project_id=self.pid, phase=Phase.DISCOVERY, decision=GateDecision.GO),
            date(2025, 10, 6),
        )
        self.send(
            PlanMilestone(
                project_id=self.pid,
                title="Atelier",
                due_on=date(2025, 11, 1),
                phase=Phase.DISCOVERY,
                milestone_id="m1",
            ),
            date(2025, 10, 7),
        )
        self.send(
            AssessHealth(project_id=self.pid, health=Health.AT_RISK, reason="retard"),
            date(2025, 11, 3),
        )
        self.send(
            RescheduleMilestone(
                project_id=self.pid, milestone_id="m1", due_on=date(2025, 12, 1), reason="retard"
            ),
            date(2025, 11, 4),
        )
        self.report = datetime.now(UTC)
        self.send(
            AssessHealth(project_id=self.pid, health=Health.OFF_TRACK, reason="constat du comité"),
            date(2025, 10, 20),
        )
        for projection in PROJECTIONS:
            ProjectionWorker(services, projection).run_until_caught_up()

    def send(self, command: Command, on: date) -> None:
        self.application.execute(command, self.application.meta("tok_story", "c", on))

    def data(self, query: str, **variables: Any) -> dict[str, Any]:
        response = self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=self.headers
        )
        body = response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data


PROJECT = """query($id: ID!, $on: Date, $at: DateTime) {
  project(id: $id, on: $on, asKnownAt: $at) { phase health milestones { dueOn } } }"""


def test_project_on_a_date_as_known_at_an_instant(
    client: TestClient, app_services: Services, tokens: TokenFactory
) -> None:
    story = Story(client, app_services, tokens)
    on = "2025-10-25"
    now = story.data(PROJECT, id=str(story.pid), on=on)["project"]
    then = story.data(PROJECT, id=str(story.pid), on=on, at=story.report.isoformat())["project"]
    assert (now["phase"], now["health"], then["health"]) == ("DISCOVERY", "OFF_TRACK", "ON_TRACK")
    assert now["milestones"] == [{"dueOn": "2025-11-01"}]


def test_a_project_does_not_exist_before_its_start(
    client: TestClient, app_services: Services, tokens: TokenFactory
) -> None:
    story = Story(client, app_services, tokens)
    assert story.data(PROJECT, id=str(story.pid), on="2025-08-31")["project"] is None


def test_portfolio_on_a_date_counts_the_projects_of_that_date(
    client: TestClient, app_services: Services, tokens: TokenFactory
) -> None:
    story = Story(client, app_services, tokens)
    query = """query($f: ProjectFilter, $on: Date) {
      portfolio(filter: $f, on: $on) { total byPhase { key count } } }"""
    before = story.data(query, f={"lab": story.lab}, on="2025-08-01")["portfolio"]
    during = story.data(query, f={"lab": story.lab}, on="2025-10-10")["portfolio"]
    assert (before["total"], during["byPhase"]) == (0, [{"key": "discovery", "count": 1}])


def test_portfolio_roll_ups_filter_on_the_slice_not_on_the_live_rows(
    client: TestClient, app_services: Services, tokens: TokenFactory
) -> None:
    # A themed project in discovery today, not yet on September 25th: on that date a
    # discovery filter keeps neither it nor its theme.
    story = Story(client, app_services, tokens)
    themed = uuid.uuid4()
    story.send(
        RegisterProject(
            lab=story.lab,
            title="Projet rural",
            summary="",
            themes=["ruralité"],
            territories=[],
            started_on=date(2025, 9, 1),
            project_id=themed,
        ),
        date(2025, 9, 20),
    )
    story.send(
        EnterPhase(project_id=themed, phase=Phase.DISCOVERY, decision=GateDecision.GO),
        date(2025, 10, 6),
    )
    for projection in PROJECTIONS:
        ProjectionWorker(app_services, projection).run_until_caught_up()
    query = """query($f: ProjectFilter, $on: Date) {
      portfolio(filter: $f, on: $on) { total byTheme { key count } } }"""
    kept = {"lab": story.lab, "phase": "DISCOVERY"}
    before = story.data(query, f=kept, on="2025-09-25")["portfolio"]
    after = story.data(query, f=kept, on="2025-10-10")["portfolio"]
    assert before == {"total": 0, "byTheme": []}
    assert after == {"total": 2, "byTheme": [{"key": "ruralité", "count": 1}]}


CHANGES = """query($f: ProjectFilter) {
  portfolioChanges(from: "2025-10-01", to: "2025-11-30", filter: $f) {
  totals { opened healthChanged milestonesPlanned milestonesSlipped daysSlipped }
  phases { phase entered left }
  projects { phaseBefore phaseAfter healthBefore healthAfter milestones { change days } } } }"""


def test_portfolio_changes_between_two_dates(
    client: TestClient, app_services: Services, tokens: TokenFactory
) -> None:
    story = Story(client, app_services, tokens)
    changes = story.data(CHANGES, f={"lab": story.lab})["portfolioChanges"]
    assert changes["totals"] == {
        "opened": 0,
        "healthChanged": 1,
        "milestonesPlanned": 1,
        "milestonesSlipped": 0,
        "daysSlipped": 0,
    }
    assert changes["phases"] == [
        {"phase": "framing", "entered": 0, "left": 1},
        {"phase": "discovery", "entered": 1, "left": 0},
    ]
    (line,) = changes["projects"]
    assert (line["phaseBefore"], line["phaseAfter"], line["healthAfter"]) == (
        "framing",
        "discovery",
        "at_risk",
    )


def test_first_lists_fewer_projects_and_the_counts_stay_whole(
    client: TestClient, app_services: Services, tokens: TokenFactory
) -> None:
    story = Story(client, app_services, tokens)
    query = CHANGES.replace("filter: $f)", "filter: $f, first: $n)").replace(
        "query($f: ProjectFilter)", "query($f: ProjectFilter, $n: Int)"
    )
    query = query.replace("phases {", "projectCount phases {")
    whole = story.data(query, f={"lab": story.lab}, n=None)["portfolioChanges"]
    none = story.data(query, f={"lab": story.lab}, n=0)["portfolioChanges"]
    assert (whole["projectCount"], len(whole["projects"])) == (1, 1)
    assert (none["projectCount"], none["projects"]) == (1, [])
    assert (none["totals"], none["phases"]) == (whole["totals"], whole["phases"])
    answer = client.post(
        "/graphql",
        json={"query": query, "variables": {"f": {"lab": story.lab}, "n": 101}},
        headers=story.headers,
    ).json()
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_slipped_milestone_counts_its_days(
    client: TestClient, app_services: Services, tokens: TokenFactory
) -> None:
    story = Story(client, app_services, tokens)
    query = CHANGES.replace('"2025-10-01"', '"2025-10-08"')
    changes = story.data(query, f={"lab": story.lab})["portfolioChanges"]
    assert (changes["totals"]["milestonesSlipped"], changes["totals"]["daysSlipped"]) == (1, 30)


def test_knowledge_changes_show_the_late_correction_with_who_and_why(
    client: TestClient, app_services: Services, tokens: TokenFactory
) -> None:
    story = Story(client, app_services, tokens)
    query = """query($from: DateTime!, $to: DateTime!) {
      knowledgeChanges(from: $from, to: $to, upTo: "2025-10-31") {
      type projectId occurredOn actor reason } }"""
    later = datetime(2100, 1, 1, tzinfo=UTC).isoformat()
    changes = story.data(query, **{"from": story.report.isoformat(), "to": later})[
        "knowledgeChanges"
    ]
    mine = [c for c in changes if c["projectId"] == str(story.pid)]
    assert mine == [
        {
            "type": "HealthAssessed",
            "projectId": str(story.pid),
            "occurredOn": "2025-10-20",
            "actor": "tok_story",
            "reason": "constat du comité",
        }
    ]


def test_as_of_and_as_known_at_together_must_agree(
    client: TestClient, app_services: Services, tokens: TokenFactory
) -> None:
    response = client.post(
        "/graphql",
        json={
            "query": '{ portfolio(asOf: "2025-01-01T00:00:00Z",'
            ' asKnownAt: "2025-02-01T00:00:00Z") { total } }'
        },
        headers=tokens("viewer"),
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_projects_and_milestones_on_a_date(
    client: TestClient, app_services: Services, tokens: TokenFactory
) -> None:
    story = Story(client, app_services, tokens)
    query = """query($f: ProjectFilter, $on: Date) {
      projects(filter: $f, on: $on) { totalCount edges { node { phase milestones { dueOn } } } }
      milestones(filter: {project: $f, overdue: true}, on: $on) {
        edges { node { dueOn daysSlipped } } } }"""
    data = story.data(query, f={"lab": story.lab}, on="2025-11-20")
    assert data["projects"]["totalCount"] == 1
    assert data["projects"]["edges"][0]["node"]["phase"] == "DISCOVERY"
    assert data["milestones"]["edges"] == []  # rescheduled to December 1st by then
    before = story.data(query, f={"lab": story.lab}, on="2025-11-03")
    assert before["milestones"]["edges"] == [{"node": {"dueOn": "2025-11-01", "daysSlipped": 0}}]


ACTIVITIES = """query($f: ActivityFilter, $on: Date, $at: DateTime, $after: String) {
  activities(filter: $f, first: 1, after: $after, on: $on, asKnownAt: $at) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { title heldOn participants project { id title } } } } }"""


def test_activities_on_a_date_as_known_at_an_instant_the_latest_first(
    client: TestClient, app_services: Services, tokens: TokenFactory
) -> None:
    story = Story(client, app_services, tokens)
    for title, held_on in (("Atelier", date(2025, 10, 8)), ("Webinaire", date(2025, 11, 5))):
        activity = LogActivity(
            project_id=story.pid,
            kind=ActivityKind.WORKSHOP,
            title=title,
            held_on=held_on,
            participants=12,
        )
        story.send(activity, held_on)
    for projection in PROJECTIONS:
        ProjectionWorker(app_services, projection).run_until_caught_up()
    kept = {"project": {"lab": story.lab}}
    first = story.data(ACTIVITIES, f=kept)["activities"]
    assert first["totalCount"] == 2
    assert [e["node"]["title"] for e in first["edges"]] == ["Webinaire"]
    assert first["edges"][0]["node"]["project"] == {"id": str(story.pid), "title": "Projet"}
    cursor = first["pageInfo"]["endCursor"]
    second = story.data(ACTIVITIES, f=kept, after=cursor)["activities"]
    assert [e["node"]["title"] for e in second["edges"]] == ["Atelier"]
    assert not second["pageInfo"]["hasNextPage"]
    # On 1 November only the first was held; as the report knew it, neither was recorded.
    assert story.data(ACTIVITIES, f=kept, on="2025-11-01")["activities"]["totalCount"] == 1
    known = story.data(ACTIVITIES, f=kept, at=story.report.isoformat())["activities"]
    assert known["totalCount"] == 0
    october = {**kept, "from": "2025-10-01", "to": "2025-10-31"}
    assert story.data(ACTIVITIES, f=october)["activities"]["totalCount"] == 1
    bad = client.post(
        "/graphql",
        json={"query": ACTIVITIES, "variables": {"after": "pas-un-curseur"}},
        headers=story.headers,
    ).json()
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
