"""The pages' security: sessions, cookie scope, fixation, escaping, CSP, cross-site posts."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from tests.web.conftest import BASE_URL, caught_up, new_token, register, sign_in
from tracker.application.access import revoke_token
from tracker.application.services import Services
from tracker.web.session import COOKIE_NAME


def test_a_page_without_a_session_redirects_to_sign_in(web: TestClient) -> None:
    response = web.get("/projets?phase=framing")
    assert response.status_code == 303
    assert response.headers["location"] == "/connexion?suite=%2Fprojets%3Fphase%3Dframing"


def test_the_session_cookie_is_httponly_strict_host_only_and_expires(
    web: TestClient, web_services: Services
) -> None:
    response = web.post(
        "/connexion",
        data={"jeton": new_token(web_services), "suite": "/"},
        headers={"Origin": BASE_URL},
    )
    cookie = response.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "httponly" in attributes
    assert "samesite=strict" in cookie.lower()
    assert "path=/" in cookie.lower()
    assert "max-age" in attributes
    assert "domain" not in attributes


def test_an_unknown_token_opens_no_session(web: TestClient) -> None:
    response = web.post(
        "/connexion",
        data={"jeton": "tok_0000000000000000." + "a" * 43},
        headers={"Origin": BASE_URL},
    )
    assert response.status_code == 401
    assert "Ce jeton est inconnu, révoqué ou expiré." in response.text
    assert COOKIE_NAME not in web.cookies


def test_signing_in_replaces_a_planted_cookie_with_a_new_session(
    web: TestClient, web_services: Services
) -> None:
    web.cookies.set(COOKIE_NAME, "planted-by-someone-else", domain="tracker.test")
    token = new_token(web_services)
    first = sign_in(web, token)
    second = sign_in(web, token)
    assert first != "planted-by-someone-else"
    assert first != second  # a new session id at every sign-in


def test_a_forged_cookie_opens_nothing(web: TestClient) -> None:
    web.cookies.set(COOKIE_NAME, "eyJzaWQiOiJ4In0.forged.signature", domain="tracker.test")
    assert web.get("/").status_code == 303


def test_a_revoked_token_closes_its_sessions(web: TestClient, web_services: Services) -> None:
    token = new_token(web_services)
    sign_in(web, token)
    revoke_token(web_services.application, web_services.engine, token.split(".")[0])
    web_services.principals.forget(token.split(".")[0])
    assert web.get("/").status_code == 303


def test_signing_out_deletes_the_cookie(web: TestClient, web_services: Services) -> None:
    sign_in(web, new_token(web_services))
    response = web.post("/deconnexion", headers={"Origin": BASE_URL})
    assert response.status_code == 303
    assert COOKIE_NAME not in web.cookies
    assert web.get("/").status_code == 303


def test_a_sign_in_posted_from_another_site_is_refused(
    web: TestClient, web_services: Services
) -> None:
    response = web.post(
        "/connexion",
        data={"jeton": new_token(web_services)},
        headers={"Origin": "https://elsewhere.example"},
    )
    assert response.status_code == 403
    assert COOKIE_NAME not in web.cookies


def test_sign_in_returns_only_to_this_site(web: TestClient, web_services: Services) -> None:
    response = web.post(
        "/connexion",
        data={"jeton": new_token(web_services), "suite": "//elsewhere.example/"},
        headers={"Origin": BASE_URL},
    )
    assert response.headers["location"] == "/"


def test_a_project_titled_script_shows_as_text(web: TestClient, web_services: Services) -> None:
    word = f"zz{uuid.uuid4().hex[:10]}"
    title = f"<script>alert(1)</script> {word}"
    _, project_id, position = register(web_services.application, title)
    caught_up(web, position)
    sign_in(web, new_token(web_services))
    for path in (f"/projets/{project_id}", f"/projets?text={word}"):
        page = web.get(path)
        assert f"&lt;script&gt;alert(1)&lt;/script&gt; {word}" in page.text
        assert "<script" not in page.text


def test_pages_forbid_scripts_with_their_content_security_policy(
    web: TestClient, web_services: Services
) -> None:
    sign_in(web, new_token(web_services))
    for path in ("/", "/projets", "/connexion"):
        policy = web.get(path).headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src" not in policy  # falls back to 'none': no script, inline or not
        assert "unsafe-inline" not in policy
