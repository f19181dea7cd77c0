"""RFC 9457 problem details: every error the API gives, and the handlers that produce them.

HTTP statuses live here and nowhere else: the domain raises named errors, the service
layer raises `StaleVersionError`..., and this module maps each family to one status.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from http import HTTPStatus
from typing import Any, Union

import psycopg
import sqlalchemy.exc
import structlog
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.routing import Match

from domain.errors import DomainError, InvalidValueError, NotFoundError
from tracker.application.service import ConflictRetriesExhaustedError, StaleVersionError
from tracker.i18n import negotiate, translate

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:tracker:problem:"

log = structlog.get_logger("tracker.api")

# A bearer token's secret part (`TOKEN_PATTERN` of tracker.application.access): never echoed in a
# problem, even when a caller pasted a token into a path or a field that the detail quotes.
TOKEN_SECRET = re.compile(r"\b(tok_[0-9a-f]{16})\.[A-Za-z0-9_-]{43}")


def redact_tokens(text: str) -> str:
    """`text` with every bearer token's secret replaced by `<redacted>`."""
    return TOKEN_SECRET.sub(r"\1.<redacted>", text)


# What storage failures look like from each library: the database is down or unreachable,
# a pool is exhausted, or a lock timed out. None of these is the client's fault.
STORAGE_UNAVAILABLE: tuple[type[Exception], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    StoreOperationalError,
    StoreInterfaceError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
)


class FieldError(BaseModel):
    """One invalid field: where it is, and what is wrong with it."""

    loc: list[str | int] = Field(examples=[["body", "territories", 0, "code"]])
    msg: str = Field(
        examples=[
            "territories[0].code : un code du COG est attendu : un code commune a cinq"
            " caractères, comme 58194 (2A004 en Corse) ; …"
        ]
    )
    type: str = Field(examples=["string_pattern_mismatch"])


class Problem(BaseModel):
    """An RFC 9457 problem: `type`, `title`, `status`, `detail` (and `errors` for fields)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["urn:tracker:problem:phase-skipped"])
    title: str = Field(examples=["Conflit"])
    status: int = Field(examples=[409])
    detail: str = Field(
        examples=[
            "une décision « go » depuis la phase cadrage (framing) mène à la phase découverte"
            " (discovery), pas à la phase idéation (ideation)"
        ]
    )
    instance: str | None = Field(
        default=None, examples=["/api/v1/projects/3f0c9a52-7d1e-4b8a-9c61-2e5d8f4a1b07/phase"]
    )
    request_id: str | None = Field(default=None, examples=["79d48b143528460e903d9d515394ae43"])
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    """An error the edge answers with a problem (raise it from dependencies and routes)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code or _slug(HTTPStatus(status).phrase)
        self.headers = headers or {}
        self.errors = errors


def _slug(name: str) -> str:
    name = name.removesuffix("Error")
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|[^A-Za-z0-9]+", "-", name).strip("-").lower()


def problem_response(
    request: Request | None,
    status: int,
    detail: str,
    *,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
    request_id: str | None = None,
    instance: str | None = None,
    accept_language: str | None = None,
) -> JSONResponse:
    """A problem+json response (also used by the ASGI middleware, without a request).

    `detail`, the title and each field error's `msg` are English message ids, answered in
    the language `Accept-Language` asks for (French by default: docs/errors.md).
    """
    if request is not None:
        instance = instance or request.url.path
        request_id = request_id or getattr(request.state, "request_id", None)
        accept_language = request.headers.get("accept-language")
    language = negotiate(accept_language)
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + (code or _slug(HTTPStatus(status).phrase)),
        "title": translate(HTTPStatus(status).phrase, language),
        "status": status,
        "detail": redact_tokens(translate(detail, language)),
    }
    if instance is not None:
        body["instance"] = redact_tokens(instance)
    if request_id is not None:
        body["request_id"] = request_id
    if errors is not None:
        body["errors"] = [error | {"msg": translate(error["msg"], language)} for error in errors]
    answer_headers = {
        **(headers or {}),
        "Content-Language": language,
        "Vary": "Accept-Language",
    }
    return JSONResponse(body, status_code=status, headers=answer_headers, media_type=PROBLEM_JSON)


