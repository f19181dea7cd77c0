"""Access: every route of the app × every kind of caller × own or other lab.

The routes come from the app's own route table, and each must be classified in `POLICY`:
a new route without a policy fails `test_every_route_has_an_access_policy`, so none escapes
the matrix. Write routes reuse the bodies of tests/api/test_rest_access.py, and the callers
it already checks on them are not checked again here (only expired and malformed tokens
are added for them). GraphQL's auditor-only history fields have their own matrix.
Tokens never appear in the answers, the event log or a real server's logs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.conftest import assert_problem, project_body
from tests.api.test_rest_access import PRINCIPALS as WRITE_MATRIX_PRINCIPALS
from tests.api.test_rest_access import (
    TRAINING_WRITE_ROUTES,
    WRITE_ROUTES,
    Arranged,
    arrange,
    campaign_body,
    training_body,
)
from tests.factories import WEBHOOK_URL, subscribed_webhook, unique_slug
from tests.reliability.harness import Deployment
from tracker.application.access import (
    Role,
    TokenRequestError,
    create_token,
    list_tokens,
    revoke_token,
)
from tracker.application.commands import RegisterLab
from tracker.application.service import TrackerApplication
from tracker.application.services import Services
from tracker.asgi import create_app
from tracker.config.settings import Settings
from tracker.store import migrate
from tracker.store.engines import create_db_engine

pytestmark = pytest.mark.reliability


class Policy(Enum):
    PUBLIC = "no token needed"
    ANY_TOKEN = "any valid token"
    ADMIN = "admin"
    STAFF_OF_LAB = "staff of the project's lab"
    AUDITOR = "auditor"
    HISTORY = "auditor, or staff of the project's lab"
    WEBHOOKS = "admin, or staff of the lab (the subscription's, the publishing one)"
    WEBHOOK_LIST = "admin, or any staff (who sees their own lab's subscriptions)"
    # The web pages: a session cookie, never a bearer header (tests/web, tests/browser).
    WEB_SESSION = "a web session"
    # The provider sign-in's two steps: anyone, the flow's own checks (tests/web/test_oidc.py).
    PROVIDER_SIGN_IN = "anyone, checked by the OpenID Connect flow"


PROJECT_POSTS = [
    "/phase", "/health", "/close", "/reopen", "/milestones", "/partners", "/indicators",
    "/activities", "/decisions", "/funding", "/milestones/{milestone_id}/reschedule",
    "/milestones/{milestone_id}/achieve", "/milestones/{milestone_id}/cancel",
    "/indicators/{indicator_id}/measurements",
]  # fmt: skip

# Every (method, path) the app serves. HEAD mirrors GET where Starlette adds it.
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", "/healthz"): Policy.PUBLIC,
    ("GET", "/readyz"): Policy.PUBLIC,
    ("GET", "/metrics"): Policy.PUBLIC,
    ("GET", "/openapi.json"): Policy.PUBLIC,
    ("HEAD", "/openapi.json"): Policy.PUBLIC,
    ("GET", "/docs"): Policy.PUBLIC,
    ("GET", "/docs/assets"): Policy.PUBLIC,
    ("GET", "/graphql/assets/{name}"): Policy.PUBLIC,
    ("GET", "/graphql"): Policy.PUBLIC,  # the GraphiQL page: no data without a token
    ("POST", "/graphql"): Policy.ANY_TOKEN,  # history fields: auditor (matrix below)
    ("GET", "/api/v1/labs"): Policy.ANY_TOKEN,
    ("GET", "/api/v1/labs/{slug}"): Policy.ANY_TOKEN,
    ("GET", "/api/v1/projects"): Policy.ANY_TOKEN,
    ("GET", "/api/v1/projects/{project_id}"): Policy.ANY_TOKEN,
    ("GET", "/api/v1/milestones"): Policy.ANY_TOKEN,
    ("GET", "/api/v1/open-data/datapackage.json"): Policy.PUBLIC,
    ("GET", "/api/v1/open-data/{resource}.csv"): Policy.PUBLIC,
    ("PUT", "/api/v1/labs/{slug}/publication"): Policy.WEBHOOKS,
    ("POST", "/api/v1/labs"): Policy.ADMIN,
    ("POST", "/api/v1/projects"): Policy.STAFF_OF_LAB,
    ("GET", "/api/v1/projects/{project_id}/events"): Policy.HISTORY,
    ("GET", "/api/v1/projects/{project_id}/state"): Policy.HISTORY,
    ("GET", "/api/v1/audit/keys"): Policy.PUBLIC,  # public keys, for verifiers
    ("GET", "/api/v1/events"): Policy.AUDITOR,
    ("GET", "/api/v1/audit/verify"): Policy.AUDITOR,
    ("GET", "/api/v1/audit/admin-log"): Policy.AUDITOR,
    **{
        ("POST", f"/api/v1/projects/{{project_id}}{tail}"): Policy.STAFF_OF_LAB
        for tail in PROJECT_POSTS
    },
    ("PATCH", "/api/v1/projects/{project_id}"): Policy.STAFF_OF_LAB,
    ("DELETE", "/api/v1/projects/{project_id}/partners/{partner_id}"): Policy.STAFF_OF_LAB,
    ("POST", "/api/v1/labs/{slug}/trainings"): Policy.STAFF_OF_LAB,
    ("GET", "/api/v1/trainings"): Policy.ANY_TOKEN,
    ("GET", "/api/v1/trainings/{training_id}"): Policy.ANY_TOKEN,
    ("PATCH", "/api/v1/trainings/{training_id}"): Policy.STAFF_OF_LAB,
    **{
        ("POST", f"/api/v1/trainings/{{training_id}}/{verb}"): Policy.STAFF_OF_LAB
        for verb in ("reschedule", "hold", "cancel")
    },
    ("POST", "/api/v1/campaigns"): Policy.ADMIN,
    ("GET", "/api/v1/campaigns/{campaign}"): Policy.ANY_TOKEN,
    ("GET", "/api/v1/trainings/{training_id}/events"): Policy.AUDITOR,
    ("GET", "/api/v1/trainings/{training_id}/state"): Policy.AUDITOR,
    ("POST", "/api/v1/webhooks"): Policy.WEBHOOKS,
    ("GET", "/api/v1/webhooks"): Policy.WEBHOOK_LIST,
    ("GET", "/api/v1/webhooks/{subscription_id}"): Policy.WEBHOOKS,
    ("POST", "/api/v1/webhooks/{subscription_id}/pause"): Policy.WEBHOOKS,
    ("POST", "/api/v1/webhooks/{subscription_id}/resume"): Policy.WEBHOOKS,
    ("DELETE", "/api/v1/webhooks/{subscription_id}"): Policy.WEBHOOKS,
    ("GET", "/static/tracker.css"): Policy.PUBLIC,
    ("GET", "/connexion"): Policy.PUBLIC,
    ("POST", "/connexion"): Policy.WEB_SESSION,
    ("GET", "/deconnexion"): Policy.WEB_SESSION,
    ("POST", "/deconnexion"): Policy.WEB_SESSION,
    ("GET", "/projets/{project_id}/saisie"): Policy.WEB_SESSION,
    ("POST", "/projets/{project_id}/saisie/{action}"): Policy.WEB_SESSION,
    ("GET", "/projets/nouveau"): Policy.WEB_SESSION,
    ("POST", "/projets/nouveau"): Policy.WEB_SESSION,
    ("GET", "/formations/nouvelle"): Policy.WEB_SESSION,
    ("POST", "/formations/nouvelle"): Policy.WEB_SESSION,
    ("GET", "/formations/{training_id}/saisie"): Policy.WEB_SESSION,
    ("POST", "/formations/{training_id}/saisie/{action}"): Policy.WEB_SESSION,
    ("GET", "/admin/acces"): Policy.WEB_SESSION,
    ("POST", "/admin/acces"): Policy.WEB_SESSION,
    ("GET", "/connexion/oidc"): Policy.PROVIDER_SIGN_IN,
    ("GET", "/connexion/oidc/retour"): Policy.PROVIDER_SIGN_IN,
    ("GET", "/"): Policy.WEB_SESSION,
    ("GET", "/projets"): Policy.WEB_SESSION,
    ("GET", "/activites"): Policy.WEB_SESSION,
    ("GET", "/projets/{project_id}"): Policy.WEB_SESSION,
    ("GET", "/projets/{project_id}/historique"): Policy.WEB_SESSION,
    ("GET", "/formations"): Policy.WEB_SESSION,
    ("GET", "/campagnes/{slug}"): Policy.WEB_SESSION,
    ("GET", "/comparaison"): Policy.WEB_SESSION,
    ("GET", "/jalons"): Policy.WEB_SESSION,
    ("GET", "/financements"): Policy.WEB_SESSION,
    ("GET", "/projets/{project_id}/historique.{format_name}"): Policy.WEB_SESSION,
    ("GET", "/jalons.{format_name}"): Policy.WEB_SESSION,
    ("GET", "/projets.{format_name}"): Policy.WEB_SESSION,
    ("GET", "/formations.{format_name}"): Policy.WEB_SESSION,
}

CALLERS = [
    "admin",
    "staff_own_lab",
    "staff_other_lab",
    "viewer",
    "auditor",
    "anonymous",
    "revoked",
    "expired",
    "malformed",
]
INVALID = {"anonymous", "revoked", "expired", "malformed"}


def route_table(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app routes, included routers and mounts too."""
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:  # an included router (FastAPI ≥ 0.16x)
            for context in contexts():
                found.update((method, context.path) for method in context.methods)
        elif getattr(route, "methods", None):
            found.update((method, route.path) for method in route.methods)  # type: ignore[attr-defined]
        else:  # a mount: static files, read with GET
            found.add(("GET", route.path))  # type: ignore[attr-defined]
    return sorted(found)


