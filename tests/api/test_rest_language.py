"""Problems speak the users' language: French by default, English on request
(`Accept-Language: en`), with field errors that name the field and say what it expects."""

from __future__ import annotations

import ast
import pathlib
import uuid

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import assert_problem, project_body
from tracker.i18n import ENGLISH, FRENCH, negotiate, translate

ROOT = pathlib.Path(__file__).resolve().parents[2]
ENGLISH_HEADERS = {"Accept-Language": "en"}


def test_a_problem_is_in_french_by_default(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    problem = assert_problem(response, 404)
    assert response.headers["Content-Language"] == "fr"
    assert problem["title"] == "Introuvable"
    assert problem["detail"] == "aucune ressource à l'adresse /api/v1/nothing-here"


def test_a_problem_is_in_english_when_english_is_preferred(client: TestClient) -> None:
    response = client.get(
        "/api/v1/nothing-here", headers={"Accept-Language": "de, en-GB;q=0.8, fr;q=0.5"}
    )
    problem = assert_problem(response, 404)
    assert response.headers["Content-Language"] == "en"
    assert problem["title"] == "Not Found"
    assert problem["detail"] == "no route /api/v1/nothing-here"


def test_an_unknown_field_suggests_the_closest_known_one(
    client: TestClient, staff: dict[str, str], lab: str
) -> None:
    body = project_body(lab)
    body["titel"] = body.pop("title")
    problem = assert_problem(client.post("/api/v1/projects", json=body, headers=staff), 422)
    messages = {error["msg"] for error in problem["errors"]}
    assert "titel : champ inconnu ; vouliez-vous dire title ?" in messages
    assert "title : ce champ est obligatoire" in messages


def test_an_unknown_field_suggestion_in_english(
    client: TestClient, staff: dict[str, str], lab: str
) -> None:
    body = project_body(lab)
    body["titel"] = body.pop("title")
    response = client.post("/api/v1/projects", json=body, headers=staff | ENGLISH_HEADERS)
    problem = assert_problem(response, 422)
    assert "titel: unknown field; did you mean title?" in {e["msg"] for e in problem["errors"]}


def test_a_malformed_commune_code_says_what_a_commune_code_looks_like(
    client: TestClient, staff: dict[str, str], lab: str
) -> None:
    body = project_body(lab, territories=[{"level": "commune", "code": "5819", "cog_year": 2024}])
    problem = assert_problem(client.post("/api/v1/projects", json=body, headers=staff), 422)
    assert [error["msg"] for error in problem["errors"]] == [
        "territories[0] : '5819' n'est pas un code commune du COG ;"
        " attendu : cinq caractères, comme 58194 (2A004 en Corse)"
    ]


def test_a_body_that_is_not_json_is_415(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    response = client.post(
        f"/api/v1/projects/{project}/health",
        content=b"health=at_risk",
        headers=staff | {"Content-Type": "application/x-www-form-urlencoded"},
    )
    problem = assert_problem(response, 415)
    assert problem["type"].endswith("unsupported-media-type")
    assert "Content-Type: application/json" in problem["detail"]


def test_a_domain_rule_refusal_is_in_french(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    response = client.post(
        f"/api/v1/projects/{project}/phase",
        json={"phase": "ideation", "decision": "go"},
        headers=staff,
    )
    problem = assert_problem(response, 409)
    assert problem["type"].endswith("phase-skipped")
    assert problem["detail"] == (
        "une décision « go » depuis la phase cadrage (framing) mène à"
        " la phase découverte (discovery), pas à la phase idéation (ideation)"
    )


def test_a_domain_rule_refusal_in_english_keeps_the_domain_text(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    response = client.post(
        f"/api/v1/projects/{project}/phase",
        json={"phase": "ideation", "decision": "go"},
        headers=staff | ENGLISH_HEADERS,
    )
    problem = assert_problem(response, 409)
    assert problem["detail"] == "go from framing enters discovery, not ideation"


def test_an_oversized_body_is_refused_in_french(
    client: TestClient, staff: dict[str, str], project: uuid.UUID
) -> None:
    response = client.post(
        f"/api/v1/projects/{project}/health",
        content=b"x" * 2_000_000,
        headers=staff | {"Content-Type": "application/json"},
    )
    problem = assert_problem(response, 413)
    assert response.headers["Content-Language"] == "fr"
    assert problem["detail"].startswith("le corps de la requête dépasse")


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, FRENCH),
        ("", FRENCH),
        ("*", FRENCH),
        ("de", FRENCH),
        ("en", ENGLISH),
        ("en-US,en;q=0.9", ENGLISH),
        ("fr-FR, en;q=0.5", FRENCH),
        ("en;q=0.4, fr;q=0.6", FRENCH),
        ("en;q=abc", FRENCH),
        ("en;q=0", FRENCH),
    ],
)
def test_the_language_negotiated_from_accept_language(header: str | None, language: str) -> None:
    assert negotiate(header) == language


def _template(node: ast.expr) -> str | None:
    """An f-string or string literal as text, each `{…}` replaced by a sample value."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "'x'" for part in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _template(node.left), _template(node.right)
        return left + right if left is not None and right is not None else None
    return None


def _raised_messages() -> list[str]:
    """The message of every `…Error(…)` the domain, the application and the API raise."""
    messages: list[str] = []
    sources = [*(ROOT / "domain").glob("*.py"), *(ROOT / "tracker" / "api").glob("*.py")]
    sources += [
        ROOT / "tracker" / "application" / name
        for name in ("commands.py", "people.py", "sign_in.py", "idempotency.py")
    ]
    sources += [ROOT / "tracker" / "audit" / name for name in ("history.py", "training.py")]
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            arguments = node.args[1:2] if name == "ProblemError" else node.args[:1]
            if name.endswith("Error") and arguments:
                message = _template(arguments[0])
                if message is not None:
                    messages.append(message)
    return messages


def test_every_message_raised_to_users_has_a_french_translation() -> None:
    messages = _raised_messages()
    assert len(messages) > 40
    # French typography alone (a "{field}: {message}" split gives "x : y") is no translation.
    assert [m for m in messages if translate(m, FRENCH).replace(" : ", ": ") == m] == []
