"""A staff member signs in through a real OpenID Connect provider process and logs a
milestone through the project's forms in Debian's chromium; axe-core on the sign-in, the
pending page, the forms and their error states."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.browser.conftest import (
    START_DEADLINE_SECONDS,
    TRACKER,
    _free_port,
    _require_browser,
    _tracker,
)
from tests.browser.test_walk import _axe_violations


@dataclass(frozen=True)
class Deployment:
    url: str
    provider: str
    env: dict[str, str]
    auditor: str
    staff: str
    lab: str
    project_id: str


def _wait_until(process: subprocess.Popen[bytes], url: str, what: str) -> None:
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(f"{what} exited ({process.returncode})")
        with suppress(httpx.TransportError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.2)
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not answer within {START_DEADLINE_SECONDS} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """oidc-provider-mock and `tracker serve` configured for it, each its own process."""
    _require_browser()
    home = tmp_path_factory.mktemp("forms")
    provider_port, port = _free_port(), _free_port()
    provider_url = f"http://localhost:{provider_port}"
    env = {
        **os.environ,
        "TRACKER_DATABASE_URL": f"sqlite:///{home / 'tracker.db'}",
        "TRACKER_SESSION_SECRET": "browser-forms-" + "x" * 40,
        "TRACKER_LOG_FORMAT": "json",
        "TRACKER_OIDC_DISCOVERY_URL": f"{provider_url}/.well-known/openid-configuration",
        "TRACKER_OIDC_CLIENT_ID": "tracker",
        "TRACKER_OIDC_CLIENT_SECRET": "secret",
        "TRACKER_OIDC_PROVIDER_NAME": "Fournisseur de test",
    }
    _tracker(env, "migrate")
    auditor = _tracker(env, "token", "create", "--role", "auditor")
    admin = _tracker(env, "token", "create", "--role", "admin")
    with (home / "provider.log").open("wb") as log:
        provider = subprocess.Popen(
            [sys.executable, "-m", "oidc_provider_mock", "--port", str(provider_port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until(provider, f"{provider_url}/.well-known/openid-configuration", "the provider")
        with (home / "server.log").open("wb") as log:
            server = subprocess.Popen(
                [TRACKER, "serve", "--port", str(port), "--no-migrate"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=home,
            )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until(server, f"{url}/readyz", "tracker serve")
            lab = "lab-formulaires"
            created = httpx.post(
                f"{url}/api/v1/labs",
                json={"slug": lab, "name": "Lab des formulaires", "region_code": "27"},
                headers={"Authorization": f"Bearer {admin}"},
            )
            assert created.status_code == 201, created.text
            staff = _tracker(env, "token", "create", "--role", "staff", "--lab", lab)
            project = httpx.post(
                f"{url}/api/v1/projects",
                json={
                    "lab": lab,
                    "title": "Une médiathèque avec ses usagers",
                    "summary": "Repenser la médiathèque avec ses usagers.",
                    "themes": ["culture"],
                    "territories": [{"level": "commune", "code": "58194", "cog_year": 2025}],
                    "started_on": "2025-09-01",
                    "occurred_on": "2025-09-01",
                },
                headers={"Authorization": f"Bearer {staff}"},
            )
            assert project.status_code == 201, project.text
            yield Deployment(url, provider_url, env, auditor, staff, lab, project.json()["id"])
        finally:
            _stop(server)
    finally:
        _stop(provider)


def _provider_sign_in(page: Any, deployment: Deployment, subject: str) -> None:
    page.goto(f"{deployment.url}/connexion")
    page.get_by_role("link", name="Se connecter avec Fournisseur de test").click()
    page.wait_for_url(f"{deployment.provider}/**")
    page.locator("input[name=sub]").fill(subject)
    page.get_by_role("button", name="Authorize").click()


def _api(deployment: Deployment, path: str) -> Any:
    answer = httpx.get(
        f"{deployment.url}{path}",
        headers={"Authorization": f"Bearer {deployment.auditor}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_staff_member_signs_in_with_the_provider_and_logs_a_milestone(
    page: Any, deployment: Deployment
) -> None:
    subject = f"camille-{uuid.uuid4().hex[:6]}@example.gouv.fr"
    _provider_sign_in(page, deployment, subject)
    page.wait_for_url(f"{deployment.url}/connexion/oidc/retour**")
    assert page.get_by_role("heading", name="Accès pas encore accordé").is_visible()
    assert _axe_violations(page) == []
    person_id = page.locator("code").inner_text().strip()

    grant_id = _tracker(deployment.env, "people", "grant", person_id, "--role", "staff",
                        "--lab", deployment.lab)  # fmt: skip

    _provider_sign_in(page, deployment, subject)
    page.wait_for_url(f"{deployment.url}/")  # the signed-in page moves on by itself
    assert f"Connecté en tant que {subject}" in page.locator("header").inner_text()

    project_id = deployment.project_id
    page.goto(f"{deployment.url}/projets/{project_id}")
    page.get_by_role("link", name="Saisir : phase, santé, jalons, activités").click()
    assert _axe_violations(page) == []

    form = page.locator("form[action$='/saisie/jalon']")
    form.get_by_label("Titre").fill("Restitution aux usagers")
    form.get_by_label("Échéance").fill("30/06/2030")  # as a French person types it
    form.get_by_role("button", name="Planifier le jalon").click()
    assert page.get_by_role("status").inner_text() == "Enregistré."
    assert page.get_by_role("heading", name="Restitution aux usagers", exact=False).is_visible()

    events = _api(deployment, f"/api/v1/projects/{project_id}/events")
    items = events["items"] if isinstance(events, dict) else events
    planned = [e for e in items if e["type"] == "MilestonePlanned"][-1]
    assert planned["actor"] == grant_id
    assert planned["actor_name"] == subject  # the provider's e-mail: its only name claim
    assert planned["data"]["due_on"] == "2030-06-30"  # typed 30/06/2030


def test_the_forms_error_states_have_no_axe_core_violation(
    page: Any, deployment: Deployment
) -> None:
    subject = f"dominique-{uuid.uuid4().hex[:6]}@example.gouv.fr"
    _provider_sign_in(page, deployment, subject)
    page.wait_for_url(f"{deployment.url}/connexion/oidc/retour**")
    person_id = page.locator("code").inner_text().strip()
    lab = deployment.lab
    _tracker(deployment.env, "people", "grant", person_id, "--role", "staff", "--lab", lab)
    _provider_sign_in(page, deployment, subject)
    page.wait_for_url(f"{deployment.url}/")
    project_id = deployment.project_id
    page.goto(f"{deployment.url}/projets/{project_id}/saisie")

    # A domain refusal beside its field: iterate with no reason.
    form = page.locator("form[action$='/saisie/phase']")
    form.get_by_label("Décision", exact=True).select_option("iterate")
    form.get_by_role("button", name="Enregistrer la phase").click()
    assert page.locator(".field-error").count() >= 1
    assert _axe_violations(page) == []

    # A stale page: the project changes behind it, then the form is sent.
    staff = deployment.staff
    answer = httpx.post(
        f"{deployment.url}/api/v1/projects/{project_id}/health",
        json={"health": "at_risk", "reason": "retard"},
        headers={"Authorization": f"Bearer {staff}"},
    )
    assert answer.status_code == 200, answer.text
    page.locator("form[action$='/saisie/sante']").get_by_role(
        "button", name="Enregistrer la santé"
    ).click()
    assert "Quelqu’un a modifié ce projet depuis que vous l’avez ouvert" in page.inner_text("main")
    assert _axe_violations(page) == []

    # The training forms: a refusal beside its field (in the room, no place), then the
    # scheduled action's own forms page.
    page.goto(f"{deployment.url}/formations/nouvelle")
    form = page.locator("form[action='/formations/nouvelle']")
    form.get_by_label("Titre", exact=True).fill("Atelier design de services")
    form.get_by_label("Première séance (jj/mm/aaaa)", exact=True).fill("04/03/2025")
    form.get_by_label("Modalité", exact=True).select_option("in_person")
    form.get_by_role("button", name="Programmer l’action").click()
    assert page.locator("#nouvelle-place_code-erreur").count() == 1
    assert _axe_violations(page) == []
    form = page.locator("form[action='/formations/nouvelle']")
    form.get_by_label("Lieu", exact=False).fill("58194")
    form.get_by_role("button", name="Programmer l’action").click()
    page.wait_for_url("**/saisie?fait=nouvelle")
    assert page.get_by_role("heading", name="Enregistrer comme tenue").is_visible()
    assert _axe_violations(page) == []