@dataclass
class World:
    """The app, its services, and one token per caller (tokens are not spent by use)."""

    client: TestClient
    services: Services
    lab: str
    other_lab: str
    headers: dict[str, dict[str, str]]
    raw_tokens: list[str]
    shared: dict[bool, Arranged] = field(default_factory=dict)
    published: bool = False

    @property
    def application(self) -> TrackerApplication:
        return self.services.application


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('access')}/t.db")
    migrate.upgrade(settings)
    with TestClient(create_app(settings, run_projector=False)) as client:
        services: Services = client.app.state.services  # type: ignore[attr-defined]
        application = services.application
        lab, other = unique_slug(), unique_slug("other")
        for slug in (lab, other):
            application.execute(
                RegisterLab(slug=slug, name="Lab", region_code="27"),
                application.meta("tok_arrange", "arr"),
            )
        engine = services.engine
        raw: dict[str, str] = {
            "admin": create_token(application, Role.ADMIN)[1],
            "staff_own_lab": create_token(application, Role.STAFF, lab)[1],
            "staff_other_lab": create_token(application, Role.STAFF, other)[1],
            "viewer": create_token(application, Role.VIEWER)[1],
            "auditor": create_token(application, Role.AUDITOR)[1],
            "revoked": create_token(application, Role.STAFF, lab)[1],
            # Expired a microsecond after its creation: long before the first request.
            "expired": create_token(
                application, Role.AUDITOR, expires_in=timedelta(microseconds=1)
            )[1],
        }
        assert revoke_token(application, engine, raw["revoked"].split(".")[0])
        headers = {name: {"Authorization": f"Bearer {token}"} for name, token in raw.items()}
        headers["anonymous"] = {}
        headers["malformed"] = {"Authorization": f"Bearer {raw['auditor']}x"}
        yield World(client, services, lab, other, headers, list(raw.values()))


