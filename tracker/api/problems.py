"""RFC 9457 problem details: every error the API gives, and the handlers that produce them.

HTTP statuses live here and nowhere else: the domain raises named errors, the service
layer raises `StaleVersionError`..., and this module maps each family to one status.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

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

from domain.errors import DomainError, InvalidValueError, NotFoundError
from tracker.application.service import ConflictRetriesExhaustedError, StaleVersionError

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

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem: `type`, `title`, `status`, `detail` (and `errors` for fields)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["urn:tracker:problem:phase-skipped"])
    title: str = Field(examples=["Conflict"])
    status: int = Field(examples=[409])
    detail: str = Field(examples=["go from framing enters discovery, not ideation"])
    instance: str | None = Field(default=None, examples=["/api/v1/projects/…/phase"])
    request_id: str | None = None
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
) -> JSONResponse:
    """A problem+json response (also used by the ASGI middleware, without a request)."""
    if request is not None:
        instance = instance or request.url.path
        request_id = request_id or getattr(request.state, "request_id", None)
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + (code or _slug(HTTPStatus(status).phrase)),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": redact_tokens(detail),
    }
    if instance is not None:
        body["instance"] = redact_tokens(instance)
    if request_id is not None:
        body["request_id"] = request_id
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # The offending input is left out on purpose: it may be large, or a secret.
    return [
        {
            "loc": [str(part) if not isinstance(part, int) else part for part in error["loc"]],
            "msg": str(error["msg"]),
            "type": str(error["type"]),
        }
        for error in exc.errors()
    ]


async def _problem_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        request, exc.status, exc.detail, code=exc.code, headers=exc.headers, errors=exc.errors
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    if any(error["type"] == "json_invalid" for error in errors):
        return problem_response(
            request, 400, "the request body is not valid JSON", code="malformed-json"
        )
    return problem_response(
        request, 422, "some fields are invalid: see `errors`", code="invalid-fields", errors=errors
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no route {request.url.path}"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return problem_response(request, exc.status_code, detail, headers=dict(exc.headers or {}))


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
