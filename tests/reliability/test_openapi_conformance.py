"""The OpenAPI document against the answers: every operation it lists is called with a valid
request and with each mistake a client makes (no token, a role that may not, an `Accept` it
cannot answer, an unknown id, an invalid parameter, a body that is not JSON, malformed,
too large, with an unknown field, a stale or malformed `If-Match`), on the real app.

Each answer's status must be documented for its operation, with the media type sent; and
each status the document promises for a client's mistake must have been answered by one of
these calls (409, a domain rule, and 503, an outage, are provoked by their own tests).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import parse, validate

from tests.reliability.test_access import POLICY, Policy, World, _request
from tests.reliability.test_access import world as access_world
from tracker.asgi import create_app
from tracker.config.settings import Settings
from tracker.graphql.schema import build_schema

pytestmark = pytest.mark.reliability

world = access_world  # one app, its tokens and arranged projects for this module

DOCUMENT: dict[str, Any] = create_app(
    Settings(database_url="sqlite:///unused.db"), run_projector=False
).openapi()
OPERATIONS = sorted(
    (method.upper(), path)
    for path, operations in DOCUMENT["paths"].items()
    for method in operations
)
# A client's mistakes the document must not promise in vain.
PROVOKED = {400, 401, 403, 404, 406, 412, 413, 415, 422}

ADMITTED = {
    Policy.PUBLIC: "viewer",
    Policy.ANY_TOKEN: "viewer",
    Policy.ADMIN: "admin",
    Policy.STAFF_OF_LAB: "staff_own_lab",
    Policy.AUDITOR: "auditor",
    Policy.HISTORY: "auditor",
    Policy.WEBHOOKS: "admin",
    Policy.WEBHOOK_LIST: "admin",
}


@dataclass
class Call:
    """One request: what it provokes, and how it is sent."""

    mistake: str
    url: str
    headers: dict[str, str]
    body: Any = None
    content: bytes | None = None


def _operation(method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = DOCUMENT["paths"][path][method.lower()]
    return operation


def _parameters(operation: dict[str, Any], where: str) -> list[dict[str, Any]]:
    return [p for p in operation.get("parameters", []) if p["in"] == where]


def _invalid_parameter(url: str, path: str, operation: dict[str, Any]) -> str | None:
    """The URL with one parameter given a value its schema refuses (None: none can be)."""
    for parameter in _parameters(operation, "query"):
        if parameter["name"] == "format":
            continue  # it chooses the answer's format: an unknown one is a 406, not a 422
        schema = parameter["schema"]
        kinds = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
        if kinds & {"integer", "boolean"} or "format" in str(schema) or "pattern" in schema:
            joiner = "&" if "?" in url else "?"
            return f"{url}{joiner}{parameter['name']}=pas-une-valeur%7E"
    for parameter in _parameters(operation, "path"):
        if "maxLength" in parameter["schema"]:
            too_long = "x" * (parameter["schema"]["maxLength"] + 1)
            return _with_segment(url, path, parameter["name"], too_long)
    return None


def _with_segment(url: str, path: str, name: str, value: str) -> str:
    """`url` (a concrete `path`) with the path parameter `name` given `value`."""
    index = path.split("{" + name + "}")[0].count("/")
    route, _, query = url.partition("?")
    parts = route.split("/")
    parts[index] = parts[index].replace(parts[index].split(".")[0], value, 1)
    return "/".join(parts) + (f"?{query}" if query else "")


def _calls(world: World, method: str, path: str) -> list[Call]:
    """The valid call and every applicable mistake for one operation."""
    operation = _operation(method, path)
    policy = POLICY[(method, path)]
    url, body, _success = _request(method, path, world, fresh=method != "GET")
    admitted = world.headers[ADMITTED[policy]]
    calls = [Call("valid", url, admitted, body)]
    if path == "/graphql" and method == "GET":
        calls[0].headers = {**admitted, "Accept": "text/html"}
        calls.append(Call("not a browser", url, {"Accept": "application/json"}))
        return calls
    calls.append(Call("no token", url, {}, body))
    if policy not in {Policy.PUBLIC, Policy.ANY_TOKEN}:
        calls.append(Call("a role that may not", url, world.headers["viewer"], body))
    calls.append(Call("an Accept it cannot answer", url, {**admitted, "Accept": "image/png"}, body))
    path_parameters = _parameters(operation, "path")
    if path_parameters:
        name = path_parameters[-1]["name"]
        unknown = f"inconnu-{uuid.uuid4().hex[:8]}" if name in {"slug", "campaign"} else None
        value = unknown or str(uuid.uuid4())
        calls.append(Call("an unknown id", _with_segment(url, path, name, value), admitted, body))
    invalid = _invalid_parameter(url, path, operation)
    if invalid is not None:
        calls.append(Call("an invalid parameter", invalid, admitted, body))
    if any(p["name"] == "after" for p in _parameters(operation, "query")):
        forged = f"{url}{'&' if '?' in url else '?'}after=bm9uIGN1cnNldXI"
        calls.append(Call("a forged cursor", forged, admitted, body))
    referable = REFERENCES & (set(body or {}) | set(_schema_properties(operation)))
    if isinstance(body, dict) and referable:
        calls.append(Call("an unknown reference", url, admitted, _unknown_references(body)))
    header_names = {p["name"] for p in _parameters(operation, "header")}
    if "If-Match" in header_names:
        fresh = _request(method, path, world, fresh=True)
        calls.append(
            Call("a stale If-Match", fresh[0], {**admitted, "If-Match": '"999999"'}, fresh[1])
        )
        calls.append(Call("a malformed If-Match", url, {**admitted, "If-Match": "trois"}, body))
    limit = world.services.settings.max_body_bytes
    if "requestBody" in operation or "413" in operation["responses"]:
        too_large = b"{" + b" " * limit + b"}"
        json = {**admitted, "Content-Type": "application/json"}
        calls.append(Call("a body too large", url, json, content=too_large))
    if "requestBody" in operation:
        json = {**admitted, "Content-Type": "application/json"}
        form = {**admitted, "Content-Type": "application/x-www-form-urlencoded"}
        calls.append(Call("malformed JSON", url, json, content=b'{"title": '))
        calls.append(Call("a body that is not JSON", url, form, content=b"title=Atelier"))
        calls.append(Call("an unknown field", url, admitted, {"titel": "Atelier"}))
    return calls


REFERENCES = {"lab", "labs", "campaign", "project_ids"}


def _schema_properties(operation: dict[str, Any]) -> dict[str, Any]:
    """The properties of the operation's JSON body."""
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    reference = schema.get("schema", {}).get("$ref", "")
    found = DOCUMENT["components"]["schemas"].get(reference.rsplit("/", 1)[-1], {})
    properties: dict[str, Any] = found.get("properties", {})
    return properties