def _policy_cases() -> list[tuple[str, str, str]]:
    app = create_app(Settings(database_url="sqlite:///unused.db"), run_projector=False)
    cases = []
    for method, path in route_table(app):
        if method == "HEAD" or POLICY.get((method, path)) is Policy.WEB_SESSION:
            continue  # the web pages: tests/web, and the bearer check below
        for caller in CALLERS:
            write = POLICY.get((method, path)) is Policy.STAFF_OF_LAB and (
                "{project_id}" in path or "{training_id}" in path
            )
            if write and caller in WRITE_MATRIX_PRINCIPALS:
                continue  # tests/api/test_rest_access.py checks this pair already
            cases.append((method, path, caller))
    return cases


def test_every_route_has_an_access_policy() -> None:
    # With a provider configured, so that its routes are served (nothing is fetched yet).
    settings = Settings(
        database_url="sqlite:///unused.db",
        oidc_discovery_url="https://provider.test/.well-known/openid-configuration",
        oidc_client_id="tracker",
    )
    app = create_app(settings, run_projector=False)
    unclassified = [route for route in route_table(app) if route not in POLICY]
    assert not unclassified, f"add these routes to POLICY: {unclassified}"
    assert len(route_table(app)) >= 30


def _concrete(path: str, arranged: Arranged, world: World) -> str:
    return (
        path.replace("{project_id}", str(arranged.project))
        .replace("{milestone_id}", arranged.milestone)
        .replace("{partner_id}", arranged.partner)
        .replace("{indicator_id}", arranged.indicator)
        .replace("{training_id}", str(arranged.training))
        .replace("{campaign}", arranged.campaign)
        .replace("{slug}", world.lab)
        .replace("{name}", "graphiql.min.css")
        .replace("{format_name}", "xlsx")
    )