# What a field expects, in plain words, when its format (a pattern) is not met: keyed by
# the field's name (docs/errors.md lists them).
EXPECTED_FORMATS = {
    "code": "a COG code: a commune code has five characters, like 58194 (2A004 in Corsica);"
    " a department code two or three, like 58 or 971; a region code two digits, like 27;"
    " an EPCI code nine digits, like 200067213",
    "slug": "lowercase letters, digits and inner hyphens, 1 to 64 characters, like lab-bfc",
    "region_code": "an INSEE region code: two digits, like 27",
}

_SIMPLE_EXPECTATIONS = {
    "string_type": "expected text",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "finite_number": "expected a finite number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list",
    "dict_type": "expected a JSON object",
    "model_type": "expected a JSON object",
    "model_attributes_type": "expected a JSON object",
    "date_type": "expected an ISO 8601 date, YYYY-MM-DD",
    "date_parsing": "expected an ISO 8601 date, YYYY-MM-DD",
    "date_from_datetime_parsing": "expected an ISO 8601 date, YYYY-MM-DD",
    "date_from_datetime_inexact": "expected an ISO 8601 date, YYYY-MM-DD",
    "uuid_type": "expected a UUID",
    "uuid_parsing": "expected a UUID",
}

_BOUNDS = {
    "string_too_short": ("expected at least {} characters", "min_length"),
    "string_too_long": ("expected at most {} characters", "max_length"),
    "too_short": ("expected at least {} items", "min_length"),
    "too_long": ("expected at most {} items", "max_length"),
    "greater_than_equal": ("expected a number of at least {}", "ge"),
    "greater_than": ("expected a number greater than {}", "gt"),
    "less_than_equal": ("expected a number of at most {}", "le"),
    "less_than": ("expected a number less than {}", "lt"),
}


def _field_name(loc: list[str | int]) -> str:
    # ["body", "territories", 0, "code"] -> territories[0].code
    parts = loc[1:] if loc and loc[0] in {"body", "query", "path", "header"} else loc
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or str(loc[0] if loc else "body")


def _model_at(model: Any, path: list[str | int]) -> Any:
    """The pydantic model found at `path` inside `model` (lists and optionals unwrapped)."""
    for part in path:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            return None
        model = fields[part].annotation
        while typing.get_origin(model) in {list, Union, types.UnionType, typing.Annotated}:
            arguments = [a for a in typing.get_args(model) if a is not type(None)]
            model = arguments[0] if arguments else None
    return model


def _known_fields(request: Request, loc: list[str | int]) -> list[str]:
    body_field = getattr(request.scope.get("route"), "body_field", None)
    if body_field is None or not loc or loc[0] != "body":
        return []
    model = _model_at(body_field.field_info.annotation, loc[1:-1])
    fields = getattr(model, "model_fields", None)
    return list(fields) if fields else []


def _field_message(request: Request, error: Any) -> str:
    """One field error in plain words, naming the field (an English message id)."""
    loc = list(error["loc"])
    field = _field_name(loc)
    kind = str(error["type"])
    context: dict[str, Any] = error.get("ctx") or {}
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _known_fields(request, loc), n=1)
        if close:
            return f"{field}: unknown field; did you mean {close[0]}?"
        return f"{field}: unknown field"
    if kind == "missing":
        return f"{field}: this field is required"
    if kind == "string_pattern_mismatch":
        expected = EXPECTED_FORMATS.get(str(loc[-1]))
        if expected is not None:
            return f"{field}: expected {expected}"
        return f"{field}: this text does not have the expected format"
    if kind == "value_error":
        return f"{field}: {context.get('error', error['msg'])}"
    if kind in _SIMPLE_EXPECTATIONS:
        return f"{field}: {_SIMPLE_EXPECTATIONS[kind]}"
    if kind in {"enum", "literal_error"}:
        return f"{field}: expected one of {context.get('expected', '')}"
    if kind in {"string_too_short", "too_short"} and context.get("min_length") == 1:
        return f"{field}: this must not be empty"
    if kind in _BOUNDS:
        template, key = _BOUNDS[kind]
        return f"{field}: " + template.format(context.get(key, "?"))
    return f"{field}: this value is invalid ({kind})"


