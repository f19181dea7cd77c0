"""Sign-in through a real OpenID Connect provider: oidc-provider-mock (Authlib's server on
Flask), served over HTTP on a thread, one per module.

The refused sign-ins need a provider that answers wrongly; the provider's token answer is
rewritten on its way out (a Flask `after_request` hook on the same server), its ID token
re-signed with the provider's own key (wrong nonce, audience, issuer, expired) or with a key
the provider never published, as a compromised or misconfigured provider would send them.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import flask
import httpx
import oidc_provider_mock
import pytest
import werkzeug.serving
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from pydantic import SecretStr

from tests.factories import unique_slug
from tests.web.conftest import BASE_URL
from tracker.application.access import Role, create_token
from tracker.application.commands import RegisterLab
from tracker.application.services import Services
from tracker.application.sign_in import grant_access, principal_for_person, waiting_people
from tracker.asgi import create_app
from tracker.config.settings import Settings
from tracker.web.session import COOKIE_NAME

Rewrite = Callable[[dict[str, Any]], tuple[dict[str, Any], RSAKey | None]]


class Provider:
    """The running provider, and how its next token answers are rewritten (None: as is)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.rewrite: Rewrite | None = None


def _claims(compact: str) -> dict[str, Any]:
    payload = compact.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    app = oidc_provider_mock.app(require_nonce=True)
    server = werkzeug.serving.make_server("localhost", 0, app, threaded=True)
    running = Provider(f"http://localhost:{server.server_port}")

    @app.after_request
    def tamper(response: flask.Response) -> flask.Response:
        if flask.request.path != "/oauth2/token" or running.rewrite is None:
            return response
        body = response.get_json()
        key_dict = flask.g.oidc_provider_mock_storage.jwk.as_dict(is_private=True)
        claims, foreign = running.rewrite(_claims(body["id_token"]))
        key = foreign or RSAKey.import_key(key_dict)
        header = {"alg": "RS256", "kid": key.kid or key.thumbprint()}
        body["id_token"] = jwt.encode(header, claims, key)
        response.set_data(json.dumps(body))
        return response

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield running
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


@pytest.fixture(scope="module")
def oidc_web(database_url: str, provider: Provider) -> Iterator[TestClient]:
    """The app configured for the provider (one per module: the provider's keys and
    discovery document are fetched once, as in production)."""
    settings = Settings(
        database_url=database_url,
        session_secret=SecretStr("s" * 48),
        oidc_discovery_url=f"{provider.url}/.well-known/openid-configuration",
        oidc_client_id="tracker-test",
        oidc_client_secret=SecretStr("tracker-test-secret"),
        oidc_provider_name="Fournisseur de test",
    )
    with TestClient(create_app(settings), base_url=BASE_URL, follow_redirects=False) as client:
        yield client


@pytest.fixture
def web(oidc_web: TestClient, provider: Provider) -> Iterator[TestClient]:
    oidc_web.cookies.clear()
    provider.rewrite = None
    yield oidc_web
    provider.rewrite = None


def _services(web: TestClient) -> Services:
    services: Services = web.app.state.services  # type: ignore[attr-defined]
    return services


def authorize(
    web: TestClient, provider: Provider, subject: str, next_path: str = "/projets"
) -> httpx.Response:
    """Start at tracker, choose `subject` on the provider's form, come back to tracker."""
    started = web.get("/connexion/oidc", params={"suite": next_path})
    assert started.status_code == 303, started.text
    authorization_url = started.headers["location"]
    assert authorization_url.startswith(f"{provider.url}/")
    chosen = httpx.post(authorization_url, data={"sub": subject})
    assert chosen.status_code == 302, chosen.text
    back = urlsplit(chosen.headers["location"])
    assert back.path == "/connexion/oidc/retour"
    return web.get(f"{back.path}?{back.query}")


def new_subject(provider: Provider, **claims: Any) -> str:
    subject = f"agent-{uuid.uuid4().hex[:12]}"
    answer = httpx.put(
        f"{provider.url}/users/{subject}",
        json={"email": f"{subject}@example.gouv.fr", **claims},
    )
    assert answer.status_code == 204
    return subject


def person_of(web: TestClient, text: str) -> str:
    start = text.index("per_")
    return text[start : start + 36]