def _request(
    method: str, path: str, world: World, fresh: bool
) -> tuple[str, dict[str, Any] | None, int]:
    """The concrete path, the body and the success status of a valid call of this route:
    on a fresh project when the call will write, else on one shared by the module."""
    closed = path.endswith("/reopen")
    if fresh:
        arranged = arrange(world.application, world.lab, closed=closed)
    else:
        if closed not in world.shared:
            world.shared[closed] = arrange(world.application, world.lab, closed=closed)
        arranged = world.shared[closed]
    url = _concrete(path, arranged, world)
    if path.startswith("/api/v1/webhooks"):
        return _webhook_request(method, path, world)
    if path == "/api/v1/labs/{slug}/publication":
        # Alternately publish and stop: each admitted call changes the setting.
        if fresh:
            world.published = not world.published
        return url, {"published": world.published}, 200
    if path == "/api/v1/open-data/{resource}.csv":
        return "/api/v1/open-data/projets.csv", None, 200
    if (method, path) == ("POST", "/api/v1/labs"):
        return url, {"slug": unique_slug(), "name": "Lab", "region_code": "53"}, 201
    if (method, path) == ("POST", "/api/v1/projects"):
        return url, project_body(world.lab), 201
    if (method, path) == ("POST", "/api/v1/labs/{slug}/trainings"):
        return url, training_body(), 201
    if (method, path) == ("POST", "/api/v1/campaigns"):
        return url, campaign_body(), 201
    if (method, path) == ("POST", "/graphql"):
        return url, {"query": "{ labs { slug } }"}, 200
    if path.endswith("/state"):
        return f"{url}?version=1", None, 200
    if (method, path) == ("GET", "/docs/assets"):
        return "/docs/assets/swagger-ui.css", None, 200
    for route in [*WRITE_ROUTES, *TRAINING_WRITE_ROUTES]:
        if route.method == method and route.path(arranged) == url:
            return url, route.body, route.success
    assert method == "GET", f"no request for {method} {path}: describe it here"
    return url, None, 200


def _webhook_request(method: str, path: str, world: World) -> tuple[str, dict[str, Any], int]:
    """A subscription of the world's lab, in the state the route needs (paused to resume)."""
    if path == "/api/v1/webhooks":
        body = {"url": WEBHOOK_URL, "event_types": ["ProjectClosed"], "labs": [world.lab]}
        return path, body, 201 if method == "POST" else 200
    subscription = subscribed_webhook(
        world.application, paused=path.endswith("/resume"), lab=world.lab, owner_lab=world.lab
    )
    return path.replace("{subscription_id}", str(subscription)), {}, 200


