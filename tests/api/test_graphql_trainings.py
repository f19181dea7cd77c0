"""GraphQL's training programme: `trainings`, `trainingProgramme` and `campaign(slug)`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from projections.runner import rebuild
from projections.training_timeline import TrainingTimelineProjection
from tests.api.conftest import TokenFactory
from tests.api.test_rest_trainings import catch_up, register_campaign, schedule
from tests.factories import unique_slug
from tracker.application.access import Role, create_token
from tracker.application.people import add_person
from tracker.application.services import Services

PROGRAMME = """
query($lab: String!) {
  trainingProgramme(filter: {lab: $lab}) {
    scheduled held cancelled agentsTrained onlineShare
    byYear { key held agentsTrained }
    byFormat { key label total }
    byAudience { audience label agents }
  }
}
"""

CAMPAIGN = """
query($slug: String!) {
  campaign(slug: $slug) {
    name organiser startsOn
    trainings(first: 10) { totalCount edges { node { lab title formatLabel sessions } } }
    programme { held agentsTrained }
  }
}
"""


def graphql(
    client: TestClient, headers: dict[str, str], query: str, **variables: Any
) -> dict[str, Any]:
    response = client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def test_the_programme_counts_agents_trained_per_year_and_audience(
    client: TestClient, lab: str, staff: dict[str, str], app_services: Services
) -> None:
    held = schedule(client, lab, staff)
    client.post(
        f"/api/v1/trainings/{held}/hold",
        json={"attendance": 18, "attendance_by_audience": {"communes_epci": 12}},
        headers=staff,
    ).raise_for_status()
    online = schedule(
        client, lab, staff, mode="remote", place=None, sessions=[{"date": "2021-03-04"}]
    )
    client.post(
        f"/api/v1/trainings/{online}/hold", json={"attendance": 20}, headers=staff
    ).raise_for_status()
    cancelled = schedule(client, lab, staff)
    client.post(
        f"/api/v1/trainings/{cancelled}/cancel", json={"reason": "annulé"}, headers=staff
    ).raise_for_status()
    catch_up(app_services)

    programme = graphql(client, staff, PROGRAMME, lab=lab)["trainingProgramme"]

    assert (programme["held"], programme["cancelled"], programme["agentsTrained"]) == (2, 1, 38)
    assert programme["onlineShare"] == 0.5
    assert programme["byYear"] == [
        {"key": "2020", "held": 1, "agentsTrained": 18},
        {"key": "2021", "held": 1, "agentsTrained": 20},
    ]
    assert {"key": "module", "label": "Module de formation", "total": 3} in programme["byFormat"]
    assert programme["byAudience"] == [
        {"audience": "COMMUNES_EPCI", "label": "Communes et EPCI", "agents": 12}
    ]


def test_a_campaign_lists_its_actions_across_labs(
    client: TestClient,
    lab: str,
    staff: dict[str, str],
    tokens: TokenFactory,
    app_services: Services,
) -> None:
    campaign = register_campaign(client, tokens)
    schedule(client, lab, staff, campaign=campaign)
    other = "lab-graphql-" + campaign[-6:]
    client.post(
        "/api/v1/labs",
        json={"slug": other, "name": "Autre lab", "region_code": "84"},
        headers=tokens("admin"),
    ).raise_for_status()
    schedule(client, other, tokens("staff", other), campaign=campaign, title="Webinaire")
    catch_up(app_services)

    found = graphql(client, tokens("viewer"), CAMPAIGN, slug=campaign)["campaign"]

    assert (found["organiser"], found["startsOn"]) == ("DITP", "2020-11-02")
    assert found["trainings"]["totalCount"] == 2
    assert {e["node"]["lab"] for e in found["trainings"]["edges"]} == {lab, other}
    assert found["programme"] == {"held": 0, "agentsTrained": 0}


def test_an_unknown_campaign_is_null(client: TestClient, staff: dict[str, str]) -> None:
    assert graphql(client, staff, CAMPAIGN, slug="aucune")["campaign"] is None


def test_trainings_filter_by_format_and_period(
    client: TestClient, lab: str, staff: dict[str, str], app_services: Services
) -> None:
    schedule(client, lab, staff)
    schedule(client, lab, staff, format="workshop", sessions=[{"date": "2020-11-30"}])
    catch_up(app_services)
    query = """
    query($lab: String!) {
      trainings(filter: {lab: $lab, format: WORKSHOP, from: "2020-11-25", to: "2020-12-31"}) {
        totalCount edges { node { format status sessions } }
      }
    }
    """
    page = graphql(client, staff, query, lab=lab)["trainings"]
    assert page["totalCount"] == 1
    assert page["edges"][0]["node"] == {
        "format": "WORKSHOP",
        "status": "SCHEDULED",
        "sessions": ["2020-11-30"],
    }


TRAINING_CHANGES = """
query($lab: String!) {
  portfolioChanges(from: "2020-11-04", to: "2020-11-30", filter: {lab: $lab}) {
    trainings {
      scheduled held cancelled rescheduled agentsTrained
      actions { title statusBefore statusAfter scheduled held cancelled agentsTrained }
    }
  }
}
"""

PROGRAMME_AT = """
query($lab: String!, $on: Date, $knownAt: DateTime) {
  trainingProgramme(filter: {lab: $lab}, on: $on, asKnownAt: $knownAt) {
    scheduled held cancelled agentsTrained
  }
  trainings(filter: {lab: $lab}, on: $on, asKnownAt: $knownAt) {
    totalCount edges { node { title status attendance } }
  }
}
"""


def test_the_programme_answers_on_a_business_date_and_as_known_at_an_instant(
    client: TestClient, lab: str, staff: dict[str, str], app_services: Services
) -> None:
    module = schedule(client, lab, staff, occurred_on="2020-11-01")
    before_holding = datetime.now(UTC)
    client.post(
        f"/api/v1/trainings/{module}/hold",
        json={"attendance": 18, "occurred_on": "2020-11-24"},
        headers=staff,
    ).raise_for_status()
    conference = schedule(
        client,
        lab,
        staff,
        title="Le Design au service des collectivités",
        mode="remote",
        place=None,
        sessions=[{"date": "2020-11-27"}],
        occurred_on="2020-11-02",
    )
    client.post(
        f"/api/v1/trainings/{conference}/cancel",
        json={"reason": "intervenant absent", "occurred_on": "2020-11-20"},
        headers=staff,
    ).raise_for_status()
    # Held "on" a date before it was scheduled: it counts from its scheduling (docs/time.md).
    workshop = schedule(client, lab, staff, title="Atelier", occurred_on="2020-11-05")
    client.post(
        f"/api/v1/trainings/{workshop}/hold",
        json={"attendance": 5, "occurred_on": "2020-11-03"},
        headers=staff,
    ).raise_for_status()
    catch_up(app_services)

    def figures(on: str | None, known_at: datetime | None = None) -> list[int]:
        data = graphql(
            client,
            staff,
            PROGRAMME_AT,
            lab=lab,
            on=on,
            knownAt=known_at.isoformat() if known_at else None,
        )
        programme = data["trainingProgramme"]
        assert data["trainings"]["totalCount"] == sum(programme[k] for k in list(programme)[:3])
        return [programme[k] for k in ("scheduled", "held", "cancelled", "agentsTrained")]

    assert figures("2020-10-31") == [0, 0, 0, 0]
    assert figures("2020-11-04") == [2, 0, 0, 0]
    assert figures("2020-11-05") == [2, 1, 0, 5]
    assert figures("2020-11-21") == [1, 1, 1, 5]
    assert figures("2020-11-30") == [0, 2, 1, 23]
    assert figures(None) == [0, 2, 1, 23]
    # A report written before the module's holding was recorded knew it scheduled only.
    assert figures("2020-11-30", before_holding) == [1, 0, 0, 0]
    assert figures(None, before_holding) == [1, 0, 0, 0]
    assert rebuild(app_services, TrainingTimelineProjection, check=True).differences == []

    changes = graphql(client, staff, TRAINING_CHANGES, lab=lab)["portfolioChanges"]["trainings"]
    assert [changes[k] for k in ("scheduled", "held", "cancelled", "agentsTrained")] == [
        1,
        2,
        1,
        23,
    ]
    assert [(a["title"], a["statusBefore"], a["statusAfter"]) for a in changes["actions"]] == [
        ("Module 2 « Design de services : du test au déploiement »", "scheduled", "held"),
        ("Le Design au service des collectivités", "scheduled", "cancelled"),
        ("Atelier", None, "held"),
    ]


TRAINING_HISTORY = """query($id: ID!) {
  trainingHistory(id: $id) { version type occurredOn actor actorName reason }
  trainingAsOf(id: $id, version: 1) { version status lab }
}"""


def test_a_training_history_names_who_did_what_when(
    client: TestClient, lab: str, tokens: TokenFactory, app_services: Services
) -> None:
    person_id = add_person(app_services.engine, "Céline Zatorsky")
    token_id, token = create_token(
        app_services.application, Role.STAFF, lab=lab, person_id=person_id
    )
    staff = {"Authorization": f"Bearer {token}"}
    training_id = schedule(client, lab, staff)
    client.post(
        f"/api/v1/trainings/{training_id}/cancel", json={"reason": "grève"}, headers=staff
    ).raise_for_status()

    data = graphql(client, tokens("auditor"), TRAINING_HISTORY, id=training_id)

    assert [
        (e["type"], e["actor"], e["actorName"], e["reason"]) for e in data["trainingHistory"]
    ] == [
        ("TrainingScheduled", token_id, "Céline Zatorsky", None),
        ("TrainingCancelled", token_id, "Céline Zatorsky", "grève"),
    ]
    assert data["trainingAsOf"] == {"version": 1, "status": "scheduled", "lab": lab}
    # Staff of the action's lab read it too; the REST history names the actor as well.
    assert len(graphql(client, staff, TRAINING_HISTORY, id=training_id)["trainingHistory"]) == 2
    events = client.get(f"/api/v1/trainings/{training_id}/events", headers=tokens("auditor"))
    assert [e["actor_name"] for e in events.json()["items"]] == ["Céline Zatorsky"] * 2


def test_staff_of_another_lab_cannot_read_a_training_history(
    client: TestClient, lab: str, staff: dict[str, str], tokens: TokenFactory
) -> None:
    training_id = schedule(client, lab, staff)
    other = tokens("staff", unique_slug())
    response = client.post(
        "/graphql",
        json={"query": TRAINING_HISTORY, "variables": {"id": training_id}},
        headers=other,
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