def _unknown_references(body: dict[str, Any]) -> dict[str, Any]:
    """`body` naming a lab, campaign or project that does not exist."""
    unknown = f"inconnu-{uuid.uuid4().hex[:8]}"
    if "labs" in body:
        return body | {"labs": [unknown]}
    if "lab" in body:
        return body | {"lab": unknown}
    return body | {"campaign": unknown}


def _media_type(content_type: str | None) -> str | None:
    return content_type.split(";")[0].strip().lower() if content_type else None


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_every_answer_is_documented_with_its_media_type(
    world: World, method: str, path: str
) -> None:
    operation = _operation(method, path)
    documented: dict[str, Any] = operation["responses"]
    seen: set[int] = set()
    wrong: list[str] = []
    for call in _calls(world, method, path):
        response = world.client.request(
            method,
            call.url,
            headers=call.headers,
            json=call.body if call.content is None else None,
            content=call.content,
        )
        status, media = str(response.status_code), _media_type(response.headers.get("content-type"))
        seen.add(response.status_code)
        if status not in documented:
            wrong.append(f"{call.mistake}: {status} is not documented ({response.text[:120]})")
            continue
        media_types = {_media_type(m) for m in documented[status].get("content", {})}
        if media not in media_types and not (media is None and not media_types):
            wrong.append(f"{call.mistake}: {status} sent {media}, documented {media_types}")
        assert response.status_code < 500, f"{call.mistake}: {response.text[:200]}"
    assert not wrong, f"{method} {path}:\n" + "\n".join(wrong)
    promised = {int(s) for s in documented if s.isdigit()} & PROVOKED
    assert promised <= seen, f"{method} {path}: documented but never answered {promised - seen}"


def test_the_documented_graphql_example_is_a_valid_query() -> None:
    example = DOCUMENT["paths"]["/graphql"]["post"]["requestBody"]["content"]["application/json"]
    query = example["schema"]["properties"]["query"]["examples"][0]
    schema = build_schema(Settings(database_url="sqlite:///unused.db"))
    assert validate(schema._schema, parse(query)) == []