def _expected(policy: Policy, caller: str) -> int | None:
    """The status this caller gets (None: the route's success)."""
    admitted = {
        Policy.PUBLIC: True,
        Policy.ANY_TOKEN: caller not in INVALID,
        Policy.ADMIN: caller == "admin",
        Policy.AUDITOR: caller == "auditor",
        Policy.HISTORY: caller in {"auditor", "staff_own_lab"},
        Policy.STAFF_OF_LAB: caller == "staff_own_lab",
        Policy.WEBHOOKS: caller in {"admin", "staff_own_lab"},
        Policy.WEBHOOK_LIST: caller in {"admin", "staff_own_lab", "staff_other_lab"},
    }[policy]
    if admitted:
        return None
    return 401 if caller in INVALID else 403


@pytest.mark.parametrize(("method", "path", "caller"), _policy_cases())
def test_every_route_admits_exactly_its_policys_callers(
    world: World, method: str, path: str, caller: str
) -> None:
    policy = POLICY[(method, path)]
    status = _expected(policy, caller)
    url, body, success = _request(method, path, world, fresh=status is None and method != "GET")
    response = world.client.request(method, url, json=body, headers=world.headers[caller])
    expected = success if status is None else status
    if path == "/graphql" and method == "POST":
        assert response.status_code == expected, response.text
        if expected == 401:
            assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        else:
            assert "errors" not in response.json(), response.text
        return
    if expected >= 400:
        assert_problem(response, expected)
        if expected == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert all(token not in response.text for token in world.raw_tokens)
    else:
        assert response.status_code == expected, response.text