def _field_errors(request: Request, exc: RequestValidationError) -> list[dict[str, Any]]:
    # The offending input is left out on purpose: it may be large, or a secret.
    return [
        {
            "loc": [str(part) if not isinstance(part, int) else part for part in error["loc"]],
            "msg": _field_message(request, error),
            "type": str(error["type"]),
        }
        for error in exc.errors()
    ]


async def _problem_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        request, exc.status, exc.detail, code=exc.code, headers=exc.headers, errors=exc.errors
    )


def _is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    content_type = request.headers.get("content-type")
    has_body = getattr(request.scope.get("route"), "body_field", None) is not None
    if has_body and content_type is not None and not _is_json(content_type):
        return problem_response(
            request,
            415,
            "the body must be JSON: send Content-Type: application/json",
            code="unsupported-media-type",
            headers={"Accept-Post": "application/json"},
        )
    errors = _field_errors(request, exc)
    if any(error["type"] == "json_invalid" for error in errors):
        return problem_response(
            request, 400, "the request body is not valid JSON", code="malformed-json"
        )
    return problem_response(
        request, 422, "some fields are invalid: see `errors`", code="invalid-fields", errors=errors
    )


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this path (RFC 9110: `Allow` lists them all)."""
    routes = request.app.router.routes
    return [
        method
        for method in HTTP_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no route {request.url.path}"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allowed = _allowed_methods(request) or headers.get("allow", "").split(", ")
        headers = {key: value for key, value in headers.items() if key.lower() != "allow"}
        headers["Allow"] = ", ".join(allowed)
        detail = (
            f"{request.method} is not allowed on {request.url.path}; allowed: {headers['Allow']}"
        )
    return problem_response(request, exc.status_code, detail, headers=headers)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    code = _slug(type(exc).__name__)
    if isinstance(exc, NotFoundError):
        return problem_response(request, 404, str(exc), code=code)
    if isinstance(exc, InvalidValueError):
        return problem_response(
            request,
            422,
            str(exc),
            code=code,
            errors=[{"loc": ["body"], "msg": str(exc), "type": code}],
        )
    return problem_response(request, 409, str(exc), code=code)


async def _stale_version(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StaleVersionError)
    return problem_response(
        request,
        412,
        f"{exc}: nothing was written; GET the resource and retry",
        code="stale-version",
        headers={"ETag": f'"{exc.actual}"'},
    )


async def _conflict_retries(request: Request, exc: Exception) -> JSONResponse:
    log.warning("conflict_retries_exhausted", detail=str(exc))
    return problem_response(
        request,
        503,
        "too many concurrent writers on this project; nothing was written, retry shortly",
        code="write-contention",
        headers={"Retry-After": "1"},
    )


async def _storage_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.error("storage_unavailable", error_type=type(exc).__name__, exc_info=exc)
    return problem_response(
        request,
        503,
        "the database is unavailable; retry shortly",
        code="storage-unavailable",
        headers={"Retry-After": "5"},
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error the app can raise with problem+json."""
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(StaleVersionError, _stale_version)
    app.add_exception_handler(ConflictRetriesExhaustedError, _conflict_retries)
    for error_class in STORAGE_UNAVAILABLE:
        app.add_exception_handler(error_class, _storage_unavailable)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting the problems a route can answer."""
    descriptions = {
        400: "Malformed request (JSON, If-Match or Idempotency-Key).",
        415: "The body is not JSON (Content-Type must be application/json).",
        401: "No token, or an unknown, revoked or expired one.",
        403: "The token's role or lab may not do this.",
        404: "Unknown project, milestone, partner, indicator or lab.",
        409: "A domain rule refuses the command, or the Idempotency-Key is in use.",
        412: "If-Match names a version that is no longer current; nothing was written.",
        413: "The body is larger than the limit.",
        406: "No format this route answers in is acceptable (the problem lists them).",
        422: "Invalid fields (see `errors`), or an Idempotency-Key reused with another body.",
        503: "The database is unavailable, or too many concurrent writers; retry.",
    }
    return {
        status: {
            "model": Problem,
            "description": descriptions[status],
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
