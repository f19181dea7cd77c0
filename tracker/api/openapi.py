"""The OpenAPI document, made to say what the API really sends.

FastAPI documents what it can see in a route's signature; what the edge adds around every
route is documented here, once, for every route it applies to (tests/api/test_openapi.py
sends each of these mistakes to every route and compares the answer with the document):

- every error is `application/problem+json` (RFC 9457), never `application/json`, the
  request validation errors (422) included: FastAPI's own `HTTPValidationError` is gone;
- every REST route refuses with 406 an `Accept` it cannot answer (tracker/api/formats.py);
- a route that takes a body refuses malformed JSON (400), a body over the limit (413), a
  body that is not JSON (415) and invalid fields (422);
- a route with a parameter that can be invalid (a number, a date, a pattern, a length...)
  refuses it with 422; a route whose parameters are free text never answers 422;
- only a route that reads `If-Match` answers 412.
"""

from __future__ import annotations

from typing import Any

from tracker.api.problems import PROBLEM_JSON, problem_responses

API_PREFIX = "/api/v1/"
GENERATED_SCHEMAS = ("HTTPValidationError", "ValidationError")

# What the edge answers on every route of a kind, whatever the route itself declares.
EVERY_ROUTE = (406,)
WITH_A_BODY = (400, 413, 415, 422)
WITH_PARAMETERS = (422,)


def _problem(status: int) -> dict[str, Any]:
    documented = problem_responses(status)[status]
    return {"description": documented["description"], "content": documented["content"]}


def _honest_errors(responses: dict[str, Any]) -> None:
    """Errors are problem+json only (FastAPI adds `application/json` beside it)."""
    for status, response in list(responses.items()):
        if status.isdigit() and int(status) >= 400 and PROBLEM_JSON in response.get("content", {}):
            responses[status] = {**response, **_problem(int(status))}


def _can_be_invalid(parameter: dict[str, Any]) -> bool:
    """Whether some value of this parameter is refused (422) before the route runs."""
    schemas = [parameter["schema"], *parameter["schema"].get("anyOf", [])]
    constraints = {"pattern", "maxLength", "minLength", "minimum", "maximum", "format", "enum"}
    return (parameter.get("required", False) and parameter["in"] == "query") or any(
        schema.get("type") not in {None, "string", "null"} or constraints & set(schema)
        for schema in schemas
    )


def _add(responses: dict[str, Any], statuses: tuple[int, ...]) -> None:
    for status in statuses:
        responses.setdefault(str(status), _problem(status))


def document_edges(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` (FastAPI's document) with what the edge sends documented on every route."""
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            if "HTTPValidationError" in str(responses.get("422")):
                del responses["422"]  # FastAPI's guess: kept below only where it is sent
            _honest_errors(responses)
            if not path.startswith(API_PREFIX):
                continue
            parameters = operation.get("parameters", [])
            _add(responses, EVERY_ROUTE)
            if "requestBody" in operation:
                _add(responses, WITH_A_BODY)
            if any(_can_be_invalid(parameter) for parameter in parameters):
                _add(responses, WITH_PARAMETERS)
            if not any(parameter["name"] == "If-Match" for parameter in parameters):
                responses.pop("412", None)
            operation["responses"] = dict(sorted(responses.items()))
    components = schema.get("components", {}).get("schemas", {})
    for name in GENERATED_SCHEMAS:
        components.pop(name, None)
    return schema