@pytest.mark.parametrize(
    "path",
    sorted(p for (m, p), policy in POLICY.items() if policy is Policy.WEB_SESSION and m == "GET"),
)
def test_a_bearer_token_opens_no_web_page(world: World, path: str) -> None:
    arranged = arrange(world.application, world.lab)
    response = world.client.get(
        _concrete(path, arranged, world), headers=world.headers["auditor"], follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/connexion")


HISTORY_FIELDS = {
    "projectHistory": "query($id: ID!) { projectHistory(id: $id) { version } }",
    "projectAsOf": "query($id: ID!) { projectAsOf(id: $id, version: 1) { version } }",
}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("field", HISTORY_FIELDS)
def test_graphql_history_fields_are_for_auditors_and_the_labs_staff(
    world: World, field: str, caller: str
) -> None:
    project = arrange(world.application, world.lab).project
    response = world.client.post(
        "/graphql",
        json={"query": HISTORY_FIELDS[field], "variables": {"id": str(project)}},
        headers=world.headers[caller],
    )
    body = response.json()
    if caller in {"auditor", "staff_own_lab"}:
        assert response.status_code == 200, body
        assert "errors" not in body, body
        assert body["data"][field]
        return
    code = "UNAUTHENTICATED" if caller in INVALID else "FORBIDDEN"
    assert response.status_code == (401 if caller in INVALID else 200), body
    assert body["errors"][0]["extensions"]["code"] == code, body
    assert not (body.get("data") or {}).get(field)


MALFORMED = [
    "",
    "Bearer",
    "Bearer ",
    "bearer",
    "Token abc",
    "Basic dXNlcjpwYXNz",
    "Bearer tok_0000000000000000",
    "Bearer tok_0000000000000000.",
    "Bearer tok_zzzzzzzzzzzzzzzz." + "a" * 43,
    "Bearer " + "a" * 10_000,
    "Bearer tok_0000000000000000." + "a" * 43 + " extra",
    "Bearer\ttok_0000000000000000." + "a" * 43,
    "Bearer ' OR '1'='1",
    "Bearer tok_0000000000000000.%00" + "a" * 40,
]


@pytest.mark.parametrize("value", MALFORMED, ids=lambda v: repr(v[:30]))
def test_a_malformed_authorization_header_gets_401_on_rest_and_graphql(
    world: World, value: str
) -> None:
    headers = {"Authorization": value}
    assert_problem(world.client.get("/api/v1/labs", headers=headers), 401)
    graphql = world.client.post("/graphql", json={"query": "{ labs { slug } }"}, headers=headers)
    assert graphql.status_code == 401, graphql.text


def test_an_expired_token_is_listed_as_expired_and_a_lifetime_must_be_positive(
    world: World,
) -> None:
    engine, application = world.services.engine, world.services.application
    token_id, _ = create_token(application, Role.VIEWER, expires_in=timedelta(microseconds=1))
    alive_id, alive = create_token(application, Role.VIEWER, expires_in=timedelta(days=1))
    states = {info.token_id: info.state() for info in list_tokens(engine)}
    assert (states[token_id], states[alive_id]) == ("expired", "active")
    ok = world.client.get("/api/v1/labs", headers={"Authorization": f"Bearer {alive}"})
    assert ok.status_code == 200
    with pytest.raises(TokenRequestError):
        create_token(application, Role.VIEWER, expires_in=timedelta(0))


# -- tokens never leak ----------------------------------------------------------------------


def test_tokens_never_appear_in_logs_events_or_errors(sqlite_deployment: Deployment) -> None:
    deployment = sqlite_deployment
    server = deployment.serve()
    admin, auditor = deployment.token("admin"), deployment.token("auditor")
    staff, viewer = deployment.token("staff", "lab-secret"), deployment.token("viewer")
    revoked = deployment.token("staff", "lab-secret")
    created = deployment.run("token", "create", "--role", "viewer", "--expires-in-days", "1")
    assert created.returncode == 0, created.stderr
    cli_token = created.stdout.strip()
    assert deployment.run("token", "revoke", revoked.split(".")[0]).returncode == 0
    secrets = [t.split(".")[1] for t in (admin, auditor, staff, viewer, revoked, cli_token)]

    answers: list[str] = []
    with httpx.Client(base_url=server.url or "", timeout=30) as http:

        def call(method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
            headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
            response = http.request(method, path, headers=headers, **kwargs)
            answers.append(f"{response.status_code} {response.headers} {response.text}")
            return response

        lab = {"slug": "lab-secret", "name": "L", "region_code": "27"}
        assert call("POST", "/api/v1/labs", admin, json=lab).status_code == 201
        project = call("POST", "/api/v1/projects", staff, json=project_body("lab-secret"))
        assert project.status_code == 201, project.text
        health = f"/api/v1/projects/{project.json()['id']}/health"
        # Tokens where they do not belong: refused fields, ids, a broken body, GraphQL.
        call("POST", health, staff, json={"health": viewer})
        call("POST", health, staff, json={"health": "at_risk", "extra": admin})
        call("POST", health, viewer, json={"health": "at_risk"})
        call("POST", health, revoked, json={"health": "at_risk"})
        call("POST", health, staff, json={"health": "at_risk"})
        call("GET", f"/api/v1/projects/{viewer}", viewer)
        call("GET", f"/api/v1/labs/{admin}", admin)
        call("POST", "/api/v1/projects", staff, content=b'{"lab": "' + staff.encode())
        call("GET", "/api/v1/labs", f"{admin}x")
        call("GET", "/api/v1/labs", cli_token)
        call("POST", "/graphql", viewer, json={"query": f'{{ project(id: "{viewer}") {{ id }} }}'})
        call("POST", "/graphql", viewer, json={"query": "{ labs { slug " + viewer + " } }"})
        call("POST", "/graphql", f"{viewer}x", json={"query": "{ labs { slug } }"})
        events = call("GET", "/api/v1/events", auditor, headers={"Accept": "application/x-ndjson"})
    assert events.status_code == 200
    server.stop()
    logs = deployment.logs()
    stored = " ".join(_token_rows(deployment))
    for secret in secrets:
        assert secret not in logs, "a token's secret is in a server log"
        assert secret not in events.text, "a token's secret is in the event log"
        assert secret not in stored, "a token's secret is stored"
        leaks = [answer for answer in answers if secret in answer]
        assert not leaks, f"a token's secret is in an answer: {leaks[0][:300]}"


def _token_rows(deployment: Deployment) -> list[str]:
    engine = create_db_engine(deployment.settings)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT * FROM api_tokens")).all()
    finally:
        engine.dispose()
    return [" ".join(str(value) for value in row) for row in rows]
