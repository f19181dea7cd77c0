"""`/graphql` in the OpenAPI document: the operation Strawberry mounts, described as it answers.

Strawberry's router documents itself with generated operation ids and no security; this is
what a client of `/graphql` meets (tests/api/test_openapi.py checks the statuses and media
types against the running app).
"""

from __future__ import annotations

from typing import Any

PATH = "/graphql"
PROBLEM_JSON = "application/problem+json"

EXAMPLE_QUERY = """query ProjetsEnRetard {
  projects(filter: {lab: "lab-bfc", health: AT_RISK}, first: 5) {
    edges { node { title phase territories { level code name } } }
  }
}"""

RESULT = {
    "type": "object",
    "description": "A GraphQL answer: `data`, and `errors` (each with `extensions.code`).",
    "properties": {
        "data": {"type": ["object", "null"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "message": {"type": "string"},
                    "path": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "extensions": {
                        "type": "object",
                        "properties": {"code": {"type": "string"}},
                    },
                },
            },
        },
    },
    "examples": [
        {
            "data": {
                "projects": {
                    "edges": [
                        {
                            "node": {
                                "title": "Villages du futur",
                                "phase": "DISCOVERY",
                                "territories": [
                                    {"level": "commune", "code": "71073", "name": "Chagny"}
                                ],
                            }
                        }
                    ]
                }
            }
        }
    ],
}

REQUEST = {
    "type": "object",
    "required": ["query"],
    "properties": {
        "query": {"type": "string", "examples": [EXAMPLE_QUERY]},
        "variables": {"type": ["object", "null"]},
        "operationName": {"type": ["string", "null"], "examples": ["ProjetsEnRetard"]},
    },
}


def _json(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": RESULT}}}


def _text(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}


def describe_graphql(schema: dict[str, Any], security_scheme: str) -> dict[str, Any]:
    """`schema` with `/graphql` documented: its operation, security, statuses and bodies."""
    operations = schema.get("paths", {}).get(PATH)
    if operations is None:
        return schema
    bad_request = _text(
        "A body Strawberry cannot read: not JSON, no `query`, or another content type."
    )
    bad_request["content"]["application/json"] = {"schema": RESULT}
    bad_request["description"] += " Or an X-Min-Position that is not a position (JSON)."
    operations["post"] = {
        "tags": ["graphql"],
        "operationId": "graphql",
        "summary": "Dashboards' queries (GraphQL).",
        "description": "Any valid token; history fields need `auditor`. Reads come from the "
        "projections; send `X-Min-Position` (a write's `position`) to wait until they hold "
        "that write. The schema: introspection, or `/graphql` in a browser (development).",
        "security": [{security_scheme: []}],
        "parameters": [
            {
                "name": "X-Min-Position",
                "in": "header",
                "required": False,
                "description": "Wait (bounded) until the projections reached this position.",
                "schema": {"type": "string", "pattern": "^[0-9]{1,18}$", "examples": ["1042"]},
            }
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": REQUEST}},
        },
        "responses": {
            "200": _json("The answer; a refused field has an error with its `code`."),
            "400": bad_request,
            "401": _json("No token, or an unknown, revoked or expired one (UNAUTHENTICATED)."),
            "413": {
                "description": "The body is larger than the limit.",
                "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            },
            "503": _json(
                "The projections did not reach X-Min-Position in time (PROJECTION_LAG); retry."
            ),
        },
    }
    if "get" in operations:
        operations["get"] = {
            "tags": ["graphql"],
            "operationId": "graphiql",
            "summary": "GraphiQL, for a browser (development only).",
            "description": "Queries are sent with POST; a GET that is not a browser's is refused.",
            "responses": {
                "200": {
                    "description": "The GraphiQL page (a browser's `Accept: text/html`).",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                },
                "400": _text("Not a browser: queries are sent with POST."),
            },
        }
    return schema