def granted_staff(web: TestClient, provider: Provider) -> tuple[str, str, str]:
    """A person who signed in once and was made staff of a new lab: (subject, person, lab)."""
    subject = new_subject(provider, given_name="Camille", usual_name="Martin")
    pending = authorize(web, provider, subject)
    person_id = person_of(web, pending.text)
    services = _services(web)
    lab = unique_slug()
    meta = services.application.meta("tok_fixture", str(uuid.uuid4()))
    services.application.execute(RegisterLab(slug=lab, name=f"Lab {lab}", region_code="27"), meta)
    grant_access(services.application, services.engine, person_id, Role.STAFF, lab)
    web.cookies.clear()
    return subject, person_id, lab


def test_the_sign_in_page_offers_the_provider(web: TestClient) -> None:
    page = web.get("/connexion?suite=/projets")
    assert "Se connecter avec Fournisseur de test" in page.text
    assert 'href="/connexion/oidc?suite=/projets"' in page.text


def test_the_authorization_request_carries_pkce_state_and_nonce(web: TestClient) -> None:
    started = web.get("/connexion/oidc")
    query = parse_qs(urlsplit(started.headers["location"]).query)
    assert query["response_type"] == ["code"]
    assert query["client_id"] == ["tracker-test"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 32
    assert len(query["nonce"][0]) >= 32
    assert query["redirect_uri"] == [f"{BASE_URL}/connexion/oidc/retour"]
    flow_cookie = started.headers["set-cookie"].lower()
    assert "path=/connexion/oidc" in flow_cookie
    assert "samesite=lax" in flow_cookie
    assert "httponly" in flow_cookie


def test_a_first_sign_in_records_the_person_and_waits_for_access(
    web: TestClient, provider: Provider
) -> None:
    subject = new_subject(provider, given_name="Aïcha", usual_name="Benali")
    answer = authorize(web, provider, subject)
    assert answer.status_code == 403
    assert "Accès pas encore accordé" in answer.text
    assert COOKIE_NAME not in web.cookies
    person_id = person_of(web, answer.text)
    waiting = {person.person_id: person for person in waiting_people(_services(web).engine)}
    assert waiting[person_id].display_name == "Aïcha Benali"
    assert waiting[person_id].email == f"{subject}@example.gouv.fr"
    # Signing in again is the same person, still waiting.
    again = authorize(web, provider, subject)
    assert person_of(web, again.text) == person_id


def test_a_granted_person_signs_in_and_reads_pages_as_their_grant(
    web: TestClient, provider: Provider
) -> None:
    subject, person_id, lab = granted_staff(web, provider)
    answer = authorize(web, provider, subject, "/projets")
    assert answer.status_code == 200
    assert 'http-equiv="refresh" content="0; url=/projets"' in answer.text
    assert "samesite=strict" in answer.headers["set-cookie"].lower()
    page = web.get("/projets")
    assert page.status_code == 200
    assert "Camille Martin" in page.text
    principal = principal_for_person(_services(web).engine, person_id)
    assert principal is not None
    assert (principal.role, principal.lab) == (Role.STAFF, lab)


def test_revoking_the_grant_ends_the_session(web: TestClient, provider: Provider) -> None:
    subject, person_id, _lab = granted_staff(web, provider)
    authorize(web, provider, subject)
    assert "(équipe du laboratoire)" in web.get("/projets").text
    services = _services(web)
    grant_access(services.application, services.engine, person_id, Role.VIEWER, None)
    # The new grant replaced the old one: the session now reads as a viewer.
    assert "Camille Martin (lecture)" in web.get("/projets").text


def test_signing_out_goes_through_the_providers_end_session(
    web: TestClient, provider: Provider
) -> None:
    subject, _person, _lab = granted_staff(web, provider)
    authorize(web, provider, subject)
    out = web.post("/deconnexion", headers={"Origin": BASE_URL})
    assert out.status_code == 303
    location = urlsplit(out.headers["location"])
    assert f"{location.scheme}://{location.netloc}" == provider.url
    assert location.path == "/oauth2/end_session"
    query = parse_qs(location.query)
    assert query["post_logout_redirect_uri"] == [f"{BASE_URL}/connexion?sortie=1"]
    assert _claims(query["id_token_hint"][0])["sub"] == subject
    assert COOKIE_NAME not in web.cookies
    assert web.get("/projets").status_code == 303


def _refused(web: TestClient, provider: Provider, rewrite: Rewrite) -> None:
    subject, _person, _lab = granted_staff(web, provider)
    provider.rewrite = rewrite
    answer = authorize(web, provider, subject)
    assert answer.status_code == 401
    assert "Connexion refusée" in answer.text
    assert COOKIE_NAME not in web.cookies
    assert web.get("/projets").status_code == 303


def test_a_wrong_nonce_is_refused(web: TestClient, provider: Provider) -> None:
    _refused(web, provider, lambda claims: ({**claims, "nonce": "replayed"}, None))


def test_an_expired_id_token_is_refused(web: TestClient, provider: Provider) -> None:
    now = int(time.time())
    _refused(web, provider, lambda claims: ({**claims, "iat": now - 7200, "exp": now - 3600}, None))


def test_an_id_token_for_another_client_is_refused(web: TestClient, provider: Provider) -> None:
    _refused(web, provider, lambda claims: ({**claims, "aud": "another-client"}, None))


def test_an_id_token_from_another_issuer_is_refused(web: TestClient, provider: Provider) -> None:
    _refused(web, provider, lambda claims: ({**claims, "iss": "https://elsewhere.test"}, None))


def test_an_id_token_signed_by_an_unknown_key_is_refused(
    web: TestClient, provider: Provider
) -> None:
    foreign = RSAKey.generate_key(2048, parameters={"kid": "not-the-providers"})
    _refused(web, provider, lambda claims: (claims, foreign))


def test_a_callback_without_the_browsers_flow_is_refused(web: TestClient) -> None:
    answer = web.get("/connexion/oidc/retour?code=abc&state=forged")
    assert answer.status_code == 401
    assert COOKIE_NAME not in web.cookies


def test_a_callback_with_another_state_is_refused(web: TestClient, provider: Provider) -> None:
    web.get("/connexion/oidc")
    answer = web.get("/connexion/oidc/retour?code=abc&state=someone-elses")
    assert answer.status_code == 401
    assert COOKIE_NAME not in web.cookies


def test_an_admin_grants_access_from_the_page(web: TestClient, provider: Provider) -> None:
    subject = new_subject(provider, name="Sacha Leroy")
    person_id = person_of(web, authorize(web, provider, subject).text)
    services = _services(web)
    lab = unique_slug()
    meta = services.application.meta("tok_fixture", str(uuid.uuid4()))
    services.application.execute(RegisterLab(slug=lab, name=f"Lab {lab}", region_code="27"), meta)
    admin = create_token(services.application, Role.ADMIN, name="admin")[1]
    web.post("/connexion", data={"jeton": admin, "suite": "/"}, headers={"Origin": BASE_URL})
    page = web.get("/admin/acces")
    assert page.status_code == 200
    assert "Sacha Leroy" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    fields = {"csrf": csrf.group(1), "person_id": person_id, "role": "staff", "lab": ""}
    refused = web.post("/admin/acces", data=fields, headers={"Origin": BASE_URL})
    assert refused.status_code == 409
    assert "a besoin d’un laboratoire" in refused.text
    granted = web.post("/admin/acces", data={**fields, "lab": lab}, headers={"Origin": BASE_URL})
    assert granted.status_code == 303
    principal = principal_for_person(services.engine, person_id)
    assert principal is not None
    assert (principal.role, principal.lab, principal.name) == (Role.STAFF, lab, "Sacha Leroy")
    assert "Sacha Leroy" not in web.get("/admin/acces").text


def test_the_access_page_is_for_admins_only(web: TestClient, provider: Provider) -> None:
    viewer = create_token(_services(web).application, Role.VIEWER, name="viewer")[1]
    web.post("/connexion", data={"jeton": viewer, "suite": "/"}, headers={"Origin": BASE_URL})
    assert web.get("/admin/acces").status_code == 403
    forged = web.post(
        "/admin/acces",
        data={"csrf": "x", "person_id": "per_x", "role": "admin"},
        headers={"Origin": BASE_URL},
    )
    assert forged.status_code == 403
